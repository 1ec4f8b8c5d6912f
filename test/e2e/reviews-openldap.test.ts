/**
 * A two-stage privileged review (entitlement owner, then security) against a
 * real OpenLDAP, on both backends: jml grants admins by exception, the owner
 * keeps both holders, security keeps one and does not answer for the other;
 * no response under `remove` would take privileged access nobody decided on,
 * so the cap holds the campaign until a person releases it; the release ends
 * the exception, the normal plan removes the member from the group and reads
 * it back, the directory (searched with its own client) no longer lists them,
 * and the campaign completes with the confirmation in its export.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EqualityFilter } from 'ldapts';
import { executePlan } from '../../src/jobs/plan-executor.ts';
import { createPlanner } from '../../src/app/compute-plan.ts';
import { openPolicyConnectors } from '../../src/app/connectors-from-policy.ts';
import { reconcileSystem } from '../../src/app/reconcile.ts';
import { closeReviewCampaign, confirmReviewRemovals, decideReviewItems, startReviewCampaign } from '../../src/app/reviews/review-campaigns.ts';
import { exportCampaign } from '../../src/app/reviews/review-export.ts';
import { reviewInbox } from '../../src/app/reviews/review-queries.ts';
import { createKeyring, masterKey } from '../../src/connectors/secrets/index.ts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { testBackends } from '../support/backends.ts';
import { asAdmin } from '../support/directory-clients.ts';
import { person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';
import { addDirectoryGroups, directorySettings, storePeerSecrets } from '../support/peer-systems.ts';

const T0 = new Date('2027-01-04T09:00:00Z');

describe('a two-stage privileged review on OpenLDAP', { skip: openLdapSkipReason() }, () => {
  let ldap: OpenLdapPeer;
  before(async () => {
    ldap = await startOpenLdap();
    await addDirectoryGroups(ldap, ['staff', 'admins']);
  });
  after(async () => { await ldap?.stop(); });

  for (const backend of testBackends()) {
    test(`owner then security: the cap holds no-response removal of privileged access until released, then the member leaves the group and it is confirmed (${backend.name})`, { timeout: 240_000 }, async () => {
      const store = await backend.open();
      const keyring = createKeyring(masterKey(randomBytes(32)));
      const dir = mkdtempSync(join(tmpdir(), 'jml-reviews-ldap-'));
      const suffix = backend.name.slice(0, 2);
      const policyDir = writePolicyDir({
        'systems.yaml': `systems:
  - name: dir
    connector: { type: ldap, settings: ${directorySettings(ldap, join(dir, 'ca.pem'))} }
    owner: "O1"
    enforcement: relative
    correlation: { account: employeeNumber, identity: key }
    account:
      name: "{first_name|ascii|lower}.{last_name|ascii|lower}"
      attributes: { sn: "{last_name}", givenName: "{first_name}" }
`,
        'entitlements.yaml': 'entitlements:\n  - { system: dir, name: staff }\n  - { system: dir, name: admins, privileged: true, owner: "O1" }\n',
        // Everyone keeps staff, so losing admins removes a grant and leaves the account alone.
        'rules.yaml': 'rules:\n  - { name: everyone, when: { kind: [employee] }, grant: { entitlements: ["dir:staff"] } }\n',
        'reviews.yaml': `reviews:
  - name: privileged
    scope: { privileged: true }
    stages:
      - entitlement_owner
      - { name: security, reviewers: ["SEC1"] }
    no_response: remove
    cap: { max_percent: 100, hold_privileged: true }
`,
      }, join(dir, 'policy'));
      let now = T0;
      try {
        await storePeerSecrets(store.db, keyring, { dir: ldap });
        await seedIdentities(store.db, [person('O1'), person('SEC1'), person(`E1${suffix}`, { first_name: 'Ann', last_name: `One${suffix}` }), person(`E2${suffix}`, { first_name: 'Bo', last_name: `Two${suffix}` })]);
        const grant = (id: string, key: string) => ({ id, identity_key: key, system: 'dir', entitlement: 'admins', reason_type: 'exception' as const, reason: JSON.stringify({ type: 'exception', exceptionId: id, justification: 'incident' }), created_by: 'cli:alice' });
        await store.db.insertInto('assignments').values([grant('X1', `E1${suffix}`), grant('X2', `E2${suffix}`)]).execute();
        const planner = createPlanner({ db: store.db, config: { policy_dir: policyDir, timezone: 'Europe/Paris' }, actor: 'test', now: () => now });
        const connectors = await openPolicyConnectors({ db: store.db, policy: (await planner.loadPolicy()).policy, keyring: () => keyring, actor: 'test' });
        const apply = async () => executePlan({ store, actor: 'test', now: () => now, connectorFor: (s) => (s ? connectors.get(s) : undefined), tasksFor: (s) => connectors.tasksFor(s) }, (await planner.compute()).plan, () => planner.currentFingerprint());
        const admins = async () => asAdmin(ldap, async (admin) => {
          const [group] = (await admin.search(ldap.groupsOu, { filter: new EqualityFilter({ attribute: 'cn', value: 'admins' }), attributes: ['member'] })).searchEntries;
          const member = group?.member;
          // This backend's people only: both runs share the directory.
          return (Array.isArray(member) ? member : [member]).map((m) => String(m).split(',')[0]!.toLowerCase()).filter((rdn) => rdn.startsWith('uid=') && rdn.endsWith(suffix)).sort();
        });
        try {
          await apply();
          await reconcileSystem({ db: store.db, policy: (await planner.loadPolicy()).policy, connectorFor: (s) => connectors.get(s), actor: 'test', now: () => now }, 'dir');
          assert.deepEqual(await admins(), [`uid=ann.one${suffix}`, `uid=bo.two${suffix}`]);

          const deps = { db: store.db, planner, timeZone: 'Europe/Paris' };
          const { id, items } = await startReviewCampaign(deps, 'privileged', 'cli:alice', T0);
          assert.equal(items, 2);
          const owned = await reviewInbox(store.db, 'O1', id);
          assert.deepEqual(owned.map((i) => i.identityKey), [`E1${suffix}`, `E2${suffix}`]);
          await decideReviewItems(deps, id, { reviewer: 'O1', itemIds: owned.map((i) => i.id), decision: 'keep', comment: 'incident still open', confirmed: true }, T0);
          const security = await reviewInbox(store.db, 'SEC1', id);
          assert.equal(security.length, 2, 'what the owner kept goes on to security');
          await decideReviewItems(deps, id, { reviewer: 'SEC1', itemIds: [security[0]!.id], decision: 'keep', comment: 'on call' }, T0);

          const held = await closeReviewCampaign(deps, id, 'cli:alice', T0);
          assert.equal(held.state, 'held');
          assert.deepEqual(held.outcome.heldBecause, ['no response would remove 1 privileged grant(s) nobody decided on']);
          assert.deepEqual(await admins(), [`uid=ann.one${suffix}`, `uid=bo.two${suffix}`], 'nothing removed while held');

          const released = await closeReviewCampaign(deps, id, 'cli:bob', T0, { release: true });
          assert.equal(released.state, 'applying');
          now = new Date(T0.getTime() + 60_000);
          const report = await apply();
          assert.deepEqual(report.changes.map((c) => `${c.kind} ${c.identityKey} ${c.entitlement} ${c.state}`), [`remove_grant E2${suffix} admins confirmed`]);
          assert.deepEqual(await admins(), [`uid=ann.one${suffix}`], 'the directory no longer lists the removed member');
          assert.deepEqual(await confirmReviewRemovals(store.db, id, 'test', now), { confirmed: 1, open: 0, state: 'complete' });
          const { json } = await exportCampaign(store.db, id);
          const removed = json.items.find((i) => i.identity === `E2${suffix}`)!;
          assert.deepEqual([removed.outcome, removed.outcomeBy, removed.removal], ['remove', 'no_response', 'confirmed']);
          assert.equal(json.campaign.releasedBy, 'cli:bob');
        } finally {
          await connectors.close();
        }
      } finally {
        await store.close();
      }
    });
  }
});
