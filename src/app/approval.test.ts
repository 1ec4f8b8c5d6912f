import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import { isJmlError } from '../domain/errors.ts';
import type { Policy } from '../domain/policy.ts';
import { policyFileSchema } from '../policy/policy-schema.ts';
import { verifyAudit } from '../store/audit-log.ts';
import type { Database } from '../store/database.ts';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { createAccessRequest, exceptionsForReview, getAccessRequest } from './access-request.ts';
import { cancelForLeavers, decideRequest, escalateApprovals, listOpenApprovals } from './approval.ts';
import { loadJoinerHolds } from './plan-inputs.ts';
import { expireAssignments } from './assignment-expiry.ts';
import { requestJoinerApprovals } from './joiner-approval.ts';

const file = policyFileSchema.parse({
  systems: [
    { name: 'wiki', connector: { type: 'fake' }, owner: 'SO' },
    { name: 'prod', connector: { type: 'fake' }, owner: 'SO' },
  ],
  entitlements: [
    { system: 'wiki', name: 'editors', max_duration_days: 30 },
    { system: 'prod', name: 'admin', privileged: true, max_duration_days: 7 },
    { system: 'prod', name: 'oncall-{team|slug}', privileged: true, max_duration_days: 3 },
  ],
  roles: [{ name: 'writer', inducements: [{ entitlement: 'wiki:editors' }] }],
  approvals: [
    { name: 'privileged', entitlements: ['*'], privileged: true, stages: ['manager', 'system_owner', { name: 'security', approvers: ['SEC1'], timeout_hours: 24 }] },
    { name: 'contractors', joiners: { kind: ['contractor'] }, stages: ['sponsor'] },
  ],
});
const policy: Pick<Policy, 'approvals' | 'systems' | 'entitlements' | 'roles'> = {
  systems: file.systems ?? [],
  entitlements: file.entitlements ?? [],
  roles: file.roles ?? [],
  approvals: file.approvals ?? [],
};

const T0 = new Date('2026-03-02T09:00:00Z');
const hours = (h: number) => new Date(T0.getTime() + h * 3_600_000);

async function person(db: Kysely<Database>, key: string, manager: string | null, extra: { kind?: string; status?: string; sponsor?: string } = {}): Promise<void> {
  await db
    .insertInto('identities')
    .values({ key, kind: extra.kind ?? 'employee', status: extra.status ?? 'active', source: 'hr', attributes: JSON.stringify({ manager, display_name: key }), start_date: '2026-03-01', end_date: null, owner: null, sponsor: extra.sponsor ?? null })
    .execute();
}

