/**
 * The field trial, as a person runs it: a jml.config.yaml and a policy
 * directory written from the docs, three HR days imported with the real `jml`
 * CLI, planned and applied against a real OpenLDAP, a Samba AD DC and a SCIM
 * server, then an apply with the directory stopped. Every outcome is checked
 * with the systems' own view (ldapts searches and binds, HTTP to the SCIM
 * server), never through jml.
 *
 * Day 1 (2026-11-16): joiners, one in a department whose group exists nowhere
 * (jml creates it from `dept-{department|slug}`); a contractor's leave on
 * 2026-11-30 is scheduled. Day 2 (2026-12-02): a rename, the due leaver
 * applied by this import, an orphan made by hand disabled under full
 * enforcement. Day 3 (2026-12-04): the leaver is rehired and the password
 * they had before leaving is refused. Then the outage.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change as LdapChange, type Client } from 'ldapts';
import { adPassword } from '../../src/connectors/ldap/ldap-directory.ts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { sambaAdSkipReason, startSambaAd, type SambaAdPeer } from '../peers/samba-ad.ts';
import { startScimServer, type ScimServer } from '../peers/scim-server.ts';
import { asAdmin, canBind } from '../support/directory-clients.ts';
import { HR_HEADER, hrRow, type Person } from '../support/hr-files.ts';
import { writePolicyDir } from '../support/jml-fixture.ts';
import { addDirectoryGroups, addScimGroup, directorySettings } from '../support/peer-systems.ts';
import { runCli } from '../support/run-cli.ts';

const skip = openLdapSkipReason() || sambaAdSkipReason();
const SYSTEMS = ['dir', 'ad', 'app'] as const;
const OLD_PASSWORD = 'Before-Leaving-42!';
const NEW_GROUP = 'dept-research-development';

const owner: Person = { id: '1001', first: 'Grace', last: 'Owner', department: 'Engineering' };
const ada: Person = { id: '2001', first: 'Ada', last: 'Lovelace', department: 'Engineering' };
const alan: Person = { id: '2002', first: 'Alan', last: 'Turing', department: 'Research & Development' };
const carl: Person = { id: '2003', first: 'Carl', last: 'Contract', department: 'Engineering', type: 'Contractor', manager: '1001', end: '2026-11-30' };

interface PlannedChange { readonly kind: string; readonly system: string; readonly identityKey: string; readonly entitlement?: string; readonly accountId?: string }

describe('field trial: three HR days and an outage through the jml CLI, against OpenLDAP, Samba AD and SCIM', { skip }, () => {
  let ldap: OpenLdapPeer;
  let ad: SambaAdPeer;
  let scim: ScimServer;
  const dir = mkdtempSync(join(tmpdir(), 'jml-field-trial-'));
  const env = { JML_ACTOR: 'oncall', JML_MASTER_KEY: randomBytes(32).toString('base64'), JML_CONFIG: undefined, JML_DATA_DIR: undefined, JML_POLICY_DIR: undefined };

  async function jml(args: readonly string[], input?: string) {
    const started = Date.now();
    const run = await runCli(args, { cwd: dir, env, ...(input === undefined ? {} : { input }) });
    return { ...run, ms: Date.now() - started };
  }
  async function ok(args: readonly string[], input?: string) {
    const run = await jml(args, input);
    assert.equal(run.code, 0, `jml ${args.join(' ')}\n${run.stdout}\n${run.stderr}`);
    return run;
  }
  async function importHr(day: string, people: readonly Person[]) {
    const file = join(dir, `hr-${day}.csv`);
    writeFileSync(file, [HR_HEADER, ...people.map(hrRow)].join('\n') + '\n');
    return ok(['import', 'hr', file, '--as-of', day]);
  }
  async function planned(): Promise<PlannedChange[]> {
    return (JSON.parse((await ok(['plan', '--json'])).stdout) as { plan: { changes: PlannedChange[] } }).plan.changes;
  }
  const lines = (changes: readonly PlannedChange[]) => changes.map((c) => `${c.identityKey} ${c.kind} ${c.system}${c.entitlement ? `:${c.entitlement}` : ''}`);
  async function apply(label: string, t: { diagnostic(message: string): void }) {
    const run = await jml(['apply', '--yes']);
    t.diagnostic(`apply (${label}): ${run.ms} ms, exit ${run.code}`);
    const all = run.stdout.trimEnd().split('\n');
    const first = all.findIndex((l) => /^(resumed )?plan \S+: \w+ —/.test(l));
    for (const line of all.slice(Math.max(first, 0))) t.diagnostic(`  ${line}`);
    return run;
  }

  const openLdap = <T>(fn: (c: Client) => Promise<T>): Promise<T> => asAdmin(ldap, fn);
  const samba = <T>(fn: (c: Client) => Promise<T>): Promise<T> => asAdmin(ad, fn);
  async function scimGet<T>(path: string): Promise<T> {
    const res = await fetch(`${scim.url}${path}`, { headers: { authorization: `Bearer ${scim.token}` } });
    assert.equal(res.status, 200, `GET ${path}`);
    return (await res.json()) as T;
  }
  async function ldapUsers() {
    return openLdap(async (c) => (await c.search(ldap.usersOu, { scope: 'one', filter: '(objectClass=inetOrgPerson)', attributes: ['uid', 'employeeNumber', 'pwdAccountLockedTime', 'pwdReset', 'memberOf'], paged: { pageSize: 1000 } })).searchEntries);
  }
  async function ldapMembers(group: string): Promise<string[]> {
    return openLdap(async (c) => {
      const found = await c.search(ldap.groupsOu, { scope: 'one', filter: `(cn=${group})`, attributes: ['member'] });
      assert.equal(found.searchEntries.length, 1, `one OpenLDAP group ${group}`);
      return [found.searchEntries[0]!.member].flat().map((m) => String(m).toLowerCase()).filter((m) => m.endsWith(ldap.usersOu.toLowerCase()));
    });
  }
  async function adUser(sam: string) {
    return samba(async (c) => (await c.search(ad.baseDn, { filter: `(&(objectClass=user)(sAMAccountName=${sam}))`, attributes: ['distinguishedName', 'userAccountControl', 'pwdLastSet', 'userPrincipalName', 'memberOf', 'employeeNumber'] })).searchEntries[0]);
  }
  async function adGroupExists(name: string): Promise<boolean> {
    return samba(async (c) => (await c.search(ad.baseDn, { filter: `(&(objectClass=group)(sAMAccountName=${name}))`, attributes: ['cn'] })).searchEntries.length === 1);
  }
  type ScimUser = { id: string; userName: string; externalId?: string; active?: boolean };
  async function scimUsers(): Promise<ScimUser[]> {
    return (await scimGet<{ Resources: ScimUser[] }>('/Users?count=200')).Resources;
  }
  /** Every SCIM group with this display name (one, unless something was created twice). */
  async function scimGroup(name: string) {
    return (await scimGet<{ Resources: { id: string; displayName: string; members?: { value: string }[] }[] }>('/Groups?count=200')).Resources.filter((g) => g.displayName === name);
  }

  before(async () => {
    [ldap, ad, scim] = await Promise.all([startOpenLdap(), startSambaAd(), startScimServer()]);
    // The department that exists before jml: a group in each system, made by hand as an admin would.
    await addDirectoryGroups(ldap, ['dept-engineering']);
    await addDirectoryGroups(ad, ['dept-engineering']);
    await addScimGroup(scim, 'dept-engineering');

    writeFileSync(join(dir, 'jml.config.yaml'), 'timezone: UTC\ndata_dir: data\npolicy_dir: policy\n');
    writePolicyDir({
      'systems.yaml': `systems:
  - name: dir
    connector: { type: ldap, settings: ${directorySettings(ldap, join(dir, 'ldap-ca.pem'))} }
    owner: "1001"
    enforcement: full
    correlation: { account: employeeNumber, identity: key }
    orphans: { disable_after_days: 0 }
    account:
      name: "{first_name|ascii|lower}.{last_name|ascii|lower}"
      attributes: { cn: "{first_name} {last_name}", sn: "{last_name}", givenName: "{first_name}", mail: "{email}" }
  - name: ad
    connector: { type: ad, settings: ${directorySettings(ad, join(dir, 'ad-ca.pem'))} }
    owner: "1001"
    enforcement: full
    correlation: { account: employeeNumber, identity: key }
    account:
      name: "{first_name|ascii|lower}.{last_name|ascii|lower}"
      attributes: { cn: "{first_name} {last_name}", sn: "{last_name}", givenName: "{first_name}" }
  - name: app
    connector: { type: scim, settings: ${scim.policySettings} }
    owner: "1001"
    enforcement: full
    correlation: { account: externalId, identity: key }
    account:
      name: "{first_name|ascii|lower}.{last_name|ascii|lower}"
      attributes: { name.familyName: "{last_name}" }
`,
      'entitlements.yaml': `entitlements:
${SYSTEMS.map((s) => `  - system: ${s}
    name: dept-{department|slug}
    description: Members of {department}
    create_missing: true`).join('\n')}
`,
      'rules.yaml': `rules:
  - name: department-group
    when: { exists: department }
    grant: { entitlements: [${SYSTEMS.map((s) => `"${s}:dept-{department|slug}"`).join(', ')}] }
`,
    }, join(dir, 'policy'));
    await ok(['secret', 'set', 'dir', 'bind_password'], `${ldap.password}\n`);
    await ok(['secret', 'set', 'ad', 'bind_password'], `${ad.password}\n`);
    await ok(['secret', 'set', 'app', 'token'], `${scim.token}\n`);
  });
  after(async () => {
    await Promise.all([ldap?.stop(), ad?.stop(), scim?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('day 1: joiners get accounts and their department group everywhere; jml creates the new department group in all three systems; the contractor leave is scheduled', async (t) => {
    // A new installation first reads what the systems hold.
    for (const system of SYSTEMS) await ok(['reconcile', system]);
    const imported = await importHr('2026-11-16', [owner, ada, alan, carl]);
    assert.match(imported.stdout, /leaver +2003 +effective 2026-11-30/);
    const changes = await planned();
    const creates = lines(changes.filter((c) => c.kind === 'create_group'));
    assert.deepEqual(creates.map((l) => l.replace(/^\S+ /, '')).sort(), SYSTEMS.map((s) => `create_group ${s}:${NEW_GROUP}`).sort(), lines(changes).join('\n'));
    assert.equal((await apply('day 1', t)).code, 0);

    assert.deepEqual((await ldapUsers()).map((e) => String(e.uid)).sort(), ['ada.lovelace', 'alan.turing', 'carl.contract', 'grace.owner']);
    assert.deepEqual(await ldapMembers(NEW_GROUP), [`uid=alan.turing,${ldap.usersOu}`.toLowerCase()]);
    assert.equal((await ldapMembers('dept-engineering')).length, 3);
    assert.equal(await adGroupExists(NEW_GROUP), true, 'the AD group jml created');
    assert.match(String([(await adUser('alan.turing'))?.memberOf].flat()), new RegExp(`CN=${NEW_GROUP},`, 'i'));
    const groups = await scimGroup(NEW_GROUP);
    assert.equal(groups.length, 1, 'one SCIM group for the new department');
    const alanInApp = (await scimUsers()).find((u) => u.userName === 'alan.turing');
    assert.deepEqual(groups[0]!.members?.map((m) => m.value), [alanInApp?.id]);

    const shown = JSON.parse((await ok(['identity', carl.id, '--json'])).stdout) as { identity: { status: string; endDate: string | null } };
    assert.deepEqual([shown.identity.status, shown.identity.endDate], ['active', '2026-11-30'], 'still active, leave scheduled');

    // The contractor's own password, set in the directories before the leave.
    await openLdap((c) => c.modify(`uid=carl.contract,${ldap.usersOu}`, new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: [OLD_PASSWORD] }) })));
    const carlAd = String((await adUser('carl.contract'))!.distinguishedName);
    await samba((c) => c.modify(carlAd, new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [adPassword(OLD_PASSWORD)] }) })));
    assert.equal(await canBind(ldap.ldapsUrl, ldap.caPem, `uid=carl.contract,${ldap.usersOu}`, OLD_PASSWORD), true);
    assert.equal(await canBind(ad.ldapsUrl, ad.caPem, carlAd, OLD_PASSWORD), true);
  });

  test('day 2: a rename leaves nothing to plan right after apply on all three systems, the due leaver is disabled by this import, and an orphan made by hand is disabled with its finding resolved', async (t) => {
    await openLdap((c) => c.add(`uid=intruder,${ldap.usersOu}`, { objectClass: 'inetOrgPerson', uid: 'intruder', cn: 'Intruder', sn: 'Intruder', employeeNumber: '9999', userPassword: OLD_PASSWORD }));
    assert.equal(await canBind(ldap.ldapsUrl, ldap.caPem, `uid=intruder,${ldap.usersOu}`, OLD_PASSWORD), true);
    await ok(['reconcile', 'dir']);
    const orphan = (JSON.parse((await ok(['findings', '--json', '--system', 'dir', '--kind', 'orphan_account'])).stdout) as { id: string; accountId: string | null }[]);
    assert.deepEqual(orphan.map((f) => f.accountId?.toLowerCase()), [`uid=intruder,${ldap.usersOu}`.toLowerCase()]);

    const imported = await importHr('2026-12-02', [owner, { ...ada, last: 'Byron' }, alan, carl]);
    assert.match(imported.stdout, /1 scheduled event\(s\) took effect as of 2026-12-02/);
    const shown = JSON.parse((await ok(['identity', carl.id, '--json'])).stdout) as { identity: { status: string } };
    assert.equal(shown.identity.status, 'left', 'the leave due on 2026-11-30 is applied by the import as of 2026-12-02');

    const changes = await planned();
    const summary = lines(changes);
    for (const s of SYSTEMS) assert.ok(summary.includes(`${carl.id} disable_account ${s}`), summary.join('\n'));
    assert.ok(changes.some((c) => c.kind === 'disable_account' && c.system === 'dir' && c.accountId?.toLowerCase() === `uid=intruder,${ldap.usersOu}`.toLowerCase()), summary.join('\n'));
    for (const s of SYSTEMS) assert.ok(changes.some((c) => c.identityKey === ada.id && c.system === s), `a change renames Ada in ${s}\n${summary.join('\n')}`);
    assert.equal((await apply('day 2', t)).code, 0);

    const after = await planned();
    assert.deepEqual(lines(after.filter((c) => c.identityKey === ada.id)), [], 'nothing left for the renamed identity right after apply, without --refresh');
    assert.deepEqual(lines(after), [], 'nothing left at all');

    // The rename, as each system shows it: the new name only, still in its group.
    const uids = (await ldapUsers()).map((e) => String(e.uid));
    assert.ok(uids.includes('ada.byron') && !uids.includes('ada.lovelace'), uids.join(', '));
    assert.ok((await ldapMembers('dept-engineering')).includes(`uid=ada.byron,${ldap.usersOu}`.toLowerCase()));
    const adaAd = await adUser('ada.byron');
    assert.ok(adaAd, 'AD holds ada.byron');
    assert.equal(await adUser('ada.lovelace'), undefined);
    assert.match(String([adaAd.memberOf].flat()), /CN=dept-engineering,/i);
    assert.match(String(adaAd.userPrincipalName), /^ada\.byron@/i, 'the UPN follows the account template');
    const users = await scimUsers();
    const adaApp = users.filter((u) => u.externalId === ada.id);
    assert.deepEqual(adaApp.map((u) => u.userName), ['ada.byron']);
    assert.ok((await scimGroup('dept-engineering'))[0]!.members?.some((m) => m.value === adaApp[0]!.id));

    // The leaver: refused by both directories, inactive in the app.
    assert.equal(await canBind(ldap.ldapsUrl, ldap.caPem, `uid=carl.contract,${ldap.usersOu}`, OLD_PASSWORD), false);
    assert.equal(await canBind(ad.ldapsUrl, ad.caPem, String((await adUser('carl.contract'))!.distinguishedName), OLD_PASSWORD), false);
    assert.equal(users.find((u) => u.externalId === carl.id)?.active, false);

    // The orphan: still there, disabled, and its finding resolved by the confirmed change.
    assert.equal(await canBind(ldap.ldapsUrl, ldap.caPem, `uid=intruder,${ldap.usersOu}`, OLD_PASSWORD), false);
    assert.ok(uids.includes('intruder'), 'disabled, never deleted');
    const findings = JSON.parse((await ok(['findings', '--json', '--all', '--system', 'dir', '--kind', 'orphan_account'])).stdout) as { id: string; state: string }[];
    assert.equal(findings.find((f) => f.id === orphan[0]!.id)?.state, 'resolved');
  });

  test('day 3: the leaver is rehired, their accounts come back enabled and in their group, and the password from before the leave is refused by OpenLDAP and AD', async (t) => {
    const imported = await importHr('2026-12-04', [owner, { ...ada, last: 'Byron' }, alan, { ...carl, start: '2026-12-04', end: '', status: 'active' }]);
    assert.match(imported.stdout, /1 rehires/);
    const summary = lines(await planned());
    for (const s of SYSTEMS) assert.ok(summary.includes(`${carl.id} enable_account ${s}`), summary.join('\n'));
    assert.equal((await apply('day 3', t)).code, 0);

    const carlDir = (await ldapUsers()).find((e) => String(e.uid) === 'carl.contract');
    assert.ok(carlDir, 'OpenLDAP holds carl.contract');
    assert.deepEqual([carlDir.pwdAccountLockedTime].flat(), [], 'OpenLDAP account unlocked');
    assert.equal(String(carlDir.pwdReset), 'TRUE', 'a new password, to be changed at first use');
    assert.ok((await ldapMembers('dept-engineering')).includes(`uid=carl.contract,${ldap.usersOu}`.toLowerCase()));
    const carlAd = await adUser('carl.contract');
    assert.equal(Number(carlAd!.userAccountControl) & 2, 0, 'AD account enabled');
    assert.equal(String(carlAd!.pwdLastSet), '0', 'AD wants the new password changed at first use');
    assert.equal((await scimUsers()).find((u) => u.externalId === carl.id)?.active, true);

    assert.equal(await canBind(ldap.ldapsUrl, ldap.caPem, `uid=carl.contract,${ldap.usersOu}`, OLD_PASSWORD), false, 'OpenLDAP refuses the pre-leaver password');
    assert.equal(await canBind(ad.ldapsUrl, ad.caPem, String(carlAd!.distinguishedName), OLD_PASSWORD), false, 'AD refuses the pre-leaver password');
  });

  test('with OpenLDAP stopped, apply ends within 30 s quarantining it with a finding and a non-zero exit; after restart and release the next apply completes with every account and membership there once', async (t) => {
    const bea: Person = { id: '2004', first: 'Bea', last: 'Joiner', department: 'Research & Development', start: '2026-12-05' };
    const cy: Person = { id: '2005', first: 'Cy', last: 'Joiner', department: 'Engineering', start: '2026-12-05' };
    await importHr('2026-12-05', [owner, { ...ada, last: 'Byron' }, alan, { ...carl, start: '2026-12-04', end: '', status: 'active' }, bea, cy]);
    const summary = lines(await planned());
    for (const key of [bea.id, cy.id]) assert.ok(summary.includes(`${key} create_account dir`), summary.join('\n'));

    await ldap.halt();
    const down = await apply('OpenLDAP stopped', t);
    t.diagnostic(`time to fail fast: ${down.ms} ms`);
    assert.equal(down.code, 1, down.stdout + down.stderr);
    assert.ok(down.ms < 30_000, `apply ended in ${down.ms} ms`);
    assert.match(down.stderr, /\bdir is quarantined\b/);
    assert.match((await ok(['quarantine'])).stdout, /^dir +quarantined\b/m);
    const findings = JSON.parse((await ok(['findings', '--json'])).stdout) as { kind: string; system: string | null }[];
    assert.ok(findings.some((f) => f.kind === 'quarantined_system' && f.system === 'dir'), JSON.stringify(findings));

    await ldap.restart();
    await ok(['quarantine', 'release', 'dir']);
    const up = await apply('after restart and release', t);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout, /resumed plan \S+: applied — 12 change\(s\): 12 confirmed/);
    assert.deepEqual(lines(await planned()), [], 'nothing left to do');

    const entries = await ldapUsers();
    const numbers = entries.map((e) => String(e.employeeNumber)).sort();
    assert.deepEqual(numbers, ['1001', '2001', '2002', '2003', '2004', '2005', '9999'], 'every account once');
    const research = await ldapMembers(NEW_GROUP);
    assert.deepEqual(research.sort(), [`uid=alan.turing,${ldap.usersOu}`, `uid=bea.joiner,${ldap.usersOu}`].map((d) => d.toLowerCase()).sort());
    const engineering = await ldapMembers('dept-engineering');
    assert.deepEqual(engineering.sort(), ['ada.byron', 'carl.contract', 'cy.joiner', 'grace.owner'].map((u) => `uid=${u},${ldap.usersOu}`.toLowerCase()).sort());
    const app = (await scimUsers()).map((u) => u.externalId).sort();
    assert.deepEqual(app, ['1001', '2001', '2002', '2003', '2004', '2005']);
    const inAd = await samba(async (c) => (await c.search(ad.usersOu, { filter: '(&(objectClass=user)(employeeNumber=*))', attributes: ['employeeNumber'] })).searchEntries.map((e) => String(e.employeeNumber)).sort());
    assert.deepEqual(inAd, ['1001', '2001', '2002', '2003', '2004', '2005'], 'AD: every account once');
    const adResearch = await samba(async (c) => (await c.search(ad.baseDn, { filter: `(&(objectClass=group)(sAMAccountName=${NEW_GROUP}))`, attributes: ['member'] })).searchEntries[0]);
    assert.deepEqual([adResearch?.member].flat().map((m) => String(m).split(',')[0]!.toLowerCase()).sort(), ['cn=alan turing', 'cn=bea joiner']);
  });
});
