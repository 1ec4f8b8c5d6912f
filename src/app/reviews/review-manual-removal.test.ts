import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTaskStore } from '../../connectors/manual/task-store.ts';
import { executePlan } from '../../jobs/plan-executor.ts';
import { person, seedIdentities, writePolicyDir } from '../../../test/support/jml-fixture.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { createPlanner } from '../compute-plan.ts';
import { openPolicyConnectors } from '../connectors-from-policy.ts';
import { reconcileSystem } from '../reconcile.ts';
import { closeReviewCampaign, confirmReviewRemovals, decideReviewItems, manualSystemsOf, startReviewCampaign } from './review-campaigns.ts';
import { exportCampaign } from './review-export.ts';

const T0 = new Date('2027-01-04T09:00:00Z');
const policyDir = writePolicyDir({
  'systems.yaml': `systems:
  - name: ledger
    connector: { type: manual }
    owner: E0
    enforcement: full
    correlation: { account: identity_key, identity: key }
`,
  'entitlements.yaml': `entitlements:
  - { system: ledger, name: viewer }
  - { system: ledger, name: approver, privileged: true }
`,
  'rules.yaml': `rules:
  - name: everyone
    when: { kind: [employee] }
    grant: { entitlements: ["ledger:viewer"] }
`,
  'reviews.yaml': `reviews:
  - name: ledger-access
    scope: { entitlements: ["ledger:approver"] }
    stages: [manager]
    no_response: keep
`,
});

for (const backend of testBackends()) {
  describe(`removals in a system without a connector (${backend.name})`, () => {
    test('a removal in a manual system becomes a task linked to the review item, and the item is confirmed only when the task is closed with evidence', async () => {
      const store = await backend.open();
      let now = T0;
      const planner = createPlanner({ db: store.db, config: { policy_dir: policyDir, timezone: 'Europe/Paris' }, actor: 'test', now: () => now });
      const policy = (await planner.loadPolicy()).policy;
      const connectors = await openPolicyConnectors({ db: store.db, policy, now: () => now, actor: 'test' });
      const tasks = createTaskStore({ db: store.db, now: () => now });
      try {
        await seedIdentities(store.db, [person('M1'), person('E1', { manager: 'M1' }), person('E0')]);
        await store.db.insertInto('assignments').values({ id: 'A1', identity_key: 'E1', system: 'ledger', entitlement: 'approver', reason_type: 'exception', reason: JSON.stringify({ type: 'exception', exceptionId: 'X1', justification: 'year-end close' }), created_by: 'cli:alice' }).execute();
        const apply = async () => executePlan({ store, connectorFor: (s) => connectors.connectorFor(s), tasksFor: (s) => connectors.tasksFor(s), actor: 'test', now: () => now }, (await planner.compute()).plan, () => planner.currentFingerprint());
        const reconcile = () => reconcileSystem({ db: store.db, policy, connectorFor: (s) => connectors.get(s), actor: 'test', now: () => now }, 'ledger');
        const closeOpenTask = async (kind: string, note: string) => {
          const open = await tasks.listTasks({ status: 'open' });
          const task = open.find((t) => t.kind === kind);
          assert.ok(task, `an open ${kind} task among ${open.map((t) => t.kind).join(', ') || 'none'}`);
          await tasks.closeTask(task.id, { doneBy: 'E0', doneAt: now.toISOString(), note }, 'E0');
          return task.id;
        };
        // The grant is given by hand first, so the ledger holds it when the campaign starts.
        for (let round = 0; round < 4; round++) {
          await apply();
          const open = await tasks.listTasks({ status: 'open' });
          if (open.length === 0) break;
          for (const t of open) await tasks.closeTask(t.id, { doneBy: 'E0', doneAt: now.toISOString(), note: 'done in the ledger admin screen' }, 'E0');
          await reconcile();
        }

        const deps = { db: store.db, planner, timeZone: 'Europe/Paris' };
        const { id, items } = await startReviewCampaign(deps, 'ledger-access', 'cli:alice', T0);
        assert.equal(items, 1);
        const [item] = await store.db.selectFrom('review_items').select('id').where('campaign_id', '=', id).execute();
        await decideReviewItems(deps, id, { reviewer: 'M1', itemIds: [item!.id], decision: 'remove' }, T0);
        now = new Date(T0.getTime() + 14 * 86_400_000);
        assert.equal((await closeReviewCampaign(deps, id, 'cli:alice', now)).state, 'applying');
        const manualSystems = manualSystemsOf(policy);
        assert.deepEqual(manualSystems, ['ledger']);
        assert.deepEqual(await confirmReviewRemovals(store.db, id, 'test', now, { manualSystems }), { confirmed: 0, open: 1, state: 'applying' }, 'no task yet: the plan has not run');

        await apply();
        const [removal] = (await tasks.listTasks({ status: 'open' })).filter((t) => t.kind === 'remove_grant');
        assert.ok(removal, 'the plan opened a task to remove the grant');
        assert.deepEqual(await confirmReviewRemovals(store.db, id, 'test', now, { manualSystems }), { confirmed: 0, open: 1, state: 'applying' }, 'an open task is not a removal');
        const linked = await store.db.selectFrom('review_items').select(['removal', 'removal_detail', 'task_id']).where('id', '=', item!.id).executeTakeFirstOrThrow();
        assert.deepEqual(linked, { removal: 'planned', removal_detail: `manual task ${removal.id} open`, task_id: removal.id });

        await closeOpenTask('remove_grant', 'removed from the approvers list');
        assert.deepEqual(await confirmReviewRemovals(store.db, id, 'test', now, { manualSystems }), { confirmed: 1, open: 0, state: 'complete' });
        const { json, csv } = await exportCampaign(store.db, id);
        assert.deepEqual([json.items[0]!.removal, json.items[0]!.removalTask, json.items[0]!.removalDetail], ['confirmed', removal.id, `manual task ${removal.id} closed by E0`]);
        assert.ok(csv.split(/\r?\n/)[1]!.endsWith(`,confirmed,manual task ${removal.id} closed by E0,${removal.id}`), csv);
        const audit = await store.db.selectFrom('audit_log').select('details').where('action', '=', 'review.removal_confirmed').executeTakeFirstOrThrow();
        assert.equal((audit.details as { task: string }).task, removal.id);
      } finally {
        await connectors.close();
        await store.close();
      }
    });
  });
}
