/**
 * The same plan gives the same result through `jml apply` (executePlan: the
 * durable queue worked in-process) and through the worker runtime: a change the system's
 * connector does not provision becomes a task for the system owner, and a
 * jml-internal change (system null) is carried out by jml, on both paths.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { executePlan } from '../../src/jobs/plan-executor.ts';
import { openPolicyConnectors } from '../../src/app/connectors-from-policy.ts';
import { loadPolicy } from '../../src/policy/index.ts';
import type { Change, Plan } from '../../src/domain/change.ts';
import { submitPlan } from '../../src/jobs/change-job.ts';
import { startWorkerRuntime } from '../../src/jobs/worker-runtime.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';

const policyDir = writePolicyDir(FAKE_WIKI_POLICY);
const changes: readonly Change[] = [
  { id: 'review:wiki:L1', kind: 'manual_task', identityKey: 'L1', system: 'wiki', reason: 'review grants kept for L1', dependsOn: [] },
  { id: 'transfer:SVC1', kind: 'transfer_ownership', identityKey: 'L1', system: null, subjectKey: 'SVC1', toOwnerKey: 'M1', attributes: { relation: 'owner' }, reason: 'leaver', dependsOn: [] },
  { id: 'confirm:SVC1', kind: 'manual_task', identityKey: 'L1', system: null, subjectKey: 'SVC1', toOwnerKey: 'M1', reason: 'M1 to confirm they own SVC1', dependsOn: ['transfer:SVC1'] },
];
const plan = (): Plan => ({ id: `plan-${Math.random().toString(36).slice(2)}`, computedAt: new Date().toISOString(), fingerprint: 'fp', changes });

async function seed(store: Store): Promise<void> {
  await seedIdentities(store.db, [person('M1'), person('L1', { manager: 'M1' }), person('SVC1', {}, { kind: 'service_account', owner: 'L1' })]);
}

/** Change states, task owners and SVC1's owner: what an operator would see. */
async function outcome(store: Store, planId: string) {
  const states = await store.db.selectFrom('plan_changes').select(['change_id', 'state']).where('plan_id', '=', planId).orderBy('change_id').execute();
  const tasks = await store.db.selectFrom('tasks').select(['change_id', 'system', 'owner']).orderBy('change_id').execute();
  const svc = await store.db.selectFrom('identities').select('owner').where('key', '=', 'SVC1').executeTakeFirstOrThrow();
  return { states: states.map((s) => `${s.change_id}:${s.state}`), tasks: tasks.map((t) => `${t.change_id}:${t.system}:${t.owner}`), owner: svc.owner };
}

for (const backend of testBackends()) {
  describe(`worker and CLI apply agree (${backend.name})`, () => {
    test('a change the connector cannot do and a jml-internal change end alike through the CLI path and the workers', { timeout: 60_000 }, async () => {
      const cli = await backend.open();
      const worker = await backend.open();
      try {
        await seed(cli);
        await seed(worker);
        const { policy } = await loadPolicy(policyDir);
        const connectors = await openPolicyConnectors({ db: cli.db, policy, actor: 'cli' });
        const viaCli = plan();
        await executePlan({ store: cli, actor: 'cli', connectorFor: (s) => connectors.connectorFor(s), tasksFor: (s) => connectors.tasksFor(s) }, viaCli, async () => 'fp');
        await connectors.close();
        const expected = await outcome(cli, viaCli.id);
        assert.deepEqual(expected, {
          states: ['confirm:SVC1:pending', 'review:wiki:L1:pending', 'transfer:SVC1:confirmed'],
          tasks: ['confirm:SVC1:jml:M1', 'review:wiki:L1:wiki:E0'],
          owner: 'M1',
        });

        const workers = await startWorkerRuntime({ store: worker, config: { policy_dir: policyDir, timezone: 'UTC' }, actor: 'worker', options: { schedules: false, pollingIntervalSeconds: 0.5 } });
        try {
          const viaWorkers = plan();
          await submitPlan({ db: worker.db, boss: workers.boss, actor: 'test' }, viaWorkers);
          let got = await outcome(worker, viaWorkers.id);
          for (let i = 0; i < 200 && got.states.some((s) => /:(planned|running)$/.test(s)); i++) {
            await new Promise((r) => setTimeout(r, 100));
            got = await outcome(worker, viaWorkers.id);
          }
          assert.deepEqual(got, expected);
        } finally {
          await workers.stop(2_000);
        }
      } finally {
        await cli.close();
        await worker.close();
      }
    });
  });
}
