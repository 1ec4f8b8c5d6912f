/**
 * The quarterly manager review end to end against a real OpenLDAP, on both
 * backends, run by the scheduler: the worker starts the quarter's campaign at
 * midnight in the organisation's zone; the manager removes one report's
 * `eng` membership and does not answer for the other's; at the end of the
 * campaign no-response `remove` takes the second one too, within the cap; the
 * normal plan removes both members from the group and reads them back;
 * `ldapsearch` no longer lists them; the scheduler confirms both and the export
 * shows one removal by decision and one by no response, both confirmed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { executePlan } from '../../src/jobs/plan-executor.ts';
import { createPlanner } from '../../src/app/compute-plan.ts';
import { openPolicyConnectors } from '../../src/app/connectors-from-policy.ts';
import { reconcileSystem } from '../../src/app/reconcile.ts';
import { decideReviewItems } from '../../src/app/reviews/review-campaigns.ts';
import { exportCampaign } from '../../src/app/reviews/review-export.ts';
import { reviewInbox } from '../../src/app/reviews/review-queries.ts';
import { runReviewSchedule } from '../../src/app/reviews/review-scheduler.ts';
import { createKeyring, masterKey } from '../../src/connectors/secrets/index.ts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { testBackends } from '../support/backends.ts';
import { person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';
import { addDirectoryGroups, directorySettings, storePeerSecrets } from '../support/peer-systems.ts';

const TZ = 'Europe/Paris';

/** The `eng` group's members, as the directory's own client shows them (uid RDNs of this backend's people). */
function engMembers(ldap: OpenLdapPeer, suffix: string): string[] {
  const out = execFileSync('ldapsearch', ['-x', '-LLL', '-o', 'ldif-wrap=no', '-H', ldap.url, '-D', ldap.bindDn, '-w', ldap.password, '-b', ldap.groupsOu, '(cn=eng)', 'member'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.startsWith('member: ')).map((l) => l.slice('member: '.length).split(',')[0]!.toLowerCase()).filter((rdn) => rdn.startsWith('uid=') && rdn.endsWith(suffix)).sort();
}

describe('the quarterly manager review on OpenLDAP', { skip: openLdapSkipReason() }, () => {
  let ldap: OpenLdapPeer;
  before(async () => {
    ldap = await startOpenLdap();
    await addDirectoryGroups(ldap, ['staff', 'eng']);
  });
  after(async () => { await ldap?.stop(); });

  for (const backend of testBackends()) {
    test(`the manager removes one membership, no response removes the other within the cap, ldapsearch shows both gone and the export shows both confirmed (${backend.name})`, { timeout: 240_000 }, async () => {
      const store = await backend.open();
      const keyring = createKeyring(masterKey(randomBytes(32)));
      const dir = mkdtempSync(join(tmpdir(), 'jml-reviews-manager-ldap-'));
      const suffix = `m${backend.name.slice(0, 2)}`;
      const policyDir = writePolicyDir({
        'systems.yaml': `systems:
  - name: dir
    connector: { type: ldap, settings: ${directorySettings(ldap, join(dir, 'ca.pem'))} }
    owner: "M1"
    enforcement: relative
    correlation: { account: employeeNumber, identity: key }
    account:
      name: "{first_name|ascii|lower}.{last_name|ascii|lower}"
      attributes: { sn: "{last_name}", givenName: "{first_name}" }
`,
        'entitlements.yaml': 'entitlements:\n  - { system: dir, name: staff }\n  - { system: dir, name: eng }\n',
        'rules.yaml': 'rules:\n  - { name: everyone, when: { kind: [employee] }, grant: { entitlements: ["dir:staff"] } }\n',
        'reviews.yaml': `reviews:
  - name: quarterly-managers
    scope: { entitlements: ["dir:eng"] }
    stages: [manager]
    recurrence: { every_months: 3, from: 2027-01-01 }
    duration_days: 14
    no_response: remove
    cap: { max_percent: 50, hold_privileged: true }
`,
      }, join(dir, 'policy'));
      let now = new Date('2026-12-31T23:00:00Z'); // 1 January 2027, 00:00 in Paris
      try {
        await storePeerSecrets(store.db, keyring, { dir: ldap });
        const [e1, e2] = [`E1${suffix}`, `E2${suffix}`];
        await seedIdentities(store.db, [person('M1'), person(e1, { first_name: 'Ann', last_name: `One${suffix}`, manager: 'M1' }), person(e2, { first_name: 'Bo', last_name: `Two${suffix}`, manager: 'M1' })]);
        const grant = (id: string, key: string) => ({ id, identity_key: key, system: 'dir', entitlement: 'eng', reason_type: 'exception' as const, reason: JSON.stringify({ type: 'exception', exceptionId: id, justification: 'project work' }), created_by: 'M1' });
        await store.db.insertInto('assignments').values([grant(`R1${suffix}`, e1), grant(`R2${suffix}`, e2)]).execute();
        const planner = createPlanner({ db: store.db, config: { policy_dir: policyDir, timezone: TZ }, actor: 'test', now: () => now });
        const policy = (await planner.loadPolicy()).policy;
        const connectors = await openPolicyConnectors({ db: store.db, policy, keyring: () => keyring, actor: 'test' });
        const apply = async () => executePlan({ store, actor: 'test', now: () => now, connectorFor: (s) => (s ? connectors.get(s) : undefined), tasksFor: (s) => connectors.tasksFor(s) }, (await planner.compute()).plan, () => planner.currentFingerprint());
        const replanned: string[][] = [];
        const deps = { db: store.db, planner, timeZone: TZ, replan: async (keys: readonly string[]) => void replanned.push([...keys]) };
        try {
          await apply();
          await reconcileSystem({ db: store.db, policy, connectorFor: (s) => connectors.get(s), actor: 'test', now: () => now }, 'dir');
          assert.deepEqual(engMembers(ldap, suffix), [`uid=ann.one${suffix}`, `uid=bo.two${suffix}`]);

          const start = await runReviewSchedule(deps, now);
          assert.deepEqual(start.started.map((s) => [s.review, s.period, s.items]), [['quarterly-managers', '2027-01-01', 2]]);
          const id = start.started[0]!.id;
          now = new Date('2027-01-05T10:00:00Z');
          const inbox = await reviewInbox(store.db, 'M1', id);
          assert.deepEqual(inbox.map((i) => i.identityKey), [e1, e2]);
          await decideReviewItems(deps, id, { reviewer: 'M1', itemIds: [inbox[0]!.id], decision: 'remove', comment: 'moved to sales' }, now);

          now = new Date('2027-01-14T23:00:00Z'); // the end of the campaign's last day in Paris
          const closing = await runReviewSchedule(deps, now);
          assert.deepEqual(closing.closed, [{ id, state: 'applying' }], 'within the cap: one no-response removal of two items is 50 %');
          assert.deepEqual(replanned, [[e1, e2]]);
          const report = await apply();
          assert.deepEqual(report.changes.map((c) => `${c.kind} ${c.identityKey} ${c.entitlement} ${c.state}`).sort(), [`remove_grant ${e1} eng confirmed`, `remove_grant ${e2} eng confirmed`]);
          assert.deepEqual(engMembers(ldap, suffix), [], 'ldapsearch lists neither member');

          now = new Date('2027-01-15T02:00:00Z');
          await reconcileSystem({ db: store.db, policy, connectorFor: (s) => connectors.get(s), actor: 'test', now: () => now }, 'dir');
          assert.equal((await runReviewSchedule(deps, now)).confirmed, 2);
          const { json, csv } = await exportCampaign(store.db, id);
          assert.equal(json.campaign.state, 'complete');
          assert.deepEqual(json.items.map((i) => [i.identity, i.outcome, i.outcomeBy, i.removal, i.decisions.map((d) => `${d.reviewer} ${d.decision} ${d.comment}`)]), [
            [e1, 'remove', 'decision', 'confirmed', ['M1 remove moved to sales']],
            [e2, 'remove', 'no_response', 'confirmed', []],
          ]);
          assert.equal(csv.split(/\r?\n/).filter((l) => l.includes(',confirmed,')).length, 2, 'both rows of the CSV show the confirmation');
        } finally {
          await connectors.close();
        }
      } finally {
        await store.close();
      }
    });
  }
});
