import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { dormantAmong } from './dormant-accounts.ts';
import { checkLeaverSla, leaverStatuses } from './leaver-sla.ts';

const T0 = new Date('2026-04-01T17:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

for (const backend of testBackends()) {
  describe(`leaver SLA on ${backend.name}`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      await store.db.insertInto('identities').values({ key: 'L1', kind: 'employee', status: 'left', source: 'hr', attributes: JSON.stringify({}), start_date: '2020-01-01', end_date: '2026-04-01', owner: null, sponsor: null }).execute();
      await store.db
        .insertInto('lifecycle_events')
        .values({ id: 'ev-L1', type: 'leaver', identity_key: 'L1', source: 'hr', record_key: 'L1', effective_date: '2026-04-01', effective_at: T0.toISOString(), detected_at: T0.toISOString(), changes: JSON.stringify({}), state: 'applied', import_id: null })
        .execute();
      await store.db.insertInto('plans').values({ id: 'p-L1', fingerprint: 'f', computed_at: at(1).toISOString(), plan: JSON.stringify({}), status: 'applying', actor: 't', created_at: at(1).toISOString(), updated_at: at(1).toISOString() }).execute();
      const step = (change_id: string, kind: string, system: string, state: string, position: number, task_id: string | null = null) => ({ plan_id: 'p-L1', change_id, position, kind, system, identity_key: 'L1', state, task_id, updated_at: at(1).toISOString() });
      await store.db
        .insertInto('plan_changes')
        .values([step('d1', 'disable_account', 'directory', 'confirmed', 0), step('d2', 'disable_account', 'crm', 'running', 1), step('t1', 'disable_account', 'badge', 'pending', 2, 'task-1')])
        .execute();
      await store.db.updateTable('plan_changes').set({ started_at: at(2).toISOString(), acted_at: at(4).toISOString(), finished_at: at(5).toISOString() }).where('change_id', '=', 'd1').execute();
    });
    after(() => store.close());

    test('the clock runs from the effective time; a connected step unconfirmed after an hour makes the leaver overdue, once', async () => {
      const [early] = await leaverStatuses(store.db, at(30));
      assert.equal(early?.state, 'in_progress');
      assert.deepEqual(early?.steps.map((s) => [s.changeId, s.manual, s.confirmedAt !== null]), [['d1', false, true], ['d2', false, false], ['t1', true, false]]);
      assert.equal(early?.elapsedMs, 30 * 60_000);
      const alerts: string[] = [];
      const first = await checkLeaverSla(store.db, at(61), undefined, (a) => void alerts.push(a.detail));
      assert.deepEqual(first, { open: 1, overdue: 1, completed: 0 });
      assert.equal(alerts.length, 1);
      assert.match(alerts[0]!, /L1 .* overdue: disable_account in crm \(running\)/);
      await checkLeaverSla(store.db, at(90), undefined, (a) => void alerts.push(a.detail));
      assert.equal(alerts.length, 1, 'an overdue leaver alerts once');
      const finding = await store.db.selectFrom('findings').selectAll().where('id', '=', 'overdue_leaver:ev-L1').executeTakeFirstOrThrow();
      assert.equal(finding.state, 'open');
    });

    test('each step shows when it was planned, queued, taken up, acted on and confirmed, and its latency from the leaver’s detection', async () => {
      const [leaver] = await leaverStatuses(store.db, at(30));
      assert.equal(leaver?.detectedAt, T0.toISOString(), 'no import: the event’s own detection time');
      const d1 = leaver!.steps.find((s) => s.changeId === 'd1')!;
      assert.deepEqual([d1.plannedAt, d1.queuedAt, d1.startedAt, d1.actedAt, d1.confirmedAt], [at(1), at(1), at(2), at(4), at(5)].map((d) => d.toISOString()));
      assert.equal(d1.latencyMs, 5 * 60_000);
      assert.equal(leaver!.steps.find((s) => s.changeId === 'd2')!.latencyMs, null, 'not confirmed yet');
      assert.equal(leaver!.latencyMs, null, 'the leaver is not complete');
    });

    test('a leaver brought by an import is measured from the start of that import', async () => {
      await store.db.insertInto('identities').values({ key: 'L9', kind: 'employee', status: 'left', source: 'hr', attributes: JSON.stringify({}), start_date: '2020-01-01', end_date: '2026-03-31', owner: null, sponsor: null }).execute();
      await store.db.insertInto('imports').values({ id: 'imp-9', source: 'hr', file_name: 'hr.csv', file_sha256: 'x', as_of: '2026-04-01', status: 'applied', rows_total: 1, rows_valid: 1, rows_invalid: 0, summary: JSON.stringify({}), actor: 't', started_at: at(10).toISOString() }).execute();
      await store.db
        .insertInto('lifecycle_events')
        .values({ id: 'ev-L9', type: 'leaver', identity_key: 'L9', source: 'hr', record_key: 'L9', effective_date: '2026-03-31', effective_at: at(-60 * 24).toISOString(), detected_at: at(10.5).toISOString(), changes: JSON.stringify({}), state: 'applied', import_id: 'imp-9' })
        .execute();
      await store.db.insertInto('plans').values({ id: 'p-L9', fingerprint: 'f', computed_at: at(10.6).toISOString(), plan: JSON.stringify({}), status: 'applied', actor: 't', created_at: at(10.6).toISOString(), updated_at: at(10.6).toISOString() }).execute();
      await store.db.insertInto('plan_changes').values({ plan_id: 'p-L9', change_id: 'd9', position: 0, kind: 'disable_account', system: 'directory', identity_key: 'L9', state: 'confirmed', task_id: null, finished_at: new Date(at(10).getTime() + 1_400).toISOString(), updated_at: at(11).toISOString() }).execute();
      const [leaver] = await leaverStatuses(store.db, at(30), undefined, { identityKey: 'L9' });
      assert.equal(leaver?.importId, 'imp-9');
      assert.equal(leaver?.detectedAt, at(10).toISOString());
      assert.equal(leaver?.state, 'complete');
      assert.equal(leaver?.latencyMs, 1_400);
      await store.db.deleteFrom('plan_changes').where('plan_id', '=', 'p-L9').execute();
      await store.db.deleteFrom('plans').where('id', '=', 'p-L9').execute();
      await store.db.deleteFrom('lifecycle_events').where('id', '=', 'ev-L9').execute();
    });

    test('a leaver with no step planned is overdue while jml sees an account or asset of theirs, and complete at once when they hold nothing', async () => {
      await store.db.insertInto('identities').values({ key: 'L5', kind: 'employee', status: 'left', source: 'hr', attributes: JSON.stringify({}), start_date: '2026-03-30', end_date: '2026-03-31', owner: null, sponsor: null }).execute();
      await store.db
        .insertInto('lifecycle_events')
        .values({ id: 'ev-L5', type: 'leaver', identity_key: 'L5', source: 'hr', record_key: 'L5', effective_date: '2026-03-31', effective_at: T0.toISOString(), detected_at: T0.toISOString(), changes: JSON.stringify({}), state: 'applied', import_id: null })
        .execute();
      const status = async () => (await leaverStatuses(store.db, at(90), undefined, { identityKey: 'L5' }))[0];
      assert.equal((await status())?.state, 'complete', 'never provisioned anywhere: nothing to take away');
      assert.equal((await status())?.elapsedMs, 0);

      await store.db.insertInto('reconcile_runs').values({ id: 'run-L5', system: 'directory', status: 'completed', phase: 'done', summary: JSON.stringify({}), actor: 't', started_at: at(-10).toISOString(), updated_at: at(-5).toISOString(), finished_at: at(-5).toISOString() }).execute();
      await store.db.insertInto('observed_accounts').values({ run_id: 'run-L5', system: 'directory', account_id: 'uid=l5', name: 'l5', enabled: true, attributes: JSON.stringify({}), last_login_at: null, identity_key: 'L5', situation: 'linked' }).execute();
      assert.equal((await status())?.state, 'overdue', 'an account jml sees and no step planned to disable it');
      await store.db.deleteFrom('observed_accounts').where('run_id', '=', 'run-L5').execute();

      await store.db.insertInto('assets').values({ tag: 'LAP-L5', serial: null, kind: 'laptop', holder_key: 'L5', location: null, status: 'assigned', updated_at: at(0).toISOString() }).execute();
      assert.equal((await status())?.state, 'overdue', 'a laptop in their custody and no return planned');
      await store.db.deleteFrom('assets').where('tag', '=', 'LAP-L5').execute();
      await store.db.deleteFrom('lifecycle_events').where('id', '=', 'ev-L5').execute();
    });

    test('the leaver is complete only when every step, the manual task too, is confirmed; the finding is resolved', async () => {
      await store.db.updateTable('plan_changes').set({ state: 'confirmed', finished_at: at(100).toISOString() }).where('change_id', '=', 'd2').execute();
      const [waiting] = await leaverStatuses(store.db, at(120));
      assert.equal(waiting?.state, 'in_progress', 'the manual task is due within 24 hours and not confirmed yet');
      await store.db.updateTable('plan_changes').set({ state: 'confirmed', finished_at: at(300).toISOString() }).where('change_id', '=', 't1').execute();
      const [done] = await leaverStatuses(store.db, at(400));
      assert.equal(done?.state, 'complete');
      assert.equal(done?.elapsedMs, 300 * 60_000, 'the clock stops at the last confirmation');
      assert.deepEqual(await checkLeaverSla(store.db, at(400)), { open: 0, overdue: 0, completed: 1 });
      assert.equal((await store.db.selectFrom('findings').select('state').where('id', '=', 'overdue_leaver:ev-L1').executeTakeFirstOrThrow()).state, 'resolved');
      const closed = await store.db.selectFrom('leaver_cases').selectAll().where('event_id', '=', 'ev-L1').executeTakeFirstOrThrow();
      assert.equal(closed.state, 'complete');
    });

    test('a leaver who never held anything is complete at once with nothing to remove, while one whose access is not removed yet goes overdue', async () => {
      const leave = at(1000);
      const leaver = async (key: string) => {
        await store.db.insertInto('identities').values({ key, kind: 'employee', status: 'left', source: 'hr', attributes: JSON.stringify({}), start_date: '2026-04-02', end_date: '2026-04-01', owner: null, sponsor: null }).execute();
        await store.db
          .insertInto('lifecycle_events')
          .values({ id: `ev-${key}`, type: 'leaver', identity_key: key, source: 'hr', record_key: key, effective_date: '2026-04-02', effective_at: leave.toISOString(), detected_at: at(0).toISOString(), changes: JSON.stringify({}), state: 'applied', import_id: null })
          .execute();
      };
      // W1: a hire withdrawn before the first day — never provisioned, never seen in a system, lent nothing.
      await leaver('W1');
      // W2: provisioned by jml before leaving (a change still queued counts: it may yet create the account); no leaver plan yet.
      await leaver('W2');
      await store.db.insertInto('plans').values({ id: 'p-W2', fingerprint: 'f', computed_at: at(2).toISOString(), plan: JSON.stringify({}), status: 'applying', actor: 't', created_at: at(2).toISOString(), updated_at: at(2).toISOString() }).execute();
      await store.db.insertInto('plan_changes').values({ plan_id: 'p-W2', change_id: 'c-W2', position: 0, kind: 'create_account', system: 'crm', identity_key: 'W2', state: 'planned', task_id: null, updated_at: at(2).toISOString() }).execute();
      // W3: an account of theirs made outside jml, seen and linked by a reconcile.
      await leaver('W3');
      await store.db.insertInto('reconcile_runs').values({ id: 'run-W3', system: 'crm', status: 'completed', phase: 'done', actor: 't', started_at: at(3).toISOString(), updated_at: at(3).toISOString(), finished_at: at(3).toISOString() }).execute();
      await store.db.insertInto('observed_accounts').values({ run_id: 'run-W3', system: 'crm', account_id: 'a-W3', name: 'w3', enabled: true, attributes: JSON.stringify({}), last_login_at: null, identity_key: 'W3', situation: 'linked' }).execute();

      const state = async (key: string, now: Date) => (await leaverStatuses(store.db, now, undefined, { identityKey: key }))[0];
      const withdrawn = await state('W1', at(1001));
      assert.equal(withdrawn?.state, 'complete');
      assert.deepEqual(withdrawn?.steps, []);
      assert.equal(withdrawn?.elapsedMs, 0);
      assert.equal((await state('W2', at(1001)))?.state, 'in_progress');
      assert.equal((await state('W3', at(1001)))?.state, 'in_progress');

      const alerts: string[] = [];
      await checkLeaverSla(store.db, at(1061), undefined, (a) => void alerts.push(a.detail));
      const findings = await store.db.selectFrom('findings').select(['id', 'state']).where('id', 'in', ['overdue_leaver:ev-W1', 'overdue_leaver:ev-W2', 'overdue_leaver:ev-W3']).orderBy('id').execute();
      assert.deepEqual(findings, [{ id: 'overdue_leaver:ev-W2', state: 'open' }, { id: 'overdue_leaver:ev-W3', state: 'open' }]);
      assert.equal((await store.db.selectFrom('leaver_cases').select('state').where('event_id', '=', 'ev-W1').executeTakeFirstOrThrow()).state, 'complete');
      assert.ok(alerts.every((a) => !a.includes('W1')));
    });
  });
}

test('an enabled account with no sign-in for 90 days is dormant; disabled or never-reporting ones are not judged', () => {
  const now = new Date('2026-06-30T00:00:00Z');
  const account = (accountId: string, lastLoginAt: string | null, enabled = true) => ({ system: 'crm', accountId, name: accountId, enabled, identityKey: null, lastLoginAt });
  const found = dormantAmong([account('a', '2026-04-01T00:00:00Z'), account('b', '2026-04-02T00:00:00Z'), account('c', '2026-01-01T00:00:00Z', false), account('d', null)], now, 90);
  assert.deepEqual(found.map((d) => [d.accountId, d.idleDays]), [['a', 90]]);
});
