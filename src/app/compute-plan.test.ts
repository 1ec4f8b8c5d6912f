import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isJmlError } from '../domain/errors.ts';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../../test/support/jml-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import { executePlan } from '../jobs/plan-executor.ts';
import { decideRequest, listOpenApprovals } from './approval.ts';
import { createPlanner } from './compute-plan.ts';
import { requestJoinerApprovals } from './joiner-approval.ts';
import { loadCreatedGroups, loadPreviouslyAssigned } from './plan-inputs.ts';
import { reconcileSystem } from './reconcile.ts';

const NOW = new Date('2026-03-02T09:00:00Z');

for (const backend of testBackends()) {
  describe(`compute-plan (${backend.name})`, () => {
    async function setup() {
      const store = await backend.open();
      const dir = writePolicyDir(FAKE_WIKI_POLICY);
      const planner = createPlanner({ db: store.db, config: { policy_dir: dir, timezone: 'Europe/Berlin' }, actor: 'test', now: () => NOW });
      const wiki = createFakeConnector({ groups: ['staff', 'eng', 'admins'] }, { system: 'wiki' });
      const apply = (plan: Parameters<typeof executePlan>[1], scope = {}) =>
        executePlan({ store, connectorFor: () => wiki, actor: 'test', now: () => NOW, pollMs: 50 }, plan, () => planner.currentFingerprint(scope));
      const reconcile = async () => reconcileSystem({ db: store.db, policy: (await planner.loadPolicy()).policy, connectorFor: () => wiki, actor: 'test', now: () => NOW }, 'wiki');
      return { store, dir, planner, wiki, apply, reconcile };
    }

    test('a joiner planned from the store gets an account and grants; after apply and reconcile nothing is left to do', async () => {
      const { store, planner, wiki, apply, reconcile } = await setup();
      try {
        await seedIdentities(store.db, [person('E1', { department: 'Engineering' })]);
        const { plan, runs } = await planner.compute();
        assert.equal(runs.size, 0);
        assert.deepEqual(plan.changes.map((c) => `${c.kind}:${c.entitlement ?? ''}`), ['create_account:', 'add_grant:eng', 'add_grant:staff']);
        const report = await apply(plan);
        assert.equal(report.status, 'applied');
        assert.deepEqual([...wiki.state.grants.values()].map((g) => [...g].sort()), [['eng', 'staff']]);
        const jml = await loadPreviouslyAssigned(store.db);
        assert.deepEqual(jml.map((a) => `${a.identityKey}:${a.system}:${a.entitlement}`).sort(), ['E1:wiki:eng', 'E1:wiki:null', 'E1:wiki:staff']);
        await reconcile();
        const again = await planner.compute();
        assert.deepEqual(again.plan.changes, []);
        assert.equal(again.runs.get('wiki')?.system, 'wiki');
      } finally {
        await store.close();
      }
    });

    test('a mover loses what no longer maps and a leaver is disabled, from the reconciled snapshot', async () => {
      const { store, planner, wiki, apply, reconcile } = await setup();
      try {
        await seedIdentities(store.db, [person('E1', { department: 'Engineering' }), person('E2', { department: 'Engineering' })]);
        await apply((await planner.compute()).plan);
        await reconcile();
        await seedIdentities(store.db, [person('E1', { department: 'Sales' }), person('E2', { department: 'Engineering' }, { status: 'left', endDate: '2026-03-01' })]);
        const { plan } = await planner.compute();
        const summary = plan.changes.map((c) => `${c.identityKey}:${c.kind}:${c.entitlement ?? ''}`);
        assert.ok(summary.includes('E1:remove_grant:eng'), summary.join());
        assert.ok(summary.includes('E2:disable_account:'), summary.join());
        assert.ok(!summary.some((s) => s.startsWith('E1:remove_grant:staff')));
        await apply(plan);
        const e2 = [...wiki.state.accounts.values()].find((a) => a.identityKey === 'E2')!;
        assert.equal(e2.enabled, false);
      } finally {
        await store.close();
      }
    });

    test('right after apply the plan proposes nothing, without a reconcile: joiners, a mover, a leaver past retention, a suspension', async () => {
      const { store, dir, planner, wiki, apply, reconcile } = await setup();
      try {
        writeFileSync(join(dir, 'systems.yaml'), `systems:
  - name: wiki
    connector: { type: fake, settings: { groups: [staff, eng, admins] } }
    owner: E0
    enforcement: full
    correlation: { account: identity_key, identity: key }
    account: { attributes: { title: "{department}" } }
    leaver: { action: delete, delete_after_days: 0 }
`);
        const kinds = (plan: { changes: readonly { identityKey: string; kind: string; entitlement?: string }[] }) => plan.changes.map((c) => `${c.identityKey}:${c.kind}:${c.entitlement ?? ''}`);
        await seedIdentities(store.db, ['E1', 'E2', 'E3'].map((k) => person(k, { department: 'Engineering' })));
        const joiners = await planner.compute();
        assert.equal((await apply(joiners.plan)).status, 'applied');
        const afterJoiners = await planner.compute();
        assert.deepEqual(kinds(afterJoiners.plan), [], 'the accounts and grants just confirmed are observed');
        assert.ok(afterJoiners.runs.get('wiki'), 'a system never reconciled has a snapshot of what apply confirmed');

        await seedIdentities(store.db, [
          person('E1', { department: 'Sales' }),
          person('E2', { department: 'Engineering' }, { status: 'left', endDate: '2026-03-01' }),
          person('E3', { department: 'Engineering' }, { status: 'suspended' }),
        ]);
        const movers = await planner.compute();
        assert.deepEqual(kinds(movers.plan).sort(), [
          'E1:remove_grant:eng', 'E1:update_attributes:', 'E2:delete_account:', 'E2:disable_account:', 'E2:remove_grant:eng', 'E2:remove_grant:staff', 'E3:disable_account:',
        ]);
        assert.equal((await apply(movers.plan)).status, 'applied');
        assert.deepEqual(kinds((await planner.compute()).plan), [], 'removed grants, new attributes, a disabled and a deleted account are observed');

        await reconcile();
        assert.deepEqual(kinds((await planner.compute()).plan), [], 'the system agrees with what apply recorded');
        await seedIdentities(store.db, [person('E3', { department: 'Sales' })]);
        const back = await planner.compute();
        assert.deepEqual(kinds(back.plan).sort(), ['E3:enable_account:', 'E3:remove_grant:eng', 'E3:update_attributes:']);
        assert.equal((await apply(back.plan)).status, 'applied');
        assert.deepEqual(kinds((await planner.compute()).plan), [], 'a reconciled snapshot is updated the same way');
        assert.equal([...wiki.state.accounts.values()].filter((a) => a.enabled).length, 2);
      } finally {
        await store.close();
      }
    });

    test('a plan whose inputs changed after it was computed is refused as stale', async () => {
      const { store, planner, apply } = await setup();
      try {
        await seedIdentities(store.db, [person('E1')]);
        const { plan } = await planner.compute();
        await seedIdentities(store.db, [person('E1', { department: 'Engineering' })]);
        await assert.rejects(apply(plan), (e) => isJmlError(e, 'stale_plan'));
      } finally {
        await store.close();
      }
    });

    test('scoping by identity or system plans only that part, and the scope is part of the fingerprint', async () => {
      const { store, planner } = await setup();
      try {
        await seedIdentities(store.db, [person('E1'), person('E2')]);
        const all = await planner.compute();
        const one = await planner.compute({ identityKeys: ['E2'] });
        assert.deepEqual([...new Set(one.plan.changes.map((c) => c.identityKey))], ['E2']);
        assert.notEqual(one.plan.fingerprint, all.plan.fingerprint);
        assert.equal(await planner.currentFingerprint({ identityKeys: ['E2'] }), one.plan.fingerprint);
        assert.deepEqual((await planner.compute({ systems: ['nowhere'] })).plan.changes, []);
      } finally {
        await store.close();
      }
    });

    test('a joiner awaiting approval is held by the planner itself, the plan says why, and an approval makes an earlier plan stale', async () => {
      const { store, dir, planner, apply } = await setup();
      try {
        writeFileSync(join(dir, 'approvals.yaml'), 'approvals:\n  - { name: contractors, joiners: { kind: [contractor] }, stages: [sponsor] }\n');
        writeFileSync(join(dir, 'rules.yaml'), 'rules:\n  - { name: everyone, when: { kind: [employee, contractor] }, grant: { entitlements: ["wiki:staff"] } }\n');
        await seedIdentities(store.db, [person('E0'), person('C1', {}, { kind: 'contractor', sponsor: 'E0', startDate: '2026-03-01' })]);
        assert.deepEqual(await requestJoinerApprovals({ db: store.db, policy: (await planner.loadPolicy()).policy, now: () => NOW }), ['C1']);
        const [approval] = await listOpenApprovals(store.db, 'E0');

        const { plan } = await planner.compute();
        assert.deepEqual([...new Set(plan.changes.map((c) => c.identityKey))], ['E0'], 'the contractor gets nothing yet');
        assert.deepEqual(plan.held, [{ identityKey: 'C1', requestId: approval!.requestId, state: 'pending', heldChanges: 2 }]);
        assert.deepEqual((await planner.compute({ identityKeys: ['C1'] })).plan.changes, [], 'a scoped plan holds the joiner too');

        await decideRequest(store.db, { requestId: approval!.requestId, approver: 'E0', decision: 'approve' }, NOW);
        await assert.rejects(apply(plan), (e) => isJmlError(e, 'stale_plan'), 'the plan was computed before the decision');
        const approved = await planner.compute();
        assert.deepEqual(approved.plan.changes.filter((c) => c.identityKey === 'C1').map((c) => c.kind), ['create_account', 'add_grant']);
        assert.equal(approved.plan.held, undefined);
      } finally {
        await store.close();
      }
    });

    test('a department group jml creates is remembered; when its last member moves away it is deleted, and no plan repeats either', async () => {
      const { store, wiki, reconcile } = await setup();
      const dir = writePolicyDir({
        ...FAKE_WIKI_POLICY,
        'groups.yaml': `entitlements:
  - { system: wiki, name: "dept-{department|slug}", create_missing: true, remove_empty: true }
rules:
  - name: department-group
    when: { kind: [employee] }
    grant: { entitlements: ["wiki:dept-{department|slug}"] }
`,
      });
      const planner = createPlanner({ db: store.db, config: { policy_dir: dir, timezone: 'Europe/Berlin' }, actor: 'test', now: () => NOW });
      const applyNow = async () => {
        const report = await executePlan({ store, connectorFor: () => wiki, actor: 'test', now: () => NOW, pollMs: 50 }, (await planner.compute()).plan, () => planner.currentFingerprint({}));
        assert.equal(report.status, 'applied');
      };
      const kinds = async () => (await planner.compute()).plan.changes.map((c) => `${c.kind}:${c.entitlement ?? ''}`);
      try {
        await seedIdentities(store.db, [person('E1', { department: 'Sales+Ops' })]);
        assert.deepEqual(await kinds(), ['create_group:dept-sales-ops', 'create_account:', 'add_grant:dept-sales-ops', 'add_grant:staff']);
        await applyNow();
        assert.ok(wiki.state.groups.has('dept-sales-ops'));
        assert.deepEqual(await loadCreatedGroups(store.db), [{ system: 'wiki', entitlement: 'dept-sales-ops' }]);
        assert.deepEqual(await kinds(), [], 'right after apply, without a reconcile');
        await reconcile();

        await seedIdentities(store.db, [person('E1', { department: 'Finance' })]);
        assert.deepEqual(await kinds(), ['create_group:dept-finance', 'remove_grant:dept-sales-ops', 'delete_group:dept-sales-ops', 'add_grant:dept-finance']);
        await applyNow();
        assert.deepEqual([...wiki.state.groups.keys()].filter((g) => g.startsWith('dept-')), ['dept-finance']);
        assert.deepEqual(await loadCreatedGroups(store.db), [{ system: 'wiki', entitlement: 'dept-finance' }]);
        assert.deepEqual(await kinds(), [], 'the deleted group is gone from the snapshot, so it is not deleted again');
      } finally {
        await store.close();
      }
    });

    test('loading a policy version is audited once per new hash', async () => {
      const { store, dir, planner } = await setup();
      try {
        await planner.compute();
        await planner.compute();
        writeFileSync(join(dir, 'roles.yaml'), 'roles:\n  - { name: extra, inducements: [{ entitlement: "wiki:admins" }] }\n');
        await planner.compute();
        const loads = await store.db.selectFrom('audit_log').select(['details']).where('action', '=', 'policy.loaded').orderBy('seq').execute();
        assert.equal(loads.length, 2);
        const hashes = loads.map((l) => (l.details as { hash: string }).hash);
        assert.notEqual(hashes[0], hashes[1]);
      } finally {
        await store.close();
      }
    });
  });
}
