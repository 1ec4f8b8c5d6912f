/**
 * An orphan under full enforcement against a real OpenLDAP: an account made by
 * hand that matches no identity is reported by reconcile, disabled by the plan
 * once the grace period has passed, confirmed by read-back, and its finding
 * resolves. The directory is checked with its own client: the orphan can no
 * longer bind, and it still exists (disabled, never deleted).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvalidCredentialsError } from 'ldapts';
import { executePlan } from '../../src/jobs/plan-executor.ts';
import { createPlanner } from '../../src/app/compute-plan.ts';
import { openPolicyConnectors } from '../../src/app/connectors-from-policy.ts';
import { listFindings } from '../../src/app/findings-store.ts';
import { reconcileSystem } from '../../src/app/reconcile.ts';
import { createKeyring, masterKey } from '../../src/connectors/secrets/index.ts';
import type { Plan } from '../../src/domain/change.ts';
import type { Store } from '../../src/store/open-store.ts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { testBackends } from '../support/backends.ts';
import { adminClient, asAdmin } from '../support/directory-clients.ts';
import { person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';
import { directorySettings, storePeerSecrets } from '../support/peer-systems.ts';

const skip = openLdapSkipReason();
const DAY = 86_400_000;
const FOUND = new Date('2026-11-16T08:00:00Z');
const PASSWORD = 'Orphan-Pass-42!';

describe('an orphan under full enforcement on OpenLDAP', { skip }, () => {
  let ldap: OpenLdapPeer;
  let store: Store;
  const keyring = createKeyring(masterKey(randomBytes(32)));
  let policyDir = '';
  let now = FOUND;

  before(async () => {
    [ldap, store] = await Promise.all([startOpenLdap(), testBackends()[0]!.open()]);
    const dir = mkdtempSync(join(tmpdir(), 'jml-orphan-'));
    policyDir = writePolicyDir({
      'systems.yaml': `systems:
  - name: dir
    connector: { type: ldap, settings: ${directorySettings(ldap, join(dir, 'ldap-ca.pem'))} }
    owner: "O1"
    enforcement: full
    correlation: { account: employeeNumber, identity: key }
    orphans: { disable_after_days: 7 }
`,
      'entitlements.yaml': 'entitlements: []\n',
      'rules.yaml': 'rules: []\n',
    }, join(dir, 'policy'));
    await storePeerSecrets(store.db, keyring, { dir: ldap });
    await seedIdentities(store.db, [person('O1')]);
    await asAdmin(ldap, (admin) => admin.add(`uid=intruder,${ldap.usersOu}`, { objectClass: 'inetOrgPerson', uid: 'intruder', cn: 'Intruder', sn: 'Intruder', employeeNumber: '9999', userPassword: PASSWORD }));
  });
  after(async () => {
    await store?.close();
    await ldap?.stop();
  });

  async function canBind(dn: string, password: string): Promise<true | number> {
    try {
      await (await adminClient(ldap.ldapsUrl, ldap.caPem, dn, password)).unbind();
      return true;
    } catch (error) {
      if (error instanceof InvalidCredentialsError) return error.code;
      throw error;
    }
  }

  const planner = () => createPlanner({ db: store.db, config: { policy_dir: policyDir, timezone: 'UTC' }, actor: 'test', now: () => now });

  async function withConnectors<T>(run: (connectors: Awaited<ReturnType<typeof openPolicyConnectors>>, p: ReturnType<typeof planner>) => Promise<T>): Promise<T> {
    const p = planner();
    const connectors = await openPolicyConnectors({ db: store.db, policy: (await p.loadPolicy()).policy, keyring: () => keyring, actor: 'test' });
    try {
      return await run(connectors, p);
    } finally {
      await connectors.close();
    }
  }
  const reconcile = () => withConnectors(async (connectors, p) =>
    reconcileSystem({ db: store.db, policy: (await p.loadPolicy()).policy, connectorFor: (s) => connectors.get(s), actor: 'test', now: () => now }, 'dir'));
  const apply = (plan: Plan) => withConnectors((connectors, p) => executePlan({
    store, actor: 'test', now: () => now, connectorFor: (s) => (s ? connectors.get(s) : undefined), tasksFor: (s) => connectors.tasksFor(s),
  }, plan, () => p.currentFingerprint()));

  test('reconcile reports it, the plan disables it after the grace period, apply confirms it and the finding resolves', async () => {
    const dn = `uid=intruder,${ldap.usersOu}`;
    await reconcile();
    const [finding, ...others] = await listFindings(store.db, { state: 'open', kind: 'orphan_account' });
    assert.deepEqual(others, []);
    assert.equal(finding?.accountId?.toLowerCase(), dn.toLowerCase());

    now = new Date(FOUND.getTime() + 6 * DAY);
    assert.deepEqual((await planner().compute()).plan.changes, [], 'within the grace period the orphan is only reported');

    now = new Date(FOUND.getTime() + 7 * DAY);
    const { plan } = await planner().compute();
    assert.deepEqual(plan.changes.map((c) => [c.kind, c.accountId?.toLowerCase()]), [['disable_account', dn.toLowerCase()]]);
    assert.match(plan.changes[0]!.reason, new RegExp(`finding ${finding!.id} first seen ${FOUND.toISOString()}`));
    assert.equal(await canBind(dn, PASSWORD), true);

    const report = await apply(plan);
    assert.deepEqual(report.changes.map((c) => c.state), ['confirmed']);
    assert.equal(await canBind(dn, PASSWORD), 49, 'the orphan can no longer bind');
    await asAdmin(ldap, async (admin) => {
      const { searchEntries } = await admin.search(ldap.usersOu, { filter: '(employeeNumber=9999)', attributes: ['pwdAccountLockedTime'] });
      assert.equal(searchEntries.length, 1, 'disabled, never deleted');
      assert.ok(searchEntries[0]!.pwdAccountLockedTime, 'locked by ppolicy');
    });
    assert.deepEqual((await listFindings(store.db, { kind: 'orphan_account' })).map((f) => f.state), ['resolved']);
    assert.deepEqual((await planner().compute()).plan.changes, [], 'the plan right after apply has nothing left');

    now = new Date(FOUND.getTime() + 8 * DAY);
    await reconcile();
    assert.deepEqual(await listFindings(store.db, { state: 'open' }), [], 'a disabled orphan under full enforcement is not reported again');
    assert.deepEqual((await planner().compute()).plan.changes, []);
  });
});
