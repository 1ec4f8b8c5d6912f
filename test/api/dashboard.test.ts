/**
 * The dashboard route answers in the organisation's time zone (ApiDeps.timezone),
 * at an instant where the UTC date and the local date differ.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testBackends } from '../support/backends.ts';
import { person, seedIdentities } from '../support/jml-fixture.ts';
import type { Store } from '../../src/store/open-store.ts';
import { answerAttestation, attestationsOf, openMonthlyCheck } from '../../src/app/assets/monthly-check.ts';
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

    test('the dashboard shows the latest monthly check\'s completion per department and manager, and the equipment returns still open', async () => {
      const { cookie } = api.sessions.hr;
      const empty = (await api.app.inject({ method: 'GET', url: '/api/dashboard', headers: { cookie } })).json() as { monthlyCheck: unknown; assetReturns: unknown };
      assert.deepEqual([empty.monthlyCheck, empty.assetReturns], [null, { open: 0, overdue: 0 }]);
      await seedIdentities(store.db, [person('K1', { department: 'Sales', manager: 'E1' }), person('K2', { department: 'Sales', manager: 'E1' })]);
      await store.db.insertInto('assets').values([
        { tag: 'DASH-1', serial: 'S-1', kind: 'laptop', holder_key: 'K1', status: 'assigned' },
        { tag: 'DASH-2', serial: 'S-2', kind: 'laptop', holder_key: 'K2', status: 'assigned' },
      ]).execute();
      await openMonthlyCheck(store.db, { period: '2026-12', actor: 'test' }, new Date('2026-12-01T08:00:00Z'));
      const [item] = (await attestationsOf(store.db, 'K1')).filter((i) => i.ref === 'DASH-1');
      await answerAttestation({ db: store.db, custodian: 'it' }, { itemId: item!.id, by: 'K1', answer: 'confirmed' }, new Date('2026-12-02T08:00:00Z'));
      for (const [id, due] of [['t-ret-1', '2026-12-04T00:00:00Z'], ['t-ret-2', '2026-12-09T00:00:00Z']] as const) {
        await store.db.insertInto('tasks').values({ id, change_id: id, plan_id: null, system: 'jml', kind: 'collect_asset', identity_key: 'K2', change: JSON.stringify({}), instruction: 'recover', status: 'open', needs_confirmation: false, due_at: due, created_at: '2026-12-01T08:00:00Z' }).execute();
      }
      const res = await api.app.inject({ method: 'GET', url: '/api/dashboard', headers: { cookie } });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { monthlyCheck: { period: string; items: number; answered: number; byDepartment: { group: string }[]; byManager: { group: string; respondents: number; respondentsDone: number; items: number; answered: number }[] }; assetReturns: unknown };
      assert.equal(body.monthlyCheck.period, '2026-12');
      assert.ok(body.monthlyCheck.byDepartment.some((g) => g.group === 'Sales'));
      assert.deepEqual(body.monthlyCheck.byManager.find((g) => g.group === 'E1'), { group: 'E1', respondents: 2, respondentsDone: 1, items: 2, answered: 1 });
      assert.deepEqual(body.assetReturns, { open: 2, overdue: 1 });
    });
  });
}
