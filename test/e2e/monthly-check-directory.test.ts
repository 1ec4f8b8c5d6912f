/**
 * The monthly check answered against a real directory (OpenLDAP, then Samba
 * AD; both backends each): a person holding a laptop, with a device
 * certificate named after it, answers that the laptop is lost and that an
 * access they asked for is no longer needed. The plan that follows removes
 * the membership from the directory (read back by jml, then seen gone with
 * `ldapsearch`), and asks the directory's owner, as tasks, to end the
 * person's sessions and revoke the device certificate: jml's LDAP and AD
 * connectors cannot do either (a directory reached over LDAP has no session
 * to end; the certificate is not a directory object), so the report changes
 * nothing else in the directory — a bind with the person's password
 * still succeeds until the owner acts. Closing the tasks with evidence
 * confirms both steps.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change as LdapChange } from 'ldapts';
import { checkOutAsset } from '../../src/app/assets/asset-custody.ts';
import { answerAttestation, attestationsOf, openMonthlyCheck } from '../../src/app/assets/monthly-check.ts';
import { createPlanner } from '../../src/app/compute-plan.ts';
import { openPolicyConnectors } from '../../src/app/connectors-from-policy.ts';
import { listFindings } from '../../src/app/findings-store.ts';
import { reconcileSystem } from '../../src/app/reconcile.ts';
import { adPassword } from '../../src/connectors/ldap/ldap-directory.ts';
import { createKeyring, masterKey } from '../../src/connectors/secrets/index.ts';
import { executePlan } from '../../src/jobs/plan-executor.ts';
import type { Store } from '../../src/store/open-store.ts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { sambaAdSkipReason, startSambaAd, type SambaAdPeer } from '../peers/samba-ad.ts';
import { testBackends } from '../support/backends.ts';
import { asAdmin } from '../support/directory-clients.ts';
import { person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';
import { addDirectoryGroups, directorySettings, storePeerSecrets } from '../support/peer-systems.ts';

const run = promisify(execFile);
const PASSWORD = 'Jml-Check-Pass-42!';
const T0 = new Date('2026-11-02T09:00:00Z');

/** What differs between the two directories: connector type, group names, how an administrator sets a password. */
interface Directory {
  readonly name: string;
  readonly type: 'ldap' | 'ad';
  readonly staff: string;
  readonly vpn: string;
  readonly skip: string | false;
  start(): Promise<OpenLdapPeer | SambaAdPeer>;
  passwordChange(password: string): LdapChange;
}

const DIRECTORIES: readonly Directory[] = [
  {
    name: 'OpenLDAP', type: 'ldap', staff: 'staff', vpn: 'vpn', skip: openLdapSkipReason(), start: () => startOpenLdap(),
    passwordChange: (password) => new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: [password] }) }),
  },
  {
    name: 'Samba AD', type: 'ad', staff: 'jml-staff', vpn: 'jml-vpn', skip: sambaAdSkipReason(), start: () => startSambaAd(),
    passwordChange: (password) => new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [adPassword(password)] }) }),
  },
];

/** The members of a group as the directory's own `ldapsearch` lists them (lower-case DNs). */
async function membersBySearch(peer: OpenLdapPeer | SambaAdPeer, caFile: string, group: string): Promise<string[]> {
  const { stdout } = await run('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-x', '-H', peer.ldapsUrl, '-D', peer.bindDn, '-w', peer.password, '-b', peer.groupsOu, `(cn=${group})`, 'member'], { env: { ...process.env, LDAPTLS_CACERT: caFile } });
  return stdout.split('\n').filter((l) => /^member: /i.test(l)).map((l) => l.slice('member: '.length).toLowerCase());
}

/**
 * Whether the directory accepts `password` for `dn`: `ldapsearch` binding as them and reading the
 * root DSE (exit 0), over LDAPS with the harness's CA. Not `ldapwhoami`: Samba does not offer the
 * Who am I? extended operation.
 */
async function bindsWith(peer: OpenLdapPeer | SambaAdPeer, caFile: string, dn: string, password: string): Promise<boolean> {
  try {
    await run('ldapsearch', ['-LLL', '-x', '-H', peer.ldapsUrl, '-D', dn, '-w', password, '-b', '', '-s', 'base', '1.1'], { env: { ...process.env, LDAPTLS_CACERT: caFile } });
    return true;
  } catch {
    return false;
  }
}

