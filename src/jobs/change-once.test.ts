import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Change, Plan } from '../domain/change.ts';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import { addAccount } from '../connectors/fake/fake-system.ts';
import { createManualConnector } from '../connectors/manual/manual-connector.ts';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { submitPlan } from './change-job.ts';
import { executePlan, resumeUnfinishedPlans } from './plan-executor.ts';
import { startWorkers, type Workers } from './workers.ts';

/**
 * Change ids are stable (kind, system, identity, target), so a plan computed
 * while an earlier one is still being applied carries the same changes: a
 * replan after each import, or a plan whose task was closed while the next
 * plan was already submitted. Each change must still reach its system once.
 */
function plan(id: string, keys: readonly string[]): Plan {
  const changes: Change[] = keys.map((key) => ({ id: `create:wiki:${key}`, kind: 'create_account', identityKey: key, system: 'wiki', reason: 'joiner', dependsOn: [] }));
  return { id, computedAt: new Date().toISOString(), fingerprint: 'f', changes };
}

async function settled(store: Store, planIds: readonly string[]): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const rows = await store.db.selectFrom('plans').select('status').where('id', 'in', planIds).execute();
    if (rows.every((r) => r.status !== 'applying')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`plans ${planIds.join(', ')} did not settle`);
}

for (const backend of testBackends()) {
  describe(`one change in two plans on ${backend.name}`, () => {
    let store: Store;
    let workers: Workers;
    // Slow enough that both plans' jobs are in hand at once.
    const wiki = createFakeConnector({ groups: ['staff'], latencyMs: 150 }, { system: 'wiki' });
    before(async () => {
      store = await backend.open();
      workers = await startWorkers({ store, connectorFor: (s) => (s === 'wiki' ? wiki : undefined), options: { schedules: false, concurrency: 2, batchSize: 5 } });
    });
    after(async () => {
      await workers.stop(2_000);
      await store.close();
    });

    test('a change carried by two plans applied at once reaches the system once; the later run finds it done', { timeout: 60_000 }, async () => {
      const keys = ['E1', 'E2', 'E3', 'E4'];
      const first = plan(`once-a-${Date.now()}`, keys);
      const second = plan(`once-b-${Date.now()}`, keys);
      await submitPlan({ db: store.db, boss: workers.boss, actor: 'test' }, first);
      await submitPlan({ db: store.db, boss: workers.boss, actor: 'test' }, second);
      await settled(store, [first.id, second.id]);
      assert.equal(wiki.calls['apply:create_account'], keys.length, 'one connector call per change');
      const rows = await store.db.selectFrom('plan_changes').select(['change_id', 'state']).where('plan_id', 'in', [first.id, second.id]).execute();
      for (const key of keys) {
        const states = rows.filter((r) => r.change_id === `create:wiki:${key}`).map((r) => r.state).sort();
        assert.deepEqual(states, ['already', 'confirmed'], key);
      }
    });
  });

  describe(`a task closed between two plans on ${backend.name}`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
    });
    after(async () => {
      await store.close();
    });

    test('a leaver step waiting on a task in an earlier plan runs once when the task is closed and the next plan carries it too', { timeout: 60_000 }, async () => {
      // The end-to-end leaver: its sessions are a task for the directory owner and the AD step waits
      // on it; the owner closes the task and the next apply submits a plan with the same two changes.
      // That apply's worker sweeps the earlier plan, which resumes its own waiting step.
      const directory = createManualConnector({}, { system: 'directory', db: store.db });
      const ad = createFakeConnector({ groups: ['staff'], latencyMs: 150 }, { system: 'ad' });
      const account = addAccount(ad.state, 'L1');
      const leave = { identityKey: 'L1', reason: 'leaver effective 2026-03-01' };
      const changes: Change[] = [
        { ...leave, id: 'sessions:directory:L1', kind: 'create_account', system: 'directory', dependsOn: [] },
        { ...leave, id: 'disable:ad:L1', kind: 'disable_account', system: 'ad', accountId: account.accountId, dependsOn: ['sessions:directory:L1'] },
      ];
      const deps = { store, actor: 'test', connectorFor: (s: string | null) => (s === 'directory' ? directory : s === 'ad' ? ad : undefined), pollMs: 50 };
      const apply = (id: string) => executePlan(deps, { id, computedAt: new Date().toISOString(), fingerprint: 'f', changes }, async () => 'f');
      const first = `task-a-${Date.now()}`;
      assert.deepEqual((await apply(first)).changes.map((c) => c.state), ['pending', 'waiting']);
      const [task] = await directory.tasks.listTasks({ system: 'directory', status: 'open' });
      await directory.tasks.closeTask(task!.id, { doneBy: 'owner', doneAt: new Date().toISOString(), note: 'signed out everywhere' }, 'owner');
      const second = `task-b-${Date.now()}`;
      await apply(second);
      // The second apply ends once its own plan is settled; what its sweep queued for the first plan and
      // its worker had not taken by then is finished by the next apply (or any worker), as here.
      await resumeUnfinishedPlans(deps);
      await settled(store, [first, second]);
      assert.equal(ad.calls['apply:disable_account'], 1, 'the AD account was disabled by one call');
    });
  });
}
