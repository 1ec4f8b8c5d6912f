import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createFakeConnector } from '../../connectors/fake/fake-connector.ts';
import { addAccount } from '../../connectors/fake/fake-system.ts';
import { executePlan } from '../../jobs/plan-executor.ts';
import type { Notification } from '../../notify/notification.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../../../test/support/jml-fixture.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { createPlanner } from '../compute-plan.ts';
import { reconcileSystem } from '../reconcile.ts';
import { runReviewSchedule } from './review-scheduler.ts';

const TZ = 'Europe/Paris';
const policyDir = writePolicyDir({
  ...FAKE_WIKI_POLICY,
  'reviews.yaml': `reviews:
  - name: quarterly-admins
    scope: { entitlements: ["wiki:admins"] }
    stages: [manager]
    recurrence: { every_months: 3, from: 2027-01-01 }
    duration_days: 14
    reminders: { midpoint: true, days_before: [1] }
    no_response: remove
    cap: { max_percent: 100, hold_privileged: false }
`,
});

for (const backend of testBackends()) {
  describe(`the worker runs reviews on their recurrence (${backend.name})`, () => {
    test('a campaign starts once per period at midnight in the organisation zone, reminds once, closes at its end under no-response and is confirmed after the plan removes the access', async () => {
      const store = await backend.open();
      try {
        let now = new Date('2026-12-31T22:59:00Z'); // 23:59 on 31 December in Paris
        const planner = createPlanner({ db: store.db, config: { policy_dir: policyDir, timezone: TZ }, actor: 'test', now: () => now });
        const wiki = createFakeConnector({ groups: ['staff', 'eng', 'admins'] }, { system: 'wiki' });
        await seedIdentities(store.db, [person('M1'), person('E1', { manager: 'M1' })]);
        for (const key of ['M1', 'E1']) wiki.state.grants.get(addAccount(wiki.state, key, { user_name: key }).accountId)!.add('staff');
        await store.db.insertInto('assignments').values({ id: 'A1', identity_key: 'E1', system: 'wiki', entitlement: 'admins', reason_type: 'exception', reason: JSON.stringify({ type: 'exception', exceptionId: 'X1', justification: 'migration' }), created_by: 'cli:alice' }).execute();
        const apply = async () => executePlan({ store, connectorFor: () => wiki, actor: 'test', now: () => now }, (await planner.compute()).plan, () => planner.currentFingerprint());
        const reconcile = async () => reconcileSystem({ db: store.db, policy: (await planner.loadPolicy()).policy, connectorFor: () => wiki, actor: 'test', now: () => now }, 'wiki');
        await apply();
        await reconcile();

        const queued: Notification[] = [];
        const replanned: string[][] = [];
        const deps = { db: store.db, planner, timeZone: TZ, enqueue: async (_trx: unknown, n: readonly Notification[]) => void queued.push(...n), replan: async (keys: readonly string[]) => void replanned.push([...keys]) };
        const tick = (at: string) => { now = new Date(at); return runReviewSchedule(deps, now); };

        assert.deepEqual((await tick('2026-12-31T22:59:00Z')).started, [], 'nothing before midnight in Paris');
        // Two workers tick at the same minute: one campaign.
        now = new Date('2026-12-31T23:00:00Z');
        const both = await Promise.all([runReviewSchedule(deps, now), runReviewSchedule(deps, now)]);
        assert.deepEqual(both.flatMap((r) => r.started).map((s) => [s.review, s.period, s.items]), [['quarterly-admins', '2027-01-01', 1]]);
        assert.deepEqual((await tick('2027-01-02T10:00:00Z')).started, [], 'a restarted worker does not start the period again');
        const campaign = await store.db.selectFrom('review_campaigns').selectAll().executeTakeFirstOrThrow();
        assert.equal(campaign.due_at.toISOString(), '2027-01-14T23:00:00.000Z', 'due at midnight after the last day, in Paris');
        assert.equal(campaign.started_by, 'scheduler');

        assert.equal((await tick('2027-01-07T22:59:00Z')).notified, 0);
        assert.equal((await tick('2027-01-07T23:00:00Z')).notified, 1, 'the midpoint reminder');
        assert.equal((await tick('2027-01-08T09:00:00Z')).notified, 0, 'a reminder is sent once');
        assert.equal((await tick('2027-01-13T23:05:00Z')).notified, 1, 'the day-before reminder');
        assert.deepEqual(queued.map((n) => [n.recipient, n.title]), [
          ['M1', 'Access review "quarterly-admins": 1 item(s) waiting for your decision'],
          ['M1', 'Access review "quarterly-admins": 1 item(s) waiting for your decision'],
        ]);

        assert.deepEqual((await tick('2027-01-14T22:59:00Z')).closed, []);
        const closing = await tick('2027-01-14T23:00:00Z');
        assert.deepEqual(closing.closed, [{ id: campaign.id, state: 'applying' }], 'closed at its end; nobody answered and no-response removes');
        assert.deepEqual(replanned, [['E1']]);
        assert.deepEqual((await tick('2027-01-14T23:01:00Z')).closed, [], 'closed once');

        await apply();
        await reconcile();
        const confirming = await tick('2027-01-15T02:00:00Z');
        assert.equal(confirming.confirmed, 1);
        const done = await store.db.selectFrom('review_campaigns').select(['state']).where('id', '=', campaign.id).executeTakeFirstOrThrow();
        assert.equal(done.state, 'complete');
        const audit = await store.db.selectFrom('audit_log').select(['action', 'actor']).where('subject', '=', `review:${campaign.id}`).orderBy('seq').execute();
        assert.deepEqual(audit.map((a) => `${a.actor} ${a.action}`), ['scheduler review.started', 'scheduler review.closed', 'scheduler review.removal_confirmed', 'scheduler review.completed']);

        const next = await tick('2027-03-31T22:00:00Z'); // 1 April, 00:00 in Paris (summer time)
        assert.deepEqual(next.started.map((s) => s.period), ['2027-04-01'], 'the next quarter starts its own campaign');
      } finally {
        await store.close();
      }
    });
  });
}