for (const directory of DIRECTORIES) {
  describe(`the monthly check against ${directory.name}`, { skip: directory.skip }, () => {
    let peer: OpenLdapPeer | SambaAdPeer;
    before(async () => {
      peer = await directory.start();
      await addDirectoryGroups(peer, [directory.staff, directory.vpn]);
    });
    after(async () => { await peer?.stop(); });

    for (const backend of testBackends()) {
      test(`a laptop answered lost makes the owner's tasks to end the sessions and revoke its certificate, and an access answered no longer needed leaves the directory group (${backend.name})`, { timeout: 240_000 }, async () => {
        const store: Store = await backend.open();
        const keyring = createKeyring(masterKey(randomBytes(32)));
        const dir = mkdtempSync(join(tmpdir(), 'jml-check-dir-'));
        const caFile = join(dir, 'ca.pem');
        const sfx = backend.name.slice(0, 2);
        const key = `E1${sfx}`;
        const policyDir = writePolicyDir({
          'systems.yaml': `systems:
  - name: dir
    connector: { type: ${directory.type}, settings: ${directorySettings(peer, caFile)} }
    owner: "O1"
    enforcement: relative
    sessions: true
    correlation: { account: employeeNumber, identity: key }
    account:
      name: "{first_name|ascii|lower}.{last_name|ascii|lower}"
      attributes: { sn: "{last_name}", givenName: "{first_name}" }
`,
          'entitlements.yaml': `entitlements:\n  - { system: dir, name: ${directory.staff} }\n  - { system: dir, name: ${directory.vpn} }\n`,
          'rules.yaml': `rules:\n  - { name: everyone, when: { kind: [employee] }, grant: { entitlements: ["dir:${directory.staff}"] } }\n`,
        }, join(dir, 'policy'));
        // jml's clock starts at T0 and runs at real speed: a change job deferred while another plan
        // holds the same change is named after its start time, and a frozen clock would name the
        // next deferral the same and pg-boss would drop it as a duplicate.
        let offset = T0.getTime() - Date.now();
        const clock = () => new Date(Date.now() + offset);
        try {
          await storePeerSecrets(store.db, keyring, { dir: peer });
          await seedIdentities(store.db, [person('O1'), person(key, { first_name: 'Lee', last_name: `Check${sfx}` })]);
          await store.db.insertInto('assignments').values({ id: `asg-vpn-${sfx}`, identity_key: key, system: 'dir', entitlement: directory.vpn, reason_type: 'request', reason: JSON.stringify({ type: 'request', requestId: `r-${sfx}`, roleChain: [] }), created_by: 'test' }).execute();
          const planner = createPlanner({ db: store.db, config: { policy_dir: policyDir, timezone: 'Europe/Paris' }, actor: 'test', now: clock });
          const { policy } = await planner.loadPolicy();
          const connectors = await openPolicyConnectors({ db: store.db, policy, keyring: () => keyring, actor: 'test', now: clock });
          const scope = { identityKeys: [key] };
          const converge = async () => {
            const { plan } = await planner.compute(scope);
            const report = await executePlan({ store, actor: 'test', now: clock, connectorFor: (s) => (s ? connectors.get(s) : undefined), tasksFor: (s) => connectors.tasksFor(s), pollMs: 50 }, plan, () => planner.currentFingerprint(scope));
            await reconcileSystem({ db: store.db, policy, connectorFor: (s) => connectors.get(s), actor: 'test', now: clock }, 'dir');
            return report.changes.filter((c) => c.kind !== 'manual_task').map((c) => `${c.kind}${c.entitlement ? ` ${c.entitlement}` : ''} ${c.state}`).sort();
          };
          try {
            await converge();
            const dn = (await store.db.selectFrom('observed_accounts').select('account_id').where('system', '=', 'dir').where('identity_key', '=', key).executeTakeFirstOrThrow()).account_id.toLowerCase();
            assert.ok((await membersBySearch(peer, caFile, directory.vpn)).includes(dn), 'the requested access is in the directory');
            await asAdmin(peer, (admin) => admin.modify(dn, directory.passwordChange(PASSWORD)));
            assert.equal(await bindsWith(peer, caFile, dn, PASSWORD), true);
            assert.equal(await bindsWith(peer, caFile, dn, `${PASSWORD}x`), false, 'the bind check can tell a wrong password');

            await store.db.insertInto('assets').values({ tag: `LAP-${sfx}`, serial: `SN-LAP-${sfx}`, kind: 'laptop', description: 'ThinkPad', location: 'Paris', status: 'in_stock' }).execute();
            await checkOutAsset(store.db, { tag: `LAP-${sfx}`, to: key, actor: 'it-desk' }, clock());
            await store.db.insertInto('credentials').values({ id: `cred-${sfx}`, identity_key: key, system: 'dir', kind: 'certificate', name: `device certificate LAP-${sfx}`, created_at: T0.toISOString(), last_rotated_at: null, expires_at: null, status: 'active' }).execute();

            await openMonthlyCheck(store.db, { period: '2026-11', actor: 'scheduler' }, clock());
            const items = await attestationsOf(store.db, key);
            assert.deepEqual(items.map((i) => `${i.itemType} ${i.ref}`).sort(), [`access asg-vpn-${sfx}`, `asset LAP-${sfx}`]);
            const replans: string[] = [];
            const deps = { db: store.db, custodian: 'it-desk', replan: { requestReplan: async (keys: readonly string[] | undefined) => void replans.push(...(keys ?? [])) } };
            offset += 3_600_000;
            await answerAttestation(deps, { itemId: items.find((i) => i.itemType === 'asset')!.id, by: key, answer: 'lost', note: 'left on the train' }, clock());
            await answerAttestation(deps, { itemId: items.find((i) => i.itemType === 'access')!.id, by: key, answer: 'no_longer_needed' }, clock());
            assert.deepEqual(replans, [key, key], 'each answer asks for a replan of the person');

            assert.deepEqual(await converge(), [`remove_grant ${directory.vpn} confirmed`, 'revoke_credential pending', 'revoke_sessions pending']);
            assert.deepEqual((await membersBySearch(peer, caFile, directory.vpn)).filter((m) => m === dn), [], 'ldapsearch no longer lists the person in the group');
            assert.ok((await membersBySearch(peer, caFile, directory.staff)).includes(dn), 'birthright access stays');
            assert.equal(await bindsWith(peer, caFile, dn, PASSWORD), true, 'the connector cannot end sessions: the directory still accepts the password until its owner acts');

            const tasks = (await connectors.tasksFor('dir')!.tasks.listTasks({ identityKey: key, status: 'open' })).filter((t) => t.kind === 'revoke_sessions' || t.kind === 'revoke_credential');
            assert.deepEqual(tasks.map((t) => `${t.kind} ${t.owner}`).sort(), ['revoke_credential O1', 'revoke_sessions O1']);
            assert.match(tasks.find((t) => t.kind === 'revoke_sessions')!.instruction, new RegExp(`End every session of .*${key}.* in dir\\. jml's ${directory.type} connector cannot do this itself`));
            const [finding] = await listFindings(store.db, { state: 'open', kind: 'lost_asset' });
            assert.equal(finding?.identityKey, key);

            for (const task of tasks) await connectors.tasksFor('dir')!.tasks.closeTask(task.id, { doneBy: 'O1', doneAt: clock().toISOString(), note: task.kind === 'revoke_sessions' ? 'password reset, signed out everywhere' : 'certificate revoked at the CA' }, 'O1');
            // The read-back before acting finds each step done: its task is closed with evidence.
            assert.deepEqual(await converge(), ['revoke_credential already', 'revoke_sessions already'], 'the closed tasks settle both steps');
            assert.equal((await store.db.selectFrom('credentials').select('status').where('id', '=', `cred-${sfx}`).executeTakeFirstOrThrow()).status, 'revoked', 'jml records the device certificate as revoked');
            assert.equal((await connectors.tasksFor('dir')!.tasks.listTasks({ identityKey: key })).filter((t) => t.kind === 'revoke_sessions' || t.kind === 'revoke_credential').length, 2, 'planning again while the report is open opens no second task');
          } finally {
            await connectors.close();
          }
        } finally {
          await store.close();
        }
      });
    }
  });
}