for (const backend of testBackends()) {
  describe(`access requests and approvals on ${backend.name}`, () => {
    let store: Store;
    let deps: { db: Kysely<Database>; policy: typeof policy; now: () => Date };
    before(async () => {
      store = await backend.open();
      deps = { db: store.db, policy, now: () => T0 };
      for (const [key, manager] of [['M2', null], ['M1', 'M2'], ['SO', 'M2'], ['SEC1', 'M2'], ['E1', 'M1'], ['E2', 'M1'], ['E3', 'M1'], ['X9', 'M2']] as const) await person(store.db, key, manager);
    });
    after(() => store.close());

    test('a request needs the manager, then the system owner; approved, it is an assignment that ends by itself', async () => {
      const { request, stages } = await createAccessRequest(deps, { requester: 'E1', identityKey: 'E1', entitlement: 'wiki:editors', justification: 'docs sprint', durationDays: 10 });
      assert.deepEqual(stages.map((s) => [s.name, s.approvers]), [['manager', ['M1']], ['system_owner', ['SO']]]);
      await assert.rejects(decideRequest(store.db, { requestId: request.id, approver: 'SO', decision: 'approve' }, T0), (e) => isJmlError(e, 'forbidden'), 'the system owner waits for the manager');
      await assert.rejects(decideRequest(store.db, { requestId: request.id, approver: 'E1', decision: 'approve' }, T0), (e) => isJmlError(e, 'forbidden'), 'nobody approves their own request');
      assert.equal((await decideRequest(store.db, { requestId: request.id, approver: 'M1', decision: 'approve' }, T0)).state, 'pending');
      const done = await decideRequest(store.db, { requestId: request.id, approver: 'SO', decision: 'approve', comment: 'ok' }, hours(1));
      assert.equal(done.state, 'approved');
      assert.equal(done.validTo, new Date(hours(1).getTime() + 10 * 86_400_000).toISOString());
      const assignment = await store.db.selectFrom('assignments').selectAll().where('identity_key', '=', 'E1').executeTakeFirstOrThrow();
      assert.deepEqual([assignment.system, assignment.entitlement, assignment.reason_type, assignment.state], ['wiki', 'editors', 'request', 'active']);
      assert.deepEqual(await expireAssignments(store.db, hours(24 * 5)), [], 'still valid after five days');
      const expired = await expireAssignments(store.db, hours(24 * 11));
      assert.deepEqual(expired.map((e) => [e.identityKey, e.system, e.entitlement]), [['E1', 'wiki', 'editors']]);
      const audit = await store.db.selectFrom('audit_log').select('action').where('subject', '=', 'E1').orderBy('seq').execute();
      assert.deepEqual(audit.map((a) => a.action), ['request.created', 'approval.approved', 'approval.approved', 'request.approved', 'assignment.expired']);
    });

    test('privileged access adds the security stage, and a manager asking for a report is replaced by their own manager', async () => {
      const { stages } = await createAccessRequest(deps, { requester: 'M1', identityKey: 'E2', entitlement: 'prod:admin', justification: 'on-call week', durationDays: 7 });
      assert.deepEqual(stages.map((s) => [s.name, s.approvers]), [['manager', ['M2']], ['system_owner', ['SO']], ['security', ['SEC1']]]);
    });

    test('the duration is capped by the entitlement, someone else’s report cannot be requested for, and a denial ends it', async () => {
      await assert.rejects(createAccessRequest(deps, { requester: 'E2', identityKey: 'E2', entitlement: 'prod:admin', justification: 'x'.repeat(5), durationDays: 8 }), /at most 7 days/);
      await assert.rejects(createAccessRequest(deps, { requester: 'X9', identityKey: 'E2', entitlement: 'wiki:editors', justification: 'please' }), (e) => isJmlError(e, 'forbidden'));
      const { request } = await createAccessRequest(deps, { requester: 'E2', identityKey: 'E2', role: 'writer', justification: 'blog' });
      assert.equal(request.durationDays, 30, 'without a duration, the cap applies');
      const denied = await decideRequest(store.db, { requestId: request.id, approver: 'M1', decision: 'deny' }, T0);
      assert.equal(denied.state, 'denied');
      assert.equal((await store.db.selectFrom('approval_steps').select('state').where('request_id', '=', request.id).where('stage', '=', 2).executeTakeFirstOrThrow()).state, 'cancelled');
    });

    test('an entitlement or system not in the catalogue is refused by name, and nothing is filed', async () => {
      const before = (await store.db.selectFrom('access_requests').select('id').execute()).length;
      await assert.rejects(createAccessRequest(deps, { requester: 'E1', identityKey: 'E1', entitlement: 'wiki:root', justification: 'just because' }), (e) => isJmlError(e, 'not_found') && /wiki:root/.test(e.message));
      await assert.rejects(createAccessRequest(deps, { requester: 'E1', identityKey: 'E1', entitlement: 'mainframe:ops', justification: 'just because' }), (e) => isJmlError(e, 'not_found') && /mainframe/.test(e.message));
      assert.equal((await store.db.selectFrom('access_requests').select('id').execute()).length, before);
    });

    test('with approver_outside_chain, nobody in the requester’s management chain approves a privileged request, and a route left with nobody is refused', async () => {
      const chained = (stages: unknown[], outside: boolean) => {
        const f = policyFileSchema.parse({ approvals: [{ name: 'privileged', entitlements: ['*'], privileged: true, stages, ...(outside ? { approver_outside_chain: true } : {}) }] });
        return { ...deps, policy: { ...policy, approvals: f.approvals ?? [] } };
      };
      const stages = [{ name: 'security', approvers: ['SEC1', 'M1', 'M2'] }, 'system_owner'];
      const ask = { requester: 'E1', identityKey: 'E1', entitlement: 'prod:admin', justification: 'incident on call', durationDays: 1 };
      const plain = await createAccessRequest(chained(stages, false), ask);
      assert.deepEqual(plain.stages.map((s) => [s.name, s.approvers]), [['security', ['SEC1', 'M1', 'M2']], ['system_owner', ['SO']]]);
      const outside = await createAccessRequest(chained(stages, true), ask);
      assert.deepEqual(outside.stages.map((s) => [s.name, s.approvers]), [['security', ['SEC1']], ['system_owner', ['SO']]], 'E1’s manager M1 and skip-level M2 are left out');
      await assert.rejects(createAccessRequest(chained(['manager'], true), ask), (e) => isJmlError(e, 'invalid_input') && /stage manager for prod has nobody.*management chain/.test(e.message));

      // Later, too: an escalation does not reach the chain (SEC1's manager is M2, E1's skip-level), and nobody in it decides.
      const step = `${outside.request.id}-1`;
      await store.db.updateTable('approval_steps').set({ due_at: new Date(T0.getTime() - 1).toISOString() }).where('id', '=', step).execute();
      assert.deepEqual(await escalateApprovals(store.db, T0), [step]);
      const escalated = await store.db.selectFrom('approval_steps').select(['approvers', 'escalations']).where('id', '=', step).executeTakeFirstOrThrow();
      assert.deepEqual([escalated.approvers, escalated.escalations], [['SEC1'], 1]);
      await store.db.updateTable('approval_steps').set({ approvers: ['SEC1', 'M1'] }).where('id', '=', step).execute();
      await assert.rejects(decideRequest(store.db, { requestId: outside.request.id, approver: 'M1', decision: 'approve' }, T0), (e) => isJmlError(e, 'forbidden') && /management chain of E1/.test(e.message));
      assert.equal((await decideRequest(store.db, { requestId: plain.request.id, approver: 'M1', decision: 'approve' }, T0)).state, 'pending', 'without the setting the manager may decide');
    });

    test('a group an entitlement template names inherits its privilege and cap; the template itself cannot be requested', async () => {
      await assert.rejects(createAccessRequest(deps, { requester: 'E1', identityKey: 'E1', entitlement: 'prod:oncall-payments', justification: 'cover', durationDays: 4 }), /at most 3 days/);
      const { stages } = await createAccessRequest(deps, { requester: 'E1', identityKey: 'E1', entitlement: 'prod:oncall-payments', justification: 'cover', durationDays: 3 });
      assert.deepEqual(stages.map((s) => s.name), ['manager', 'system_owner', 'security'], 'privileged, like its template');
      await assert.rejects(
        createAccessRequest(deps, { requester: 'E1', identityKey: 'E1', entitlement: 'prod:oncall-{team|slug}', justification: 'cover', durationDays: 1 }),
        (e) => isJmlError(e, 'invalid_input') && /prod:oncall-\{team\|slug\} is an entitlement template/.test(e.message),
      );
    });

    test('an exception must be time-bound, becomes an exception assignment and is listed for review', async () => {
      await assert.rejects(createAccessRequest(deps, { kind: 'exception', requester: 'E3', identityKey: 'E3', entitlement: 'wiki:editors', justification: 'audit tool' }), /time-bound/);
      const { request } = await createAccessRequest(deps, { kind: 'exception', requester: 'E3', identityKey: 'E3', entitlement: 'wiki:editors', justification: 'audit tool', durationDays: 14 });
      await decideRequest(store.db, { requestId: request.id, approver: 'M1', decision: 'approve' }, T0);
      await decideRequest(store.db, { requestId: request.id, approver: 'SO', decision: 'approve' }, T0);
      const review = await exceptionsForReview(store.db, hours(24));
      assert.deepEqual(review.map((r) => [r.id, r.daysLeft]), [[request.id, 13]]);
      const row = await store.db.selectFrom('assignments').select(['reason_type', 'reason']).where('identity_key', '=', 'E3').executeTakeFirstOrThrow();
      assert.equal(row.reason_type, 'exception');
      assert.deepEqual(row.reason, { type: 'exception', exceptionId: request.id, justification: 'audit tool' });
    });

    test('an approval that times out escalates to the approver’s manager', async () => {
      const { request } = await createAccessRequest(deps, { requester: 'E3', identityKey: 'E3', entitlement: 'wiki:editors', justification: 'second wiki', durationDays: 3 });
      assert.ok(!(await escalateApprovals(store.db, hours(71))).includes(`${request.id}-1`), 'not before its 72 hours are up');
      assert.ok((await escalateApprovals(store.db, hours(73))).includes(`${request.id}-1`));
      const open = (await listOpenApprovals(store.db, 'M2')).find((a) => a.requestId === request.id);
      assert.deepEqual(open?.approvers, ['M1', 'M2']);
      assert.equal(open?.escalations, 1);
      await decideRequest(store.db, { requestId: request.id, approver: 'M2', decision: 'approve' }, hours(74));
    });

    test('a leaver’s pending requests are cancelled and stages waiting on a leaver go to their manager', async () => {
      const mine = await createAccessRequest(deps, { requester: 'E2', identityKey: 'E2', entitlement: 'wiki:editors', justification: 'leaving soon', durationDays: 2 });
      const other = await createAccessRequest(deps, { requester: 'E3', identityKey: 'E3', entitlement: 'prod:admin', justification: 'incident', durationDays: 1 });
      await store.db.updateTable('identities').set({ status: 'left' }).where('key', 'in', ['E2', 'M1']).execute();
      const cancelled = await cancelForLeavers(store.db, hours(2));
      assert.ok(cancelled.includes(mine.request.id));
      assert.equal((await getAccessRequest(store.db, mine.request.id))?.state, 'cancelled');
      const open = (await listOpenApprovals(store.db)).find((a) => a.requestId === other.request.id);
      assert.deepEqual(open?.approvers, ['M2']);
      await store.db.updateTable('identities').set({ status: 'active' }).where('key', 'in', ['E2', 'M1']).execute();
    });

    test('a contractor joiner waits for the sponsor’s approval before activation', async () => {
      await person(store.db, 'C1', null, { kind: 'contractor', status: 'pending', sponsor: 'M1' });
      assert.deepEqual(await requestJoinerApprovals(deps), ['C1']);
      assert.deepEqual(await requestJoinerApprovals(deps), [], 'once per joiner');
      const [joiner] = (await listOpenApprovals(store.db, 'M1')).filter((a) => a.request.kind === 'joiner');
      assert.deepEqual((await loadJoinerHolds(store.db)).filter((h) => h.identityKey === 'C1'), [{ identityKey: 'C1', requestId: joiner!.requestId, state: 'pending' }]);
      await decideRequest(store.db, { requestId: joiner!.requestId, approver: 'M1', decision: 'approve' }, T0);
      assert.deepEqual((await loadJoinerHolds(store.db)).filter((h) => h.identityKey === 'C1'), [], 'approved: no longer held');
      assert.equal((await verifyAudit(store.db)).ok, true);
    });
  });
}
