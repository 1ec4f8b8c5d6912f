/**
 * The worker runtime `jml worker` runs, over a real policy directory: a
 * replan request plans the seeded identities and the workers apply it; a
 * joiner awaiting approval is held back until approved.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decideRequest, listOpenApprovals } from '../../src/app/approval.ts';
import { requestReplan } from '../../src/jobs/schedules.ts';
import { startWorkerRuntime } from '../../src/jobs/worker-runtime.ts';
import type { Workers } from '../../src/jobs/workers.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';

let store: Store;
let workers: Workers;
const policyDir = writePolicyDir({
  ...FAKE_WIKI_POLICY,
  'rules.yaml': `${FAKE_WIKI_POLICY['rules.yaml']}  - { name: contractors, when: { kind: [contractor] }, grant: { entitlements: ["wiki:staff"] } }\n`,
  'approvals.yaml': 'approvals:\n  - { name: contractors, joiners: { kind: [contractor] }, stages: [sponsor] }\n',
});

before(async () => {
  store = await testBackends()[0]!.open();
  await seedIdentities(store.db, [person('E0'), person('E1'), person('C1', {}, { kind: 'contractor', status: 'active', sponsor: 'E0', startDate: new Date().toISOString().slice(0, 10) })]);
  workers = await startWorkerRuntime({ store, config: { policy_dir: policyDir, timezone: 'UTC' }, actor: 'test-worker', options: { schedules: false, pollingIntervalSeconds: 0.5 } });
});
after(async () => {
  await workers.stop(2_000);
  await store.close();
});

async function confirmedCreates(): Promise<string[]> {
  const rows = await store.db.selectFrom('plan_changes').select('identity_key').where('kind', '=', 'create_account').where('state', 'in', ['confirmed', 'already']).execute();
  return rows.map((r) => r.identity_key).sort();
}

async function until(probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300 && !(await probe()); i++) await new Promise((r) => setTimeout(r, 100));
}

test('a replan request plans and applies through the workers, holding a joiner until approved', { timeout: 90_000 }, async () => {
  // The lifecycle tick opens joiner approvals; here the hook is called the way the schedule would.
  const { requestJoinerApprovals } = await import('../../src/app/joiner-approval.ts');
  const { createPlanner } = await import('../../src/app/compute-plan.ts');
  const { policy } = await createPlanner({ db: store.db, config: { policy_dir: policyDir, timezone: 'UTC' }, actor: 't' }).loadPolicy();
  assert.deepEqual(await requestJoinerApprovals({ db: store.db, policy }), ['C1']);

  await requestReplan(workers.boss, undefined, 'test');
  await until(async () => (await confirmedCreates()).length >= 2);
  assert.deepEqual(await confirmedCreates(), ['E0', 'E1'], 'the contractor awaiting approval gets no account');

  const [approval] = await listOpenApprovals(store.db, 'E0');
  await decideRequest(store.db, { requestId: approval!.requestId, approver: 'E0', decision: 'approve' }, new Date());
  await requestReplan(workers.boss, ['C1'], 'approved');
  await until(async () => (await confirmedCreates()).includes('C1'));
  assert.deepEqual(await confirmedCreates(), ['C1', 'E0', 'E1']);
});
