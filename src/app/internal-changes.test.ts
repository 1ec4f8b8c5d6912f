import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Change } from '../domain/change.ts';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import { BUILT_IN_CONNECTORS, createConnectorRegistry } from '../connectors/registry.ts';
import { verifyAudit } from '../store/audit-log.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../../test/support/jml-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import { applyChange } from './apply-change.ts';
import { executePlan } from '../jobs/plan-executor.ts';
import { createPlanner } from './compute-plan.ts';
import { openPolicyConnectors } from './connectors-from-policy.ts';
import { createInternalChanges, internalChangeSettings, JML_TASK_SYSTEM } from './internal-changes.ts';
import { leaverStatuses } from './leaver-sla.ts';
import { reconcileSystem } from './reconcile.ts';

const NOW = new Date('2026-03-02T09:00:00Z');
const evidence = (by: string, note: string) => ({ doneBy: by, doneAt: NOW.toISOString(), note });

for (const backend of testBackends()) {
  describe(`jml-internal changes (${backend.name})`, () => {
    test('a transfer moves the stored owner once, audited before and after, and reads back by the stored owner', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('L1'), person('M1'), person('SVC1', {}, { kind: 'service_account', owner: 'L1' })]);
        const internal = createInternalChanges(internalChangeSettings({ systems: [] }), { db: store.db, now: () => NOW, actor: 'test' });
        const change: Change = { id: 'transfer:SVC1', kind: 'transfer_ownership', identityKey: 'L1', system: null, subjectKey: 'SVC1', toOwnerKey: 'M1', attributes: { relation: 'owner' }, reason: 'leaver', dependsOn: [] };
        assert.equal((await internal.readBack(change)).holds, false);
        assert.deepEqual(await internal.apply(change), { status: 'done' });
        assert.deepEqual(await internal.apply(change), { status: 'done' });
        assert.equal((await internal.readBack(change)).holds, true);
        const row = await store.db.selectFrom('identities').select(['owner']).where('key', '=', 'SVC1').executeTakeFirstOrThrow();
        assert.equal(row.owner, 'M1');
        const audit = await store.db.selectFrom('audit_log').select(['before', 'after']).where('action', '=', 'identity.ownership_transferred').execute();
        assert.equal(audit.length, 1, 'the second apply changed nothing and wrote nothing');
        assert.deepEqual([audit[0]!.before, audit[0]!.after], [{ owner: 'L1' }, { owner: 'M1' }]);

        const sponsor: Change = { ...change, id: 'transfer:C1', subjectKey: 'C1', attributes: { relation: 'sponsor' } };
        await seedIdentities(store.db, [person('C1', {}, { kind: 'contractor', sponsor: 'L1' })]);
        await internal.apply(sponsor);
        assert.equal((await store.db.selectFrom('identities').select(['sponsor', 'owner']).where('key', '=', 'C1').executeTakeFirstOrThrow()).sponsor, 'M1');
      } finally {
        await store.close();
      }
    });

    test('a system-less task goes to the active manager, else to the IAM team', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('M1'), person('M2', {}, { status: 'left' }), person('L1', { manager: 'M1' }), person('L2', { manager: 'M2' })]);
        const internal = createInternalChanges({ assetCustodian: 'it', iamTeam: 'iam' }, { db: store.db, now: () => NOW });
        const task = (key: string): Change => ({ id: `assign-owner:${key}`, kind: 'manual_task', identityKey: key, system: null, subjectKey: 'SVC1', reason: 'SVC1 needs a new owner', dependsOn: [] });
        assert.equal((await internal.apply(task('L1'))).status, 'pending');
        assert.equal((await internal.apply(task('L2'))).status, 'pending');
        const owners = (await internal.tasks.listTasks({ system: JML_TASK_SYSTEM })).map((t) => `${t.identityKey}:${t.owner}`).sort();
        assert.deepEqual(owners, ['L1:M1', 'L2:iam']);
      } finally {
        await store.close();
      }
    });

    test('an owner of a service account leaves: account disabled, ownership to the manager, confirm and asset tasks, complete once tasks close with evidence', async () => {
      const store = await backend.open();
      try {
        const wiki = createFakeConnector({ groups: ['staff', 'eng', 'admins'] }, { system: 'wiki' });
        const registry = createConnectorRegistry({ ...BUILT_IN_CONNECTORS, fake: () => wiki });
        const dir = writePolicyDir(FAKE_WIKI_POLICY);
        const planner = createPlanner({ db: store.db, config: { policy_dir: dir, timezone: 'UTC' }, actor: 'test', now: () => NOW });
        const { policy } = await planner.loadPolicy();
        const connectors = await openPolicyConnectors({ db: store.db, policy, registry, now: () => NOW, actor: 'test', internal: { assetCustodian: 'it-desk' } });
        const deps = { db: store.db, actor: 'test', now: () => NOW, connectorFor: connectors.connectorFor, tasksFor: connectors.tasksFor, currentFingerprint: () => planner.currentFingerprint({}) };
        const applyPlan = (executorDeps: typeof deps, plan: Parameters<typeof executePlan>[1]) =>
          executePlan({ store, actor: executorDeps.actor, now: executorDeps.now, connectorFor: executorDeps.connectorFor, tasksFor: executorDeps.tasksFor, pollMs: 50 }, plan, executorDeps.currentFingerprint);

        await seedIdentities(store.db, [person('M1'), person('L1', { manager: 'M1' }), person('SVC1', {}, { kind: 'service_account', owner: 'L1' })]);
        assert.equal((await applyPlan(deps, (await planner.compute()).plan)).status, 'applied');
        await reconcileSystem({ db: store.db, policy, connectorFor: connectors.get, actor: 'test', now: () => NOW }, 'wiki');

        await store.db.insertInto('assets').values({ tag: 'LAP-0001', serial: 'SN1', kind: 'laptop', description: 'ThinkPad', holder_key: 'L1', location: 'Berlin', status: 'assigned' }).execute();
        await seedIdentities(store.db, [person('L1', { manager: 'M1' }, { status: 'left', endDate: '2026-03-01' })]);
        await store.db.insertInto('lifecycle_events').values({ id: 'ev-L1', type: 'leaver', identity_key: 'L1', source: 'hr', record_key: 'L1', effective_date: '2026-03-02', effective_at: '2026-03-02T08:30:00Z', detected_at: NOW.toISOString(), changes: JSON.stringify({}), state: 'applied', import_id: null }).execute();

        const { plan } = await planner.compute();
        const kinds = plan.changes.map((c) => `${c.kind}:${c.system ?? 'jml'}`);
        assert.ok(kinds.includes('disable_account:wiki') && kinds.includes('transfer_ownership:jml') && kinds.includes('manual_task:jml') && kinds.includes('collect_asset:jml'), kinds.join(' '));
        const first = await applyPlan(deps, plan);
        const stateOf = (kind: string) => first.changes.find((r) => plan.changes.find((c) => c.id === r.changeId)!.kind === kind)!.state;
        assert.equal(stateOf('disable_account'), 'confirmed');
        assert.equal(stateOf('transfer_ownership'), 'confirmed');
        assert.equal(stateOf('manual_task'), 'pending');
        assert.equal(stateOf('collect_asset'), 'waiting', 'equipment is collected after ownership has moved');
        assert.equal((await store.db.selectFrom('identities').select('owner').where('key', '=', 'SVC1').executeTakeFirstOrThrow()).owner, 'M1');

        // What a worker's sweep does after a task closes: run the recorded plan's unsettled changes again.
        const rerun = async () => {
          for (const change of plan.changes) await applyChange(deps, plan.id, change);
        };
        const [confirm] = await connectors.internal.tasks.listTasks({ system: JML_TASK_SYSTEM, status: 'open' });
        assert.equal(confirm?.owner, 'M1', 'the new owner confirms they accept it');
        assert.equal((await leaverStatuses(store.db, NOW))[0]?.state, 'in_progress');
        await connectors.internal.tasks.closeTask(confirm!.id, evidence('M1', 'I own SVC1 now'), 'M1');
        await rerun();
        const [collect] = await connectors.internal.tasks.listTasks({ system: JML_TASK_SYSTEM, status: 'open' });
        assert.equal(collect?.kind, 'collect_asset');
        assert.equal(collect?.owner, 'it-desk');
        assert.match(collect?.instruction ?? '', /Recover asset LAP-0001 \(laptop, ThinkPad, serial SN1\) from L1/);
        assert.equal((await leaverStatuses(store.db, NOW))[0]?.state, 'in_progress');
        await assert.rejects(connectors.internal.tasks.closeTask(collect!.id, { doneBy: 'it-desk', doneAt: NOW.toISOString() }, 'it-desk'), /evidence needs a note or a file hash/);
        await assert.rejects(connectors.internal.tasks.closeTask(collect!.id, evidence('it-desk', 'laptop returned at front desk'), 'it-desk'), /name the serial you saw on LAP-0001 \(SN1\).*say how its data was wiped/);
        await connectors.internal.tasks.closeTask(collect!.id, evidence('it-desk', 'laptop returned at front desk, serial SN1 seen, disk wiped with nwipe'), 'it-desk');
        await rerun();

        const asset = await store.db.selectFrom('assets').select(['status', 'holder_key']).where('tag', '=', 'LAP-0001').executeTakeFirstOrThrow();
        assert.deepEqual(asset, { status: 'collected', holder_key: null });
        const [status] = await leaverStatuses(store.db, NOW);
        assert.equal(status?.state, 'complete', JSON.stringify(status?.steps.filter((s) => s.confirmedAt === null)));
        assert.equal([...wiki.state.accounts.values()].find((a) => a.identityKey === 'L1')?.enabled, false);
        assert.equal((await verifyAudit(store.db)).ok, true);
        await connectors.close();
      } finally {
        await store.close();
      }
    });
  });
}
