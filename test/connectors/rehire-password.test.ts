/**
 * A rehire never gets back a password they knew, through the whole path:
 * HR import → plan → apply → real OpenLDAP, with the default credentials
 * policy. The first password of a joiner and of a rehire reaches their
 * manager as a task, is shown once, and appears in no plan, task, audit
 * entry or console output.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, InvalidCredentialsError } from 'ldapts';
import { executePlan } from '../../src/jobs/plan-executor.ts';
import { createPlanner } from '../../src/app/compute-plan.ts';
import { loadConfig } from '../../src/app/config.ts';
import { openPolicyConnectors, type PolicyConnectors } from '../../src/app/connectors-from-policy.ts';
import { importSource } from '../../src/app/import-source.ts';
import { isJmlError } from '../../src/domain/errors.ts';
import type { Plan } from '../../src/domain/change.ts';
import { createTaskStore } from '../../src/connectors/manual/task-store.ts';
import { createKeyring, masterKey } from '../../src/connectors/secrets/index.ts';
import { readAudit } from '../../src/store/audit-log.ts';
import type { Store } from '../../src/store/open-store.ts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { testBackends } from '../support/backends.ts';
import { writePolicyDir } from '../support/jml-fixture.ts';
import { addDirectoryGroups, directorySettings, storePeerSecrets } from '../support/peer-systems.ts';

const HEADER = 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status\n';
const row = (key: string, first: string, last: string, manager: string, start: string, end = '', status = 'active') =>
  `${key},${first},${last},${first.toLowerCase()}@example.com,IT,Staff,${manager},London,Full-time,${start},${end},${status}\n`;
const MANAGER = row('3001', 'Grace', 'Owner', '', '2020-01-01');

async function binds(peer: OpenLdapPeer, dn: string, password: string): Promise<boolean> {
  const client = new Client({ url: peer.ldapsUrl, tlsOptions: { ca: [peer.caPem] } });
  try {
    await client.bind(dn, password);
    return true;
  } catch (error) {
    if (error instanceof InvalidCredentialsError) return false;
    throw error;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

for (const backend of testBackends()) {
  describe(`a rehire's password on OpenLDAP, through plan and apply (${backend.name})`, { skip: openLdapSkipReason() }, () => {
    let peer: OpenLdapPeer;
    let store: Store;
    const dir = mkdtempSync(join(tmpdir(), 'jml-rehire-'));
    const keyring = createKeyring(masterKey(randomBytes(32)));
    const plans: Plan[] = [];
    const printed: string[] = [];
    let policyDir = '';
    const adaDn = () => `uid=ada.lovelace,${peer.usersOu}`;

    before(async () => {
      [peer, store] = await Promise.all([startOpenLdap(), backend.open()]);
      await addDirectoryGroups(peer, ['staff']);
      // No `credentials:` in the policy: the safe behaviour is the default.
      policyDir = writePolicyDir({
        'systems.yaml': `systems:
  - name: dir
    connector: { type: ldap, settings: ${directorySettings(peer, join(dir, 'ca.pem'))} }
    owner: "3001"
    enforcement: full
    correlation: { account: employeeNumber, identity: key }
    account:
      name: "{first_name|ascii|lower}.{last_name|ascii|lower}"
      attributes: { sn: "{last_name}", givenName: "{first_name}" }
`,
        'entitlements.yaml': 'entitlements:\n  - { system: dir, name: staff }\n',
        'rules.yaml': 'rules:\n  - { name: everyone, when: { kind: [employee] }, grant: { entitlements: ["dir:staff"] } }\n',
      }, join(dir, 'policy'));
      await storePeerSecrets(store.db, keyring, { dir: peer });
    });
    after(async () => {
      await store?.close();
      await peer?.stop();
    });

    async function importHr(rows: string, asOf: string): Promise<void> {
      writeFileSync(join(dir, 'hr.csv'), HEADER + rows);
      const config = await loadConfig({ policyDir, dataDir: join(dir, 'unused') }, {});
      const result = await importSource({ db: store.db, config }, { source: 'hr', file: join(dir, 'hr.csv'), asOf, actor: 'test', now: new Date(`${asOf}T12:00:00Z`) });
      assert.equal(result.status, 'applied', JSON.stringify(result.errors));
    }

    /** Plans and applies everything, capturing whatever reaches the console meanwhile. */
    async function converge(): Promise<{ plan: Plan; connectors: PolicyConnectors }> {
      const planner = createPlanner({ db: store.db, config: { policy_dir: policyDir, timezone: 'UTC' }, actor: 'test' });
      const { policy } = await planner.loadPolicy();
      const connectors = await openPolicyConnectors({ db: store.db, policy, keyring: () => keyring, actor: 'test' });
      const restore = captureConsole(printed);
      try {
        const { plan } = await planner.compute();
        plans.push(plan);
        const report = await executePlan({
          store, actor: 'test', connectorFor: (s) => (s ? connectors.get(s) : undefined), tasksFor: (s) => connectors.tasksFor(s),
          options: { retry: { baseDelayMs: 20 } },
        }, plan, () => planner.currentFingerprint());
        assert.equal(report.status, 'applied', JSON.stringify(report.changes.filter((c) => c.state !== 'confirmed')));
        return { plan, connectors };
      } finally {
        restore();
        await connectors.close();
      }
    }

    /** The open delivery task for `identityKey` and the password its owner reveals. */
    async function reveal(identityKey: string, viewer: string): Promise<string> {
      const tasks = await createTaskStore({ db: store.db }).listTasks({ identityKey, status: 'open' });
      const delivery = tasks.filter((t) => t.kind === 'manual_task' && t.change.credentialId);
      assert.equal(delivery.length, 1, JSON.stringify(tasks));
      assert.equal(delivery[0]!.owner, '3001', 'the manager delivers it');
      const { initialCredentials } = await openPolicyConnectors({ db: store.db, policy: (await createPlanner({ db: store.db, config: { policy_dir: policyDir, timezone: 'UTC' }, actor: 'test' }).loadPolicy()).policy, keyring: () => keyring }, []);
      const info = await initialCredentials.forTask(delivery[0]!.id);
      const secret = await initialCredentials.reveal(info.id, { actor: viewer, identityKey: viewer });
      await createTaskStore({ db: store.db }).closeTask(delivery[0]!.id, { doneBy: viewer, doneAt: new Date().toISOString(), note: 'handed over in person' }, viewer);
      return secret.reveal();
    }

    const passwords: string[] = [];

    test('a joiner\'s first password reaches their manager as a task, shown once, and binds', async () => {
      await importHr(MANAGER + row('2001', 'Ada', 'Lovelace', '3001', '2024-01-01'), '2026-03-01');
      const { plan } = await converge();
      assert.equal(plan.changes.find((c) => c.kind === 'create_account' && c.identityKey === '2001')?.credential, 'new_secret');
      const first = await reveal('2001', '3001');
      passwords.push(first);
      assert.equal(await binds(peer, adaDn(), first), true);
    });

    test('a leaver\'s password stops working with the account, and a rehire gets a new one while the old one is refused', async () => {
      await importHr(MANAGER + row('2001', 'Ada', 'Lovelace', '3001', '2024-01-01', '2026-03-02', 'terminated'), '2026-03-03');
      const left = await converge();
      assert.equal(left.plan.changes.find((c) => c.kind === 'disable_account')?.credential, 'scramble');
      assert.equal(await binds(peer, adaDn(), passwords[0]!), false);

      await importHr(MANAGER + row('2001', 'Ada', 'Lovelace', '3001', '2026-03-10'), '2026-03-10');
      const back = await converge();
      assert.equal(back.plan.changes.find((c) => c.kind === 'enable_account')?.credential, 'new_secret', JSON.stringify(back.plan.changes));
      assert.equal(await binds(peer, adaDn(), passwords[0]!), false, 'the pre-leaver password is refused after the rehire');

      const tasks = await createTaskStore({ db: store.db }).listTasks({ identityKey: '2001', status: 'open' });
      const credentialId = tasks.find((t) => t.change.credentialId)?.change.credentialId;
      assert.ok(credentialId);
      const { initialCredentials } = back.connectors;
      await assert.rejects(initialCredentials.reveal(credentialId, { actor: 'mallory', identityKey: '2001' }), (e) => isJmlError(e, 'forbidden'), 'not even the person themself may read it from the store');
      const second = await reveal('2001', '3001');
      passwords.push(second);
      assert.notEqual(second, passwords[0]);
      assert.equal(await binds(peer, adaDn(), second), true);
      await assert.rejects(initialCredentials.reveal(credentialId, { actor: '3001', identityKey: '3001' }), (e) => isJmlError(e, 'conflict') && /already shown to 3001 and destroyed/.test(e.message));
      const row2 = await store.db.selectFrom('initial_credentials').selectAll().where('id', '=', credentialId).executeTakeFirstOrThrow();
      assert.deepEqual([row2.state, row2.ciphertext, row2.nonce], ['revealed', null, null]);
    });

    test('no password appears in a plan, a task, the audit export or anything printed', async () => {
      assert.equal(passwords.length, 2);
      const audit: string[] = [];
      for await (const entry of readAudit(store.db)) audit.push(JSON.stringify(entry));
      assert.ok(audit.some((e) => e.includes('initial_credential.revealed')), 'the reveal is audited');
      const tables = [
        JSON.stringify(plans),
        JSON.stringify(await store.db.selectFrom('plans').selectAll().execute()),
        JSON.stringify(await store.db.selectFrom('plan_changes').selectAll().execute()),
        JSON.stringify(await store.db.selectFrom('tasks').selectAll().execute()),
        JSON.stringify(await store.db.selectFrom('initial_credentials').selectAll().execute()),
        audit.join('\n'),
        printed.join('\n'),
      ];
      for (const password of passwords) {
        for (const [i, text] of tables.entries()) assert.ok(!text.includes(password), `password found in output ${i}`);
      }
    });
  });
}

/** Collects console and stdout/stderr output into `sink` until the returned function is called. */
function captureConsole(sink: string[]): () => void {
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = methods.map((m) => console[m]);
  for (const m of methods) console[m] = (...args: unknown[]) => { sink.push(args.map(String).join(' ')); };
  const writes = [process.stdout.write, process.stderr.write];
  const capture = (chunk: unknown) => { sink.push(String(chunk)); return true; };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  return () => {
    methods.forEach((m, i) => { console[m] = saved[i]!; });
    [process.stdout.write, process.stderr.write] = writes as [typeof process.stdout.write, typeof process.stderr.write];
  };
}
