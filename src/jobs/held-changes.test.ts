import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { Change, Plan } from '../domain/change.ts';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { closeStoreWithBoss, openStoreWithBoss } from '../../test/support/store-with-boss.ts';
import { runChangeJobs, submitPlan, type ChangeJobDeps } from './change-job.ts';
import { createHeldChanges } from './held-changes.ts';
import { QUEUE } from './job-queues.ts';

const disable: Change = { id: 'disable:dir:L1', kind: 'disable_account', identityKey: 'L1', system: 'dir', reason: 'leaver', dependsOn: [] };
let plans = 0;
const makePlan = (): Plan => ({ id: `held-${++plans}-${Date.now()}`, computedAt: '2026-03-01T08:00:00Z', fingerprint: 'fp', changes: [disable] });

test('a wait nobody wakes is forgotten, and a wake that fails is swallowed', async () => {
  const held = createHeldChanges(20);
  let woken = 0;
  held.hold('c1', async () => void woken++);
  held.hold('c2', async () => {
    throw new Error('queue down');
  });
  await new Promise((r) => setTimeout(r, 40));
  await held.ended(['c1']);
  assert.equal(woken, 0, 'forgotten after forgetAfterMs');
  held.hold('c1', async () => void woken++);
  await held.ended(['c1', 'c2']);
  await held.ended(['c1']);
  assert.equal(woken, 1, 'woken once');
});

for (const backend of testBackends()) {
  describe(`held changes on ${backend.name}`, () => {
    let store: Store;
    let boss: PgBoss;
    before(async () => ({ store, boss } = await openStoreWithBoss(backend)));
    after(() => closeStoreWithBoss(store, boss));

    test("a leaver's change held by another plan's run is queued again the moment that run ends", async () => {
      const dir = createFakeConnector({ latencyMs: 400 }, { system: 'dir' });
      const deps: ChangeJobDeps = {
        db: store.db, boss, workerId: 'test-worker', leaseMs: 5_000, actor: 'test:jobs', heldChanges: createHeldChanges(),
        connectorFor: (system) => (system === 'dir' ? dir : undefined), random: () => 1, alert: () => undefined,
      };
      const [first, second] = [makePlan(), makePlan()];
      await submitPlan(deps, first);
      await submitPlan(deps, second);
      await boss.deleteAllJobs(QUEUE.applyChange);
      // Jobs of the second plan waiting to run, and those of them due now. Counted, not timed: under load the
      // timed re-check may fall due before the first run ends, so what shows the wake-up is the extra job.
      const queued = async (dueNow: boolean) =>
        (await sql<{ n: number }>`select count(*)::int as n from pgboss.job where name = ${QUEUE.applyChange} and data->>'planId' = ${second.id} and state = 'created' and (${!dueNow} or start_after <= now())`.execute(store.db)).rows[0]!.n;

      const running = runChangeJobs(deps, [{ planId: first.id, changeId: disable.id, seq: 1 }]);
      await new Promise((r) => setTimeout(r, 150));
      const [held] = await runChangeJobs(deps, [{ planId: second.id, changeId: disable.id, seq: 1 }]);
      assert.deepEqual(held, { outcome: 'locked' });
      assert.equal(await queued(false), 1, 'while the first run holds it, the second plan waits on its timed re-check alone');
      const [ran] = await running;
      assert.ok(ran && 'outcome' in ran, `the first run ends: ${JSON.stringify(ran)}`);
      assert.equal(await queued(false), 2, 'the first run ending queued the held change again, beside its timed re-check');
      assert.ok((await queued(true)) >= 1, 'due at once when the first run ends, not after the timed re-check');
    });
  });
}
