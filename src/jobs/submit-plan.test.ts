import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Change, Plan } from '../domain/change.ts';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { submitPlan } from './change-job.ts';
import { startJobBoss, type JobSender } from './job-boss.ts';
import { unfinishedPlanSystems } from './plan-executor.ts';

function joinerPlan(id: string, n: number): Plan {
  const changes: Change[] = [];
  for (let i = 0; i < n; i++) {
    const create: Change = { id: `create-${id}-${i}`, kind: 'create_account', identityKey: `S${i}`, system: 'wiki', reason: 'joiner', dependsOn: [] };
    changes.push(create, { id: `grant-${id}-${i}`, kind: 'add_grant', identityKey: `S${i}`, system: 'wiki', entitlement: 'staff', reason: 'joiner', dependsOn: [create.id] });
  }
  return { id, computedAt: new Date().toISOString(), fingerprint: id, changes };
}

for (const backend of testBackends()) {
  describe(`submitting a plan on ${backend.name}`, () => {
    let store: Store;
    let boss: Awaited<ReturnType<typeof startJobBoss>>;
    beforeEach(async () => {
      store = await backend.open();
      boss = await startJobBoss(store.db, store.backend, { schedule: false, supervise: false });
    });
    afterEach(async () => {
      await boss.stop({ graceful: false, close: false });
      await store.close();
    });

    test('a submit that fails while queueing its jobs records nothing of the plan: no plan is left applying, and submitting it again queues every root', { timeout: 60_000 }, async () => {
      const plan = joinerPlan(`submit-${Date.now()}`, 600);
      // What a process killed after writing the plan's rows, before its jobs were queued, leaves behind.
      const failing: JobSender = { send: boss.send.bind(boss), insert: async () => { throw new Error('killed while queueing'); } };
      await assert.rejects(submitPlan({ db: store.db, boss: failing, actor: 'test' }, plan), /killed while queueing/);

      assert.equal(await store.db.selectFrom('plans').select('id').where('id', '=', plan.id).executeTakeFirst(), undefined, 'the plan is not recorded');
      const rows = await store.db.selectFrom('plan_changes').select((eb) => eb.fn.countAll<number>().as('n')).where('plan_id', '=', plan.id).executeTakeFirstOrThrow();
      assert.equal(Number(rows.n), 0, 'none of its changes is recorded');
      assert.equal(await unfinishedPlanSystems(store.db), null, 'the next apply finds no plan to resume');

      const { queued } = await submitPlan({ db: store.db, boss, actor: 'test' }, plan);
      assert.equal(queued, 600, 'each creation (the changes that depend on nothing) is queued');
      const runs = await store.db.selectFrom('change_runs').select((eb) => eb.fn.countAll<number>().as('n')).where('plan_id', '=', plan.id).executeTakeFirstOrThrow();
      assert.equal(Number(runs.n), 1200, 'every change has its run');
    });
  });
}
