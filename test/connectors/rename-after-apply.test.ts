/**
 * A renamed account against real systems (OpenLDAP, Samba AD, a SCIM server):
 * the rename is applied, and the plan computed right after apply — no
 * reconcile, no refresh — has nothing left for that identity, because the
 * observed snapshot follows the account to its new id. The directories are
 * read with their own clients, not through jml.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change as LdapChange } from 'ldapts';
import { executePlan } from '../../src/jobs/plan-executor.ts';
import { createPlanner } from '../../src/app/compute-plan.ts';
import { openPolicyConnectors } from '../../src/app/connectors-from-policy.ts';
import { reconcileSystem } from '../../src/app/reconcile.ts';
import { createKeyring, masterKey } from '../../src/connectors/secrets/index.ts';
import type { Plan } from '../../src/domain/change.ts';
import type { Store } from '../../src/store/open-store.ts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { sambaAdSkipReason, startSambaAd, type SambaAdPeer } from '../peers/samba-ad.ts';
import { startScimServer, type ScimServer } from '../peers/scim-server.ts';
import { testBackends } from '../support/backends.ts';
import { adminClient as admin } from '../support/directory-clients.ts';
import { person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';
import { addDirectoryGroups, addScimGroup, directorySettings, storePeerSecrets } from '../support/peer-systems.ts';

const skip = openLdapSkipReason() || sambaAdSkipReason();
const SYSTEMS = ['dir', 'ad', 'app'] as const;

describe('a rename on OpenLDAP, Samba AD and SCIM is observed right after apply', { skip }, () => {
  let ldap: OpenLdapPeer;
  let ad: SambaAdPeer;
  let scim: ScimServer;
  let store: Store;
  const dir = mkdtempSync(join(tmpdir(), 'jml-rename-'));
  const keyring = createKeyring(masterKey(randomBytes(32)));
  let policyDir = '';

  before(async () => {
    [ldap, ad, scim, store] = await Promise.all([startOpenLdap(), startSambaAd(), startScimServer(), testBackends()[0]!.open()]);
    await addDirectoryGroups(ldap, ['eng']);
    await addDirectoryGroups(ad, ['rename-eng']);
    await addScimGroup(scim, 'eng');
    policyDir = writePolicyDir({
      'systems.yaml': `systems:
  - name: dir
    connector: { type: ldap, settings: ${directorySettings(ldap, join(dir, 'ldap-ca.pem'))} }
    owner: "R0"
    enforcement: full
    correlation: { account: employeeNumber, identity: key }
    account:
      name: "{first_name|ascii|lower}.{last_name|ascii|lower}"
      attributes: { cn: "{first_name} {last_name}", sn: "{last_name}" }
  - name: ad
    connector: { type: ad, settings: ${directorySettings(ad, join(dir, 'ad-ca.pem'))} }
    owner: "R0"
    enforcement: full
    correlation: { account: employeeNumber, identity: key }
    account:
      name: "{first_name|ascii|lower}.{last_name|ascii|lower}"
      attributes: { cn: "{first_name} {last_name}", sn: "{last_name}" }
  - name: app
    connector: { type: scim, settings: ${scim.policySettings} }
    owner: "R0"
    enforcement: full
    correlation: { account: externalId, identity: key }
    account:
      name: "{first_name|ascii|lower}.{last_name|ascii|lower}"
      attributes: { name.familyName: "{last_name}" }
`,
      'entitlements.yaml': `entitlements:
  - { system: dir, name: eng }
  - { system: ad, name: rename-eng }
  - { system: app, name: eng }
`,
      'rules.yaml': `rules:
  - name: engineering
    when: { equals: { department: Engineering } }
    grant: { entitlements: ["dir:eng", "ad:rename-eng", "app:eng"] }
`,
    }, join(dir, 'policy'));
    await storePeerSecrets(store.db, keyring, { dir: ldap, ad, app: scim });
  });
  after(async () => {
    await store?.close();
    await Promise.all([ldap?.stop(), ad?.stop(), scim?.stop()]);
  });

  const planner = () => createPlanner({ db: store.db, config: { policy_dir: policyDir, timezone: 'UTC' }, actor: 'test' });
  const summary = (plan: Plan) => plan.changes.map((c) => `${c.identityKey} ${c.kind} ${c.system}${c.entitlement ? `:${c.entitlement}` : ''}`);

  /** Plans and applies once; with `reconcile`, reads every system afterwards (a field trial's daily run). */
  async function planAndApply(options: { reconcile: boolean }): Promise<Plan> {
    const p = planner();
    const { policy } = await p.loadPolicy();
    const connectors = await openPolicyConnectors({ db: store.db, policy, keyring: () => keyring, actor: 'test' });
    try {
      const { plan } = await p.compute();
      const report = await executePlan({
        store, actor: 'test', connectorFor: (s) => (s ? connectors.get(s) : undefined), tasksFor: (s) => connectors.tasksFor(s),
        options: { retry: { baseDelayMs: 50 } },
      }, plan, () => p.currentFingerprint());
      assert.deepEqual(report.changes.filter((c) => c.state !== 'confirmed' && c.state !== 'already'), [], 'every change confirmed');
      if (options.reconcile) {
        for (const system of SYSTEMS) await reconcileSystem({ db: store.db, policy, connectorFor: (s) => connectors.get(s), actor: 'test' }, system);
      }
      return plan;
    } finally {
      await connectors.close();
    }
  }

  test('a renamed identity has nothing planned right after apply, and each system holds the new name with its groups', async () => {
    await seedIdentities(store.db, [person('R1', { first_name: 'Ada', last_name: 'Lovelace', department: 'Engineering' })]);
    await planAndApply({ reconcile: true });
    assert.deepEqual(summary((await planner().compute()).plan), [], 'joined and reconciled');

    await seedIdentities(store.db, [person('R1', { first_name: 'Ada', last_name: 'King', department: 'Engineering' })]);
    const rename = await planAndApply({ reconcile: false });
    assert.deepEqual(summary(rename).sort(), ['R1 update_attributes ad', 'R1 update_attributes app', 'R1 update_attributes dir']);
    assert.equal(rename.changes.find((c) => c.system === 'dir')?.accountId, `uid=ada.lovelace,${ldap.usersOu}`);

    const next = await planner().compute();
    assert.deepEqual(summary(next.plan), [], 'the plan right after apply proposes nothing for the renamed identity');
    const observed = await store.db.selectFrom('observed_accounts').select(['system', 'account_id', 'name']).where('identity_key', '=', 'R1').orderBy('system').execute();
    assert.deepEqual(observed.map((r) => [r.system, r.account_id.toLowerCase(), r.name]), [
      ['ad', `cn=ada king,${ad.usersOu}`.toLowerCase(), 'ada.king'],
      ['app', observed.find((r) => r.system === 'app')!.account_id.toLowerCase(), 'ada.king'],
      ['dir', `uid=ada.king,${ldap.usersOu}`.toLowerCase(), 'ada.king'],
    ]);

    const l = await admin(ldap.ldapsUrl, ldap.caPem, ldap.bindDn, ldap.password);
    try {
      const { searchEntries } = await l.search(ldap.usersOu, { filter: '(employeeNumber=R1)', attributes: ['uid', 'cn', 'sn'] });
      assert.deepEqual(searchEntries.map((e) => [e.dn, e.uid, e.cn, e.sn]), [[`uid=ada.king,${ldap.usersOu}`, 'ada.king', 'Ada King', 'King']]);
      const group = await l.search(`cn=eng,${ldap.groupsOu}`, { scope: 'base', attributes: ['member'] });
      assert.deepEqual([group.searchEntries[0]!.member].flat(), [`uid=ada.king,${ldap.usersOu}`]);
    } finally {
      await l.unbind();
    }

    const a = await admin(ad.ldapsUrl, ad.caPem, ad.bindDn, ad.password);
    try {
      const { searchEntries } = await a.search(ad.usersOu, { filter: '(employeeNumber=R1)', attributes: ['sAMAccountName', 'userPrincipalName', 'memberOf'] });
      assert.equal(searchEntries.length, 1);
      const entry = searchEntries[0]!;
      assert.equal(entry.dn.toLowerCase(), `cn=ada king,${ad.usersOu}`.toLowerCase());
      assert.equal(entry.sAMAccountName, 'ada.king');
      assert.match(String(entry.userPrincipalName), /^ada\.king@/, 'the UPN jml derived from the login name follows the rename');
      assert.deepEqual([entry.memberOf].flat().map((g) => String(g).toLowerCase()), [`cn=rename-eng,${ad.groupsOu}`.toLowerCase()]);
    } finally {
      await a.unbind();
    }

    const users = (await scim.state.users()) as { id: string; externalId?: string; userName?: string; name?: { familyName?: string } }[];
    const user = users.find((u) => u.externalId === 'R1');
    assert.deepEqual([user?.userName, user?.name?.familyName], ['ada.king', 'King']);
    const groups = (await scim.state.groups()) as { displayName?: string; members?: { value: string }[] }[];
    assert.deepEqual(groups.find((g) => g.displayName === 'eng')?.members?.map((m) => m.value), [user!.id]);

    await planAndApply({ reconcile: true });
    assert.deepEqual(summary((await planner().compute()).plan), [], 'a reconcile afterwards agrees with what apply recorded');
  });

  test('in AD a userPrincipalName set by hand stays when a rename changes the login name', async () => {
    await seedIdentities(store.db, [person('R2', { first_name: 'Alan', last_name: 'Turing', department: 'Engineering' })]);
    await planAndApply({ reconcile: false });
    const a = await admin(ad.ldapsUrl, ad.caPem, ad.bindDn, ad.password);
    try {
      const upn = async () => (await a.search(ad.usersOu, { filter: '(employeeNumber=R2)', attributes: ['sAMAccountName', 'userPrincipalName'] })).searchEntries[0]!;
      const created = await upn();
      assert.match(String(created.userPrincipalName), /^alan\.turing@/);
      await a.modify(created.dn, new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'userPrincipalName', values: ['turing.by.hand@samdom.example.com'] }) }));

      await seedIdentities(store.db, [person('R2', { first_name: 'Alan', last_name: 'Turing-Smith', department: 'Engineering' })]);
      const rename = await planAndApply({ reconcile: false });
      assert.deepEqual(summary(rename).sort(), ['R2 update_attributes ad', 'R2 update_attributes app', 'R2 update_attributes dir']);
      const renamed = await upn();
      assert.deepEqual([renamed.sAMAccountName, renamed.userPrincipalName], ['alan.turing-smith', 'turing.by.hand@samdom.example.com']);
      assert.deepEqual(summary((await planner().compute()).plan), []);
    } finally {
      await a.unbind();
    }
  });
});
