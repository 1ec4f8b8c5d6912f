/**
 * End to end against real systems: HR import → plan → apply → accounts with
 * the right groups in OpenLDAP, Samba AD and a SCIM server; a mover's groups
 * change; a leaver is disabled everywhere (binds fail, SCIM active=false),
 * confirmed by read-back; an account made by hand is reported as an orphan;
 * a rehire's accounts come back with new passwords, never the old one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change as LdapChange, Client } from 'ldapts';
import { executePlan } from '../../src/jobs/plan-executor.ts';
import { createPlanner } from '../../src/app/compute-plan.ts';
import { loadConfig } from '../../src/app/config.ts';
import { openPolicyConnectors } from '../../src/app/connectors-from-policy.ts';
import { listFindings } from '../../src/app/findings-store.ts';
import { importSource } from '../../src/app/import-source.ts';
import { reconcileSystem } from '../../src/app/reconcile.ts';
import { adPassword } from '../../src/connectors/ldap/ldap-directory.ts';
import { createTaskStore } from '../../src/connectors/manual/task-store.ts';
import { createKeyring, masterKey } from '../../src/connectors/secrets/index.ts';
import type { Store } from '../../src/store/open-store.ts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { sambaAdSkipReason, startSambaAd, type SambaAdPeer } from '../peers/samba-ad.ts';
import { startScimServer, type ScimServer } from '../peers/scim-server.ts';
import { testBackends } from '../support/backends.ts';
import { adminClient as admin, canBind as bind } from '../support/directory-clients.ts';
import { writePolicyDir } from '../support/jml-fixture.ts';
import { addDirectoryGroups, addScimGroup, directorySettings, storePeerSecrets } from '../support/peer-systems.ts';

const skip = openLdapSkipReason() || sambaAdSkipReason();
const HEADER = 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status\n';
const person = (key: string, first: string, last: string, dept: string, end = '', status = 'active') =>
  `${key},${first},${last},${first.toLowerCase()}@example.com,${dept},Staff,,London,Full-time,2024-01-01,${end},${status}\n`;
const PASSWORD = 'Jml-E2e-Pass-42!';

describe('end to end: HR → plan → apply → OpenLDAP, Samba AD, SCIM', { skip }, () => {
  let ldap: OpenLdapPeer;
  let ad: SambaAdPeer;
  let scim: ScimServer;
  let store: Store;
  const dir = mkdtempSync(join(tmpdir(), 'jml-e2e-'));
  const keyring = createKeyring(masterKey(randomBytes(32)));
  let policyDir = '';

  before(async () => {
    [ldap, ad, scim, store] = await Promise.all([startOpenLdap(), startSambaAd(), startScimServer(), testBackends()[0]!.open()]);
    await addDirectoryGroups(ldap, ['staff', 'eng']);
    await addDirectoryGroups(ad, ['jml-staff', 'jml-eng']);
    for (const name of ['staff', 'eng']) await addScimGroup(scim, name);
    policyDir = writePolicyDir({
      'systems.yaml': `systems:
  - name: dir
    connector: { type: ldap, settings: ${directorySettings(ldap, join(dir, 'ldap-ca.pem'))} }
    owner: "3001"
    enforcement: full
    identity_provider: true
    correlation: { account: employeeNumber, identity: key }
    account:
      name: "{first_name|ascii|lower}.{last_name|ascii|lower}"
      attributes: { sn: "{last_name}", givenName: "{first_name}", mail: "{email}" }
  - name: ad
    connector: { type: ad, settings: ${directorySettings(ad, join(dir, 'ad-ca.pem'))} }
    owner: "3001"
    enforcement: full
    correlation: { account: employeeNumber, identity: key }
    account:
      name: "{first_name|ascii|lower}.{last_name|ascii|lower}"
      attributes: { sn: "{last_name}", givenName: "{first_name}" }
  - name: app
    connector: { type: scim, settings: ${scim.policySettings} }
    owner: "3001"
    enforcement: full
    correlation: { account: externalId, identity: key }
    account: { name: "{email}" }
`,
      'entitlements.yaml': `entitlements:\n${['dir', 'ad', 'app'].flatMap((s) => ['staff', 'eng'].map((e) => `  - { system: ${s}, name: ${s === 'ad' ? `jml-${e}` : e} }`)).join('\n')}\n`,
      'roles.yaml': `roles:
  - { name: staff, inducements: [{ entitlement: "dir:staff" }, { entitlement: "ad:jml-staff" }, { entitlement: "app:staff" }] }
  - { name: engineer, inducements: [{ entitlement: "dir:eng" }, { entitlement: "ad:jml-eng" }, { entitlement: "app:eng" }] }
`,
      'rules.yaml': `rules:
  - { name: everyone, when: { kind: [employee] }, grant: { roles: [staff] } }
  - { name: engineering, when: { equals: { department: Engineering } }, grant: { roles: [engineer] } }
`,
    }, join(dir, 'policy'));
    await storePeerSecrets(store.db, keyring, { dir: ldap, ad, app: scim });
  });
  after(async () => {
    await store?.close();
    await Promise.all([ldap?.stop(), ad?.stop(), scim?.stop()]);
  });

  async function importHr(rows: string, asOf: string): Promise<void> {
    writeFileSync(join(dir, 'hr.csv'), HEADER + rows);
    const config = await loadConfig({ policyDir, dataDir: join(dir, 'unused') }, {});
    const result = await importSource({ db: store.db, config }, { source: 'hr', file: join(dir, 'hr.csv'), asOf, actor: 'e2e', now: new Date(`${asOf}T12:00:00Z`) });
    assert.equal(result.status, 'applied', JSON.stringify(result.errors));
  }

  /**
   * Plan, apply, reconcile every system; returns the plan's changes as `identity kind system[:entitlement]`.
   * `applying`: some changes wait for people (tasks), none failed.
   */
  async function converge(expected: 'applied' | 'applying' = 'applied'): Promise<string[]> {
    const planner = createPlanner({ db: store.db, config: { policy_dir: policyDir, timezone: 'UTC' }, actor: 'e2e' });
    const { policy } = await planner.loadPolicy();
    const connectors = await openPolicyConnectors({ db: store.db, policy, keyring: () => keyring, actor: 'e2e' });
    try {
      const { plan } = await planner.compute();
      const report = await executePlan({
        store, actor: 'e2e', connectorFor: (s) => (s ? connectors.get(s) : undefined), tasksFor: (s) => connectors.tasksFor(s),
        options: { retry: { baseDelayMs: 50 } },
      }, plan, () => planner.currentFingerprint());
      const unsettled = report.changes.filter((c) => c.state !== 'confirmed' && c.state !== 'already');
      assert.equal(report.status, expected, JSON.stringify(unsettled));
      assert.deepEqual(unsettled.filter((c) => c.state !== 'pending' && c.state !== 'waiting'), [], 'nothing failed');
      for (const system of ['dir', 'ad', 'app']) await reconcileSystem({ db: store.db, policy, connectorFor: (s) => connectors.get(s), actor: 'e2e' }, system);
      return plan.changes.map((c) => `${c.identityKey} ${c.kind} ${c.system}${c.entitlement ? `:${c.entitlement}` : ''}`);
    } finally {
      await connectors.close();
    }
  }

  async function groupsOf(identityKey: string): Promise<Record<string, string[]>> {
    const rows = await store.db.selectFrom('observed_grants').innerJoin('observed_accounts', (j) => j.onRef('observed_accounts.run_id', '=', 'observed_grants.run_id').onRef('observed_accounts.account_id', '=', 'observed_grants.account_id'))
      .select(['observed_grants.system', 'observed_grants.entitlement']).where('observed_accounts.identity_key', '=', identityKey).execute();
    const out: Record<string, string[]> = { dir: [], ad: [], app: [] };
    for (const r of rows) out[r.system]!.push(r.entitlement);
    for (const list of Object.values(out)) list.sort();
    return out;
  }

  test('joiners get accounts with their groups in all three systems, and a second plan has nothing to do', async () => {
    await importHr(person('2001', 'Ada', 'Lovelace', 'Engineering') + person('2002', 'Alan', 'Turing', 'Finance') + person('3001', 'Grace', 'Owner', 'IT'), '2026-03-01');
    const changes = await converge();
    assert.ok(changes.includes('2001 create_account dir') && changes.includes('2001 add_grant app:eng'), changes.join('\n'));
    assert.deepEqual(await groupsOf('2001'), { dir: ['eng', 'staff'], ad: ['jml-eng', 'jml-staff'], app: ['eng', 'staff'] });
    assert.deepEqual(await groupsOf('2002'), { dir: ['staff'], ad: ['jml-staff'], app: ['staff'] });
    assert.deepEqual(await converge(), [], 'applied and reconciled: nothing left to do');
  });

  test("a mover's groups follow the department", async () => {
    await importHr(person('2001', 'Ada', 'Lovelace', 'Finance') + person('2002', 'Alan', 'Turing', 'Engineering') + person('3001', 'Grace', 'Owner', 'IT'), '2026-03-02');
    const changes = await converge();
    assert.ok(changes.includes('2001 remove_grant dir:eng') && changes.includes('2002 add_grant ad:jml-eng'), changes.join('\n'));
    assert.deepEqual(await groupsOf('2001'), { dir: ['staff'], ad: ['jml-staff'], app: ['staff'] });
    assert.deepEqual(await groupsOf('2002'), { dir: ['eng', 'staff'], ad: ['jml-eng', 'jml-staff'], app: ['eng', 'staff'] });
  });

  test('a leaver is disabled everywhere: binds fail and SCIM says active=false', async () => {
    const ldapDn = `uid=ada.lovelace,${ldap.usersOu}`;
    const adDn = (await store.db.selectFrom('observed_accounts').select('account_id').where('system', '=', 'ad').where('identity_key', '=', '2001').executeTakeFirstOrThrow()).account_id;
    const l = await admin(ldap.ldapsUrl, ldap.caPem, ldap.bindDn, ldap.password);
    await l.modify(ldapDn, new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: [PASSWORD] }) }));
    await l.unbind();
    const a = await admin(ad.ldapsUrl, ad.caPem, ad.bindDn, ad.password);
    await a.modify(adDn, new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [adPassword(PASSWORD)] }) }));
    await a.unbind();
    assert.equal(await bind(ldap.ldapsUrl, ldap.caPem, ldapDn, PASSWORD), true);
    assert.equal(await bind(ad.ldapsUrl, ad.caPem, adDn, PASSWORD), true);

    await importHr(person('2001', 'Ada', 'Lovelace', 'Finance', '2026-03-02', 'terminated') + person('2002', 'Alan', 'Turing', 'Engineering') + person('3001', 'Grace', 'Owner', 'IT'), '2026-03-03');
    // LDAP cannot end sessions: that step is a task for the directory's owner, and the accounts behind it wait.
    const first = await converge('applying');
    assert.ok(first.includes('2001 disable_account dir') && first.includes('2001 revoke_sessions dir'), first.join('\n'));
    assert.equal(await bind(ldap.ldapsUrl, ldap.caPem, ldapDn, PASSWORD), false, 'OpenLDAP refuses the leaver: the identity provider goes first');
    assert.equal(await bind(ad.ldapsUrl, ad.caPem, adDn, PASSWORD), true, 'AD waits until the sessions are ended');
    const tasks = createTaskStore({ db: store.db });
    // Tasks that deliver a first password (docs/connectors.md) are not leaver steps.
    const [task, ...others] = (await tasks.listTasks({ identityKey: '2001', status: 'open' })).filter((t) => t.change.credentialId === undefined);
    assert.deepEqual(others, []);
    assert.deepEqual([task?.kind, task?.system, task?.owner], ['revoke_sessions', 'dir', '3001']);
    await tasks.closeTask(task!.id, { doneBy: '3001', doneAt: new Date().toISOString(), note: 'signed Ada out of every session' }, '3001');

    const changes = await converge();
    for (const s of ['ad', 'app']) assert.ok(changes.includes(`2001 disable_account ${s}`), changes.join('\n'));
    assert.equal(await bind(ldap.ldapsUrl, ldap.caPem, ldapDn, PASSWORD), false, 'OpenLDAP refuses the leaver');
    assert.equal(await bind(ad.ldapsUrl, ad.caPem, adDn, PASSWORD), false, 'AD refuses the leaver');
    const users = (await scim.state.users()) as { externalId?: string; active?: boolean }[];
    assert.equal(users.find((u) => u.externalId === '2001')?.active, false);
    const enabled = await store.db.selectFrom('observed_accounts').select('system').where('identity_key', '=', '2001').where('enabled', '=', true).execute();
    assert.deepEqual(enabled, [], 'the read-back snapshot shows every account disabled');
  });

  test('an account created by hand in the directory is reported as an orphan', async () => {
    const l = await admin(ldap.ldapsUrl, ldap.caPem, ldap.bindDn, ldap.password);
    await l.add(`uid=intruder,${ldap.usersOu}`, { objectClass: 'inetOrgPerson', uid: 'intruder', cn: 'Intruder', sn: 'Intruder', employeeNumber: '9999' });
    await l.unbind();
    await converge();
    const orphans = await listFindings(store.db, { state: 'open', system: 'dir', kind: 'orphan_account' });
    assert.deepEqual(orphans.map((f) => f.accountId?.toLowerCase()), [`uid=intruder,${ldap.usersOu}`.toLowerCase()]);
    const stillThere = await bind(ldap.ldapsUrl, ldap.caPem, ldap.bindDn, ldap.password);
    assert.equal(stillThere, true);
  });

  test('a rehire gets their accounts back but not their old password: new ones reach the system owner once, and AD wants it changed', async () => {
    const ldapDn = `uid=ada.lovelace,${ldap.usersOu}`;
    const adDn = (await store.db.selectFrom('observed_accounts').select('account_id').where('system', '=', 'ad').where('identity_key', '=', '2001').executeTakeFirstOrThrow()).account_id;
    const rehired = '2001,Ada,Lovelace,ada@example.com,Finance,Staff,,London,Full-time,2026-03-10,,active\n';
    await importHr(rehired + person('2002', 'Alan', 'Turing', 'Engineering') + person('3001', 'Grace', 'Owner', 'IT'), '2026-03-10');
    const since = new Date().toISOString();
    const changes = await converge();
    for (const s of ['dir', 'ad', 'app']) assert.ok(changes.includes(`2001 enable_account ${s}`), changes.join('\n'));
    assert.equal(await bind(ldap.ldapsUrl, ldap.caPem, ldapDn, PASSWORD), false, 'OpenLDAP refuses the pre-leaver password');
    assert.equal(await bind(ad.ldapsUrl, ad.caPem, adDn, PASSWORD), false, 'AD refuses the pre-leaver password');

    const planner = createPlanner({ db: store.db, config: { policy_dir: policyDir, timezone: 'UTC' }, actor: 'e2e' });
    const connectors = await openPolicyConnectors({ db: store.db, policy: (await planner.loadPolicy()).policy, keyring: () => keyring, actor: 'e2e' }, []);
    const deliveries = (await createTaskStore({ db: store.db }).listTasks({ identityKey: '2001', status: 'open' })).filter((t) => t.change.credentialId !== undefined && t.createdAt >= since);
    assert.deepEqual(deliveries.map((t) => [t.system, t.owner]).sort(), [['ad', '3001'], ['dir', '3001']], 'one delivery per directory, to the system owner (Ada has no manager)');
    const reveal = async (system: string) => (await connectors.initialCredentials.revealForTask(deliveries.find((t) => t.system === system)!.id, { actor: '3001', identityKey: '3001' })).reveal();
    assert.equal(await bind(ldap.ldapsUrl, ldap.caPem, ldapDn, await reveal('dir')), true);
    const client = new Client({ url: ad.ldapsUrl, tlsOptions: { ca: [ad.caPem] } });
    await assert.rejects(client.bind(adDn, await reveal('ad')), /data 773/, 'the right password, which AD wants changed before anything else');
    await client.unbind().catch(() => undefined);
  });
});
