import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { testBackends } from '../../../test/support/backends.ts';
import type { Store } from '../../store/open-store.ts';
import { appendAudit } from '../../store/audit-log.ts';
import { person, seedIdentities } from '../../../test/support/jml-fixture.ts';
import { answerAttestation, attestationsOf, openMonthlyCheck } from '../assets/monthly-check.ts';
import { findingRows, leaverRows, monthlyCheckActionRows, monthlyCheckCompletionRows, moverRows } from './evidence-queries.ts';

const period = { from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z') };

/** Two leavers (one confirmed within the hour, one after three hours, with a manual task) and a mover who lost a group. */
async function seeded(store: Store): Promise<void> {
  const db = store.db;
  await sql`INSERT INTO identities (key, kind, status, source) VALUES ('E1', 'employee', 'left', 'hr'), ('E2', 'employee', 'left', 'hr'), ('E3', 'employee', 'active', 'hr')`.execute(db);
  const event = (id: string, type: string, who: string, at: string, changes: object) =>
    sql`INSERT INTO lifecycle_events (id, type, identity_key, source, record_key, effective_date, effective_at, detected_at, changes, state)
        VALUES (${id}, ${type}, ${who}, 'hr', ${who}, ${at.slice(0, 10)}, ${at}::timestamptz, ${at}::timestamptz, ${JSON.stringify(changes)}::jsonb, 'applied')`.execute(db);
  await event('ev1', 'leaver', 'E1', '2026-11-10T17:00:00Z', { status: ['active', 'left'] });
  await event('ev2', 'leaver', 'E2', '2026-11-11T17:00:00Z', { status: ['active', 'left'] });
  await event('ev3', 'mover', 'E3', '2026-11-12T09:00:00Z', { department: ['Sales', 'Engineering'] });
  const plan = (id: string, at: string, changes: object[]) =>
    sql`INSERT INTO plans (id, fingerprint, computed_at, plan, status, actor, created_at, updated_at) VALUES (${id}, 'f', ${at}, ${JSON.stringify({ changes })}::jsonb, 'applied', 'w', ${at}::timestamptz, ${at}::timestamptz)`.execute(db);
  let position = 0;
  const change = (planId: string, id: string, kind: string, system: string | null, who: string, finished: string, task: string | null = null, entitlement: string | null = null) =>
    sql`INSERT INTO plan_changes (plan_id, change_id, position, kind, system, identity_key, state, task_id, finished_at, updated_at, entitlement)
        VALUES (${planId}, ${id}, ${++position}, ${kind}, ${system}, ${who}, 'confirmed', ${task}, ${finished}::timestamptz, ${finished}::timestamptz, ${entitlement})`.execute(db);
  await plan('p1', '2026-11-10T17:01:00Z', [{ id: 'a' }, { id: 'b' }]);
  await change('p1', 'a', 'disable_account', 'directory', 'E1', '2026-11-10T17:05:00Z');
  await change('p1', 'b', 'remove_grant', 'vpn', 'E1', '2026-11-10T17:20:00Z');
  await plan('p2', '2026-11-11T17:01:00Z', [{ id: 'c' }, { id: 'd' }]);
  await change('p2', 'c', 'disable_account', 'directory', 'E2', '2026-11-11T17:05:00Z');
  await change('p2', 'd', 'disable_account', 'badge-system', 'E2', '2026-11-11T20:00:00Z', 'task-1');
  await sql`INSERT INTO tasks (id, change_id, plan_id, system, kind, identity_key, change, instruction, status, needs_confirmation, due_at, created_at, done_by, evidence_note, confirmed_by)
    VALUES ('task-1', 'd', 'p2', 'badge-system', 'disable_account', 'E2', '{}'::jsonb, 'disable the badge', 'confirmed', true, '2026-11-12T17:00:00Z', '2026-11-11T17:01:00Z', 'facilities', 'badge 4711 deactivated', 'own-1')`.execute(db);
  await plan('p3', '2026-11-12T09:01:00Z', [{ id: 'e', kind: 'remove_grant', system: 'crm', entitlement: 'sales-team' }]);
  await change('p3', 'e', 'remove_grant', 'crm', 'E3', '2026-11-12T09:02:00Z', null, 'sales-team');
}

for (const backend of testBackends()) {
  describe(`evidence tables on ${backend.name}`, () => {
    test('each leaver shows every step with its confirmation and whether the SLA was met', async () => {
      const store = await backend.open();
      try {
        await seeded(store);
        const { leavers, steps } = await leaverRows(store.db, period);
        assert.deepEqual(leavers.map((l) => [l.identity_key, l.state, l.hours_to_confirmed, l.sla_hours, l.sla_met]), [
          ['E1', 'complete', 0.33, 1, true],
          ['E2', 'complete', 3, 24, true],
        ]);
        assert.deepEqual(steps.map((s) => [s.identity_key, s.system, s.confirmed_at, s.confirmation, s.task_evidence]), [
          ['E1', 'directory', '2026-11-10T17:05:00.000Z', 'read back from the system', null],
          ['E1', 'vpn', '2026-11-10T17:20:00.000Z', 'read back from the system', null],
          ['E2', 'directory', '2026-11-11T17:05:00.000Z', 'read back from the system', null],
          ['E2', 'badge-system', '2026-11-11T20:00:00.000Z', 'task closed with evidence', 'badge 4711 deactivated; done by facilities; confirmed by own-1'],
        ]);
        const tighter = await leaverRows(store.db, period, { connectedMs: 600_000, manualMs: 2 * 3_600_000 });
        assert.deepEqual(tighter.leavers.map((l) => l.sla_met), [false, false], 'confirmed later than the targets');
      } finally {
        await store.close();
      }
    });

    test('a finding resolved by a change names the change, who made it and its audit entry; one that went away by itself says so', async () => {
      const store = await backend.open();
      try {
        const finding = (id: string, resolved: string | null) =>
          sql`INSERT INTO findings (id, kind, system, account_id, detail, first_seen, last_seen, state, resolved_at) VALUES (${id}, 'orphan_account', 'crm', ${id}, 'no owner', '2026-11-02T00:00:00Z', '2026-11-03T00:00:00Z', ${resolved ? 'resolved' : 'open'}, ${resolved}::timestamptz)`.execute(store.db);
        await finding('f1', '2026-11-03T00:00:00Z');
        await finding('f2', '2026-11-04T00:00:00Z');
        await finding('f3', null);
        await appendAudit(store.db, { actor: 'worker:1', action: 'finding.resolved', subject: 'E9', trigger: 'change:c1', details: { findings: ['f1'], changeKind: 'disable_account', system: 'crm' } }, new Date('2026-11-03T00:00:00Z'));
        const rows = await findingRows(store.db, period);
        assert.deepEqual(rows.map((r) => [r.account, r.state, r.resolution]), [
          ['f1', 'resolved', 'disable_account in crm by worker:1 (audit entry 1)'],
          ['f2', 'resolved', 'resolved without a recorded change: the detector no longer reports it'],
          ['f3', 'open', null],
        ]);
      } finally {
        await store.close();
      }
    });

    test('a mover shows what changed and the access removed because of it', async () => {
      const store = await backend.open();
      try {
        await seeded(store);
        assert.deepEqual(await moverRows(store.db, period), [
          { identity_key: 'E3', effective_at: '2026-11-12T09:00:00.000Z', changed: 'department: Sales → Engineering', access_removed: 'remove_grant crm:sales-team' },
        ]);
      } finally {
        await store.close();
      }
    });

    test('the monthly check shows completion per department and per manager, and the answers that led to an action', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('M1', { department: 'Ops' }), person('E1', { department: 'Sales', manager: 'M1' }), person('E2', { department: 'Sales', manager: 'M1' })]);
        await store.db.insertInto('assets').values([
          { tag: 'LAP-1', serial: 'S-1', kind: 'laptop', holder_key: 'E1', status: 'assigned' },
          { tag: 'LAP-2', serial: 'S-2', kind: 'laptop', holder_key: 'E2', status: 'assigned' },
          { tag: 'PHN-2', serial: 'S-3', kind: 'phone', holder_key: 'E2', status: 'assigned' },
        ]).execute();
        const opened = new Date('2026-11-02T08:00:00Z');
        await openMonthlyCheck(store.db, { period: '2026-11', actor: 'scheduler' }, opened);
        const [item] = await attestationsOf(store.db, 'E1');
        await answerAttestation({ db: store.db, custodian: 'it-desk' }, { itemId: item!.id, by: 'E1', answer: 'not_mine' }, new Date('2026-11-03T08:00:00Z'));
        const phone = (await attestationsOf(store.db, 'E2')).find((i) => i.ref === 'PHN-2')!;
        await answerAttestation({ db: store.db, custodian: 'it-desk' }, { itemId: phone.id, by: 'E2', answer: 'confirmed' }, new Date('2026-11-03T09:00:00Z'));

        const completion = await monthlyCheckCompletionRows(store.db, period);
        assert.deepEqual(completion.map((r) => [r.group_by, r.group, r.respondents, r.respondents_done, r.items, r.answered, r.completion_pct]), [
          ['department', 'Sales', 2, 1, 3, 2, 66.7],
          ['manager', 'M1', 2, 1, 3, 2, 66.7],
        ]);
        assert.equal(completion[0]!.check, 'chk-2026-11');
        const actions = await monthlyCheckActionRows(store.db, period);
        assert.deepEqual(actions.map((r) => [r.respondent, r.answer, String(r.action).replace(/task-\S+/, 'task-…')]), [['E1', 'not_mine', 'task:task-…'], ['E2', 'confirmed', 'asset:PHN-2:accepted']], 'a confirmation that accepted the item is listed with it');
        assert.deepEqual(await monthlyCheckCompletionRows(store.db, { from: new Date('2026-12-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') }), [], 'a check opened in another month is not in this period');
      } finally {
        await store.close();
      }
    });
  });
}
