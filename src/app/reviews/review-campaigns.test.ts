import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createFakeConnector } from '../../connectors/fake/fake-connector.ts';
import { addAccount } from '../../connectors/fake/fake-system.ts';
import { isJmlError } from '../../domain/errors.ts';
import { executePlan } from '../../jobs/plan-executor.ts';
import { verifyAudit } from '../../store/audit-log.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../../../test/support/jml-fixture.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { createPlanner } from '../compute-plan.ts';
import { reconcileSystem } from '../reconcile.ts';
import { closeReviewCampaign, confirmReviewRemovals, decideReviewItems, delegateReviewItems, previewClose, startReviewCampaign } from './review-campaigns.ts';
import { campaignDecisions, getCampaign, loadItemStates, loadProvenance, reviewerProgress, reviewInbox } from './review-queries.ts';
import { startCampaign } from '../../engine/review-campaign.ts';
import { exportCampaign } from './review-export.ts';

const T0 = new Date('2027-01-04T09:00:00Z');

function policyDir(noResponse: string, maxPercent: number): string {
  return writePolicyDir({
    ...FAKE_WIKI_POLICY,
    'systems.yaml': `systems:
  - name: wiki
    connector: { type: fake, settings: { groups: [staff, eng, admins] } }
    owner: E0
    enforcement: relative
    correlation: { account: identity_key, identity: key }
`,
    'reviews.yaml': `reviews:
  - name: quarterly
    stages: [manager]
    recurrence: { every_months: 3, from: 2027-01-01 }
    no_response: ${noResponse}
    cap: { max_percent: ${maxPercent} }
`,
  });
}

