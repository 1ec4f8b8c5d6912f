import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { person, seedIdentities } from '../../test/support/jml-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import type { Store } from '../store/open-store.ts';
import { eventsByDay, leaversInProgress, planWaiting, todaysEvents } from './dashboard-queries.ts';

/** 20:00 UTC on 5 December: already 09:00 on 6 December in Auckland (UTC+13). */
const NOW = new Date('2026-12-05T20:00:00Z');
const ZONE = 'Pacific/Auckland';

for (const backend of testBackends()) {
  describe(`dashboard days in the organisation zone (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      await seedIdentities(store.db, [person('E1'), person('E2'), person('E3'), person('E4')]);
      const event = (id: string, identity: string, effectiveDate: string, detectedAt: string) => ({
        id, type: 'joiner', identity_key: identity, source: 'hr', record_key: identity, effective_date: effectiveDate,
        effective_at: `${effectiveDate}T00:00:00Z`, detected_at: detectedAt, changes: JSON.stringify({}), state: 'applied', import_id: null,
      });
      await store.db.insertInto('lifecycle_events').values([
        event('dated-local-today', 'E1', '2026-12-06', '2026-12-01T09:00:00Z'),
        // 12:00 UTC on the 5th is 01:00 on the 6th in Auckland: detected (local) today.
        event('detected-local-today', 'E2', '2026-11-30', '2026-12-05T12:00:00Z'),
        // 10:00 UTC on the 5th is 23:00 on the 5th in Auckland: yesterday there, though the same UTC day as now.
        event('detected-local-yesterday', 'E3', '2026-11-30', '2026-12-05T10:00:00Z'),
        event('fortnight-ago', 'E4', '2026-11-22', '2026-11-22T00:00:00Z'),
        { ...event('rescinded-today', 'E4', '2026-12-06', '2026-12-01T09:00:00Z'), state: 'rescinded' },
      ]).execute();
    });
    after(async () => store.close());

    test("today lists only events taking effect on the organisation's date, not those merely imported today, nor rescinded ones", async () => {
      const today = await todaysEvents(store.db, NOW, ZONE);
      assert.deepEqual(today.map((e) => e.id), ['dated-local-today']);
      const utc = await todaysEvents(store.db, NOW, 'UTC');
      assert.deepEqual(utc.map((e) => e.id), [], 'the same instant in UTC is the 5th, when nothing takes effect');
    });

    test('the banner asks for a plan while events arrived since the last one, then for its approval, then for nothing', async () => {
      assert.deepEqual(await planWaiting(store.db), { kind: 'compute', events: 4, since: '2026-11-22T00:00:00.000Z' }, 'no plan was ever computed; the rescinded event does not count');
      const preview = { id: 'plan-1', scope: JSON.stringify({}), plan: JSON.stringify({ changes: [] }), changes: 3, status: 'awaiting_approval', created_by: 'test', approved_by: null, created_at: '2026-12-05T13:00:00Z', updated_at: '2026-12-05T13:00:00Z' };
      await store.db.insertInto('plan_previews').values(preview).execute();
      assert.deepEqual(await planWaiting(store.db), { kind: 'approve', planId: 'plan-1', changes: 3, since: '2026-12-05T13:00:00.000Z' });
      await store.db.updateTable('plan_previews').set({ status: 'applied' }).where('id', '=', 'plan-1').execute();
      assert.equal(await planWaiting(store.db), null, 'every event was detected before the plan');
      await store.db.deleteFrom('plan_previews').execute();
    });

    test('the 14-day chart ends on the local today and starts 13 local days before it', async () => {
      const days = await eventsByDay(store.db, NOW, ZONE);
      assert.equal(days.length, 14);
      assert.deepEqual([days[0]!.day, days.at(-1)!.day], ['2026-11-23', '2026-12-06']);
      assert.equal(days.at(-1)!.joiner, 1, "today's joiner is on today's bar");
      assert.equal(days.find((d) => d.day === '2026-11-30')!.joiner, 2);
      assert.equal(days.reduce((n, d) => n + d.joiner, 0), 3, 'the event of 22 November is outside the fortnight');
    });
  });
}

for (const backend of testBackends()) {
  describe(`dashboard leavers in progress (${backend.name})`, () => {
    let store: Store;
    // Left two hours ago; the directory step is still running, the joiner's earlier change long confirmed.
    const EFFECTIVE = new Date(NOW.getTime() - 2 * 3_600_000);
    before(async () => {
      store = await backend.open();
      await seedIdentities(store.db, [{ ...person('L1'), status: 'left' }]);
      await store.db
        .insertInto('lifecycle_events')
        .values({ id: 'ev-L1', type: 'leaver', identity_key: 'L1', source: 'hr', record_key: 'L1', effective_date: '2026-12-05', effective_at: EFFECTIVE.toISOString(), detected_at: EFFECTIVE.toISOString(), changes: JSON.stringify({}), state: 'applied', import_id: null })
        .execute();
      const plan = (id: string, at: Date) => ({ id, fingerprint: 'f', computed_at: at.toISOString(), plan: JSON.stringify({}), status: 'applying', actor: 't', created_at: at.toISOString(), updated_at: at.toISOString() });
      await store.db.insertInto('plans').values([plan('p-join', new Date('2026-01-05T09:00:00Z')), plan('p-leave', new Date(EFFECTIVE.getTime() + 60_000))]).execute();
      await store.db
        .insertInto('plan_changes')
        .values([
          { plan_id: 'p-join', change_id: 'c0', position: 0, kind: 'create_account', system: 'directory', identity_key: 'L1', state: 'confirmed', task_id: null, updated_at: '2026-01-05T09:01:00Z' },
          { plan_id: 'p-leave', change_id: 'd1', position: 0, kind: 'disable_account', system: 'directory', identity_key: 'L1', state: 'running', task_id: null, updated_at: NOW.toISOString() },
        ])
        .execute();
    });
    after(async () => store.close());

    test('a leaver still being removed is due by the leaver SLA (an hour for a connected system), counting only its leaver steps', async () => {
      const [leaver, ...rest] = await leaversInProgress(store.db, NOW);
      assert.equal(rest.length, 0);
      assert.deepEqual(
        { key: leaver?.identityKey, steps: leaver?.steps, settled: leaver?.settled, overdue: leaver?.overdue, dueAt: leaver?.dueAt },
        { key: 'L1', steps: 1, settled: 0, overdue: true, dueAt: new Date(EFFECTIVE.getTime() + 3_600_000).toISOString() },
      );
    });
  });
}
