/**
 * End to end on the demo's data (the shipped policy, the demo's HR file with
 * its upcoming leavers: HR status terminated, last day still to come): the
 * return of their equipment is planned and handed to IT before they leave,
 * due when their last day ends in the organisation's zone, and it counts in
 * the leaver SLA once they have left.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { testBackends } from '../../../test/support/backends.ts';
import { tempDir, testConfig } from '../../../test/support/hr-files.ts';
import { lastInstantOf } from '../../engine/org-calendar.ts';
import { executePlan } from '../../jobs/plan-executor.ts';
import { applyChange } from '../apply-change.ts';
import { createPlanner } from '../compute-plan.ts';
import { openPolicyConnectors } from '../connectors-from-policy.ts';
import { JML_TASK_SYSTEM } from '../internal-changes.ts';
import { leaverStatuses } from '../leaver-sla.ts';
import { applyDueEvents } from '../lifecycle-clock.ts';
import { loadDemo } from '../load-demo.ts';

const TZ = 'Europe/Berlin';
const TODAY = new Date('2026-11-22T09:00:00Z');

for (const backend of testBackends()) {
  describe(`returns of an upcoming leaver (${backend.name})`, () => {
    test('the demo\'s upcoming leaver gets a return task before leaving, due at the end of the last day worked, and the leaver SLA waits for it', async () => {
      const store = await backend.open();
      try {
        const config = { ...testConfig({ timezone: TZ }), data_dir: tempDir(), policy_dir: path.resolve(import.meta.dirname, '../../../policy') };
        await loadDemo({ db: store.db, config }, { actor: 'demo', now: TODAY, people: 120 });
        const upcoming = await store.db.selectFrom('identities as i').innerJoin('assets as a', 'a.holder_key', 'i.key')
          .select(['i.key', 'i.end_date', 'a.tag', 'a.serial']).where('i.status', '=', 'active').where('i.end_date', '>', '2026-11-22')
          .where('a.kind', '=', 'laptop').orderBy('i.end_date').orderBy('i.key').execute();
        assert.ok(upcoming.length > 0, 'the demo has upcoming leavers holding a laptop');
        const { key, end_date: lastDay, tag, serial } = upcoming[0]!;

        let now = TODAY;
        const planner = createPlanner({ db: store.db, config, actor: 'test', now: () => now });
        const { policy } = await planner.loadPolicy();
        const connectors = await openPolicyConnectors({ db: store.db, policy, now: () => now, actor: 'test', timezone: TZ, internal: { assetCustodian: 'it-desk' } });
        const scope = { identityKeys: [key] };
        const deps = { db: store.db, actor: 'test', now: () => now, connectorFor: connectors.connectorFor, tasksFor: connectors.tasksFor };
        const apply = async () => {
          const { plan } = await planner.compute(scope);
          await executePlan({ store, actor: 'test', now: () => now, connectorFor: connectors.connectorFor, tasksFor: connectors.tasksFor, pollMs: 50 }, plan, () => planner.currentFingerprint(scope));
          return plan;
        };

        const before = await apply();
        const returns = before.changes.filter((c) => c.kind === 'collect_asset');
        assert.ok(returns.some((c) => c.assetTag === tag), `a return of ${tag} is planned before ${lastDay}`);
        assert.ok(returns.every((c) => c.attributes?.due === lastDay && c.dependsOn.length === 0));
        assert.ok(before.changes.every((c) => c.kind !== 'disable_account' && c.kind !== 'remove_grant'), 'access stays until the last day');
        const [task] = await connectors.internal.tasks.listTasks({ system: JML_TASK_SYSTEM, identityKey: key, status: 'open' }).then((ts) => ts.filter((t) => t.changeId === returns.find((c) => c.assetTag === tag)!.id));
        assert.equal(task?.owner, 'it-desk');
        assert.equal(task?.dueAt, lastInstantOf(lastDay!, TZ), 'due when the last day worked ends in Berlin');
        assert.deepEqual(await leaverStatuses(store.db, now, undefined, { identityKey: key }), [], 'no leaver clock before the last day');

        // The day after the last day: the leaver event takes effect; the return is still out, so the leaver is overdue.
        now = new Date(Date.parse(lastInstantOf(lastDay!, TZ)) + 3_600_000);
        await applyDueEvents({ db: store.db, actor: 'test' }, now);
        const after = await apply();
        assert.equal(after.changes.find((c) => c.assetTag === tag)?.id, task!.changeId, 'the leaver order carries the same return');
        assert.equal((await connectors.internal.tasks.listTasks({ system: JML_TASK_SYSTEM, identityKey: key })).filter((t) => t.changeId === task!.changeId).length, 1, 'one task, not a second');
        const [overdue] = await leaverStatuses(store.db, now, undefined, { identityKey: key });
        const early = overdue!.steps.find((s) => s.planId === before.id && s.changeId === task!.changeId);
        assert.equal(early?.dueAt, new Date(Date.parse(lastInstantOf(lastDay!, TZ)) + 1).toISOString(), 'the early return is due when the last day ends');
        assert.equal(early?.overdue, true);
        assert.equal(overdue!.state, 'overdue');

        // IT closes every return with the serial seen and the wipe; the leaver is complete.
        for (const open of await connectors.internal.tasks.listTasks({ system: JML_TASK_SYSTEM, identityKey: key, status: 'open' })) {
          const asset = await store.db.selectFrom('assets').select('serial').where('tag', '=', open.change.assetTag ?? '').executeTakeFirst();
          await connectors.internal.tasks.closeTask(open.id, { doneBy: 'it-desk', doneAt: now.toISOString(), note: `returned, serial ${asset?.serial ?? serial} seen, disk wiped` }, 'it-desk');
        }
        for (const plan of [before, after]) for (const change of plan.changes) await applyChange(deps, plan.id, change);
        const [done] = await leaverStatuses(store.db, now, undefined, { identityKey: key });
        assert.equal(done!.state, 'complete', JSON.stringify(done!.steps.filter((s) => s.confirmedAt === null)));
        assert.ok(done!.steps.some((s) => s.planId === before.id && s.kind === 'collect_asset'), 'the return planned ahead is one of the leaver\'s steps');
        assert.equal((await store.db.selectFrom('assets').select('status').where('tag', '=', tag).executeTakeFirstOrThrow()).status, 'collected');
        await connectors.close();
      } finally {
        await store.close();
      }
    });
  });
}