for (const backend of testBackends()) {
  describe(`review campaigns (${backend.name})`, () => {
    async function setup(noResponse: string, maxPercent: number) {
      const store = await backend.open();
      let now = T0;
      const planner = createPlanner({ db: store.db, config: { policy_dir: policyDir(noResponse, maxPercent), timezone: 'Europe/Paris' }, actor: 'test', now: () => now });
      const wiki = createFakeConnector({ groups: ['staff', 'eng', 'admins'] }, { system: 'wiki' });
      await seedIdentities(store.db, [person('M1'), person('E1', { manager: 'M1' }), person('E2', { manager: 'M1' }), person('E0')]);
      for (const key of ['M1', 'E1', 'E2', 'E0']) wiki.state.grants.get(addAccount(wiki.state, key, { user_name: key.toLowerCase() }).accountId)!.add('staff');
      // E1 holds admins by an exception jml granted: the review may take it away.
      await store.db.insertInto('assignments').values({ id: 'A1', identity_key: 'E1', system: 'wiki', entitlement: 'admins', reason_type: 'exception', reason: JSON.stringify({ type: 'exception', exceptionId: 'X1', justification: 'migration' }), created_by: 'cli:alice' }).execute();
      const reconcile = async () => reconcileSystem({ db: store.db, policy: (await planner.loadPolicy()).policy, connectorFor: () => wiki, actor: 'test', now: () => now }, 'wiki');
      const apply = async () => executePlan({ store, connectorFor: () => wiki, actor: 'test', now: () => now }, (await planner.compute()).plan, () => planner.currentFingerprint());
      await apply();
      await reconcile();
      const deps = { db: store.db, planner, timeZone: 'Europe/Paris' };
      return { store, deps, wiki, reconcile, apply, clock: (at: Date) => void (now = at) };
    }

    test('a manager review removes an exception the manager revoked through the normal plan, and completes once a reconcile confirms it', async () => {
      const { store, deps, wiki, reconcile, apply, clock } = await setup('keep', 10);
      try {
        const started = await startReviewCampaign(deps, 'quarterly', 'cli:alice', T0);
        assert.equal(started.items, 5, 'staff for four people and E1\'s admins');
        const inbox = await reviewInbox(store.db, 'M1');
        assert.deepEqual(inbox.map((i) => `${i.identityKey} ${i.entitlement}`), ['E1 admins', 'E1 staff', 'E2 staff']);
        const admins = inbox[0]!;
        assert.deepEqual(admins.reasons, [{ type: 'exception', exceptionId: 'X1', justification: 'migration' }]);
        assert.equal(admins.grantedBy, 'cli:alice');

        await assert.rejects(decideReviewItems(deps, started.id, { reviewer: 'M1', itemIds: [inbox[1]!.id, inbox[2]!.id], decision: 'keep' }, T0), (e) => isJmlError(e, 'conflict') && /confirm the bulk decision/.test(e.message));
        await decideReviewItems(deps, started.id, { reviewer: 'M1', itemIds: [inbox[1]!.id, inbox[2]!.id], decision: 'keep', confirmed: true }, T0);
        await decideReviewItems(deps, started.id, { reviewer: 'M1', itemIds: [admins.id], decision: 'remove', comment: 'migration is over' }, new Date(T0.getTime() + 60_000));
        assert.deepEqual(await reviewerProgress(store.db, started.id), [{ reviewer: 'M1', open: 0, decided: 3 }], 'M1 and E0 have no manager: their items have no reviewer');

        const closed = await closeReviewCampaign(deps, started.id, 'cli:alice', new Date(T0.getTime() + 14 * 86_400_000));
        assert.equal(closed.state, 'applying');
        assert.equal(closed.outcome.held, false);
        assert.deepEqual(await confirmReviewRemovals(store.db, started.id, 'test', new Date()), { confirmed: 0, open: 1, state: 'applying' }, 'the grant is still there until the plan is applied');
        clock(new Date(T0.getTime() + 14 * 86_400_000 + 1000));
        const report = await apply();
        assert.deepEqual(report.changes.map((c) => `${c.kind} ${c.identityKey} ${c.entitlement} ${c.state}`), ['remove_grant E1 admins confirmed']);
        assert.equal(wiki.state.grants.get([...wiki.state.accounts.values()].find((a) => a.name === 'e1')!.accountId)!.has('admins'), false, 'removed in the target');
        // Apply's read-back updates the observed snapshot; a later reconcile would confirm it the same way.
        await reconcile();
        const confirmed = await confirmReviewRemovals(store.db, started.id, 'test', new Date(T0.getTime() + 15 * 86_400_000));
        assert.deepEqual(confirmed, { confirmed: 1, open: 0, state: 'complete' });
        assert.equal((await getCampaign(store.db, started.id)).state, 'complete');

        const decisions = await campaignDecisions(store.db, started.id);
        assert.deepEqual(decisions.map((d) => [d.reviewer, d.decision]), [['M1', 'keep'], ['M1', 'keep'], ['M1', 'remove']]);
        const exported = await exportCampaign(store.db, started.id);
        const row = exported.json.items.find((i) => i.entitlement === 'admins')!;
        assert.equal(row.removal, 'confirmed');
        assert.equal(row.decisions[0]?.comment, 'migration is over');
        const audit = await store.db.selectFrom('audit_log').select(['seq', 'action', 'details']).where('seq', '=', String(row.decisions[0]!.auditSeq) as never).executeTakeFirstOrThrow();
        assert.equal(audit.action, 'review.decided', 'each decision is tied to its audit entry');
        assert.equal((await verifyAudit(store.db)).ok, true);
      } finally {
        await store.close();
      }
    });

    test('no response that would remove more than the cap holds the campaign until a person releases it; delegation is audited', async () => {
      const { store, deps } = await setup('remove', 10);
      try {
        const { id } = await startReviewCampaign(deps, 'quarterly', 'cli:alice', T0);
        const [first] = await reviewInbox(store.db, 'M1');
        await delegateReviewItems(deps, id, { from: 'M1', to: 'E0', itemIds: [first!.id], actor: 'M1' }, T0);
        assert.deepEqual((await reviewInbox(store.db, 'E0')).map((i) => i.id).includes(first!.id), true);
        const preview = await previewClose(store.db, id);
        assert.equal(preview.preview.noResponseRemovals, 5);
        const held = await closeReviewCampaign(deps, id, 'cli:alice', T0);
        assert.equal(held.state, 'held');
        assert.match(held.outcome.heldBecause[0]!, /no response would remove 5 of 5 items \(100.0 %\), more than the cap of 10 %/);
        assert.equal(await store.db.selectFrom('assignments').select('state').where('id', '=', 'A1').executeTakeFirstOrThrow().then((r) => r.state), 'active', 'nothing ended while held');
        const released = await closeReviewCampaign(deps, id, 'cli:bob', T0, { release: true });
        assert.equal(released.state, 'applying');
        assert.equal(await store.db.selectFrom('assignments').select('state').where('id', '=', 'A1').executeTakeFirstOrThrow().then((r) => r.state), 'revoked');
        const actions = (await store.db.selectFrom('audit_log').select('action').where('action', 'like', 'review.%').orderBy('seq').execute()).map((r) => r.action);
        assert.deepEqual(actions, ['review.started', 'review.delegated', 'review.held', 'review.released']);
      } finally {
        await store.close();
      }
    });

    test('the items a reviewer reads back are field for field the items the campaign start computed, also from a row that stored the whole item', async () => {
      const { store, deps } = await setup('keep', 10);
      try {
        const started = await startReviewCampaign(deps, 'quarterly', 'cli:alice', T0);
        const { input } = await deps.planner.loadInput();
        const computed = startCampaign(started.id, { review: input.policy.reviews!.find((r) => r.name === 'quarterly')!, policy: input.policy, identities: input.identities, assignments: input.assignments, observed: input.observed, links: input.links ?? [], provenance: await loadProvenance(store.db), now: T0.toISOString(), timeZone: 'Europe/Paris' });
        assert.equal(computed.snapshotHash, started.snapshotHash);
        const byId = new Map(computed.items.map((i) => [i.id, i]));
        const inbox = await reviewInbox(store.db, 'M1');
        assert.equal(inbox.length, 3);
        for (const { campaignId, stage, ...item } of inbox) assert.deepEqual(item, byId.get(item.id), `inbox item ${item.identityKey} ${item.entitlement}`);
        const states = await loadItemStates(store.db, started.id);
        assert.deepEqual([...states.values()].map((s) => s.item), computed.items, 'every item of the campaign, as computed');

        // A row written before contexts were slimmed holds the whole item in `context`: it reads the same.
        const old = computed.items.find((i) => i.grantedBy !== null)!;
        await store.db.updateTable('review_items').set({ context: JSON.stringify(old) }).where('id', '=', old.id).execute();
        assert.deepEqual((await loadItemStates(store.db, started.id, [old.id])).get(old.id)!.item, old);
      } finally {
        await store.close();
      }
    });
  });
}
