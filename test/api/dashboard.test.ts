/**
 * The dashboard route answers in the organisation's time zone (ApiDeps.timezone),
 * at an instant where the UTC date and the local date differ.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testBackends } from '../support/backends.ts';
import { person, seedIdentities } from '../support/jml-fixture.ts';
import type { Store } from '../../src/store/open-store.ts';
import { seedOrganisation, startApi } from './api-fixture.ts';

const NOW = new Date('2026-12-05T20:00:00Z');

for (const backend of testBackends()) {
  describe(`dashboard in Pacific/Auckland (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;
    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      await seedIdentities(store.db, [person('E1')]);
      await store.db.insertInto('lifecycle_events').values({
        id: 'ev-1', type: 'joiner', identity_key: 'E1', source: 'hr', record_key: 'E1', effective_date: '2026-12-06',
        effective_at: '2026-12-05T11:00:00Z', detected_at: '2026-12-01T09:00:00Z', changes: JSON.stringify({}), state: 'applied', import_id: null,
      }).execute();
      api = await startApi(store, { now: () => NOW, timezone: 'Pacific/Auckland' });
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });

    test("the dashboard's today and its chart end on the local date, a day ahead of UTC", async () => {
      const { cookie } = api.sessions.admin;
      const res = await api.app.inject({ method: 'GET', url: '/api/dashboard', headers: { cookie } });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { today: { id: string }[]; eventsByDay: { day: string; joiner: number }[] };
      assert.deepEqual(body.today.map((e) => e.id), ['ev-1']);
      assert.deepEqual(body.eventsByDay.at(-1), { day: '2026-12-06', joiner: 1, mover: 0, leaver: 0, rehire: 0 });
    });
  });
}
