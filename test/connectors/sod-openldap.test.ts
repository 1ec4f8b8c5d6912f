/**
 * SoD detective path against a real OpenLDAP, on both backends: a person and
 * an AI agent put into conflicting groups by hand (outside jml) are SoD
 * findings after a reconcile, with the pair named; taking one side away in
 * the directory resolves the finding at the next reconcile.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Change, Attribute } from 'ldapts';
import { openPolicyConnectors } from '../../src/app/connectors-from-policy.ts';
import { listFindings } from '../../src/app/findings-store.ts';
import { reconcileSystem } from '../../src/app/reconcile.ts';
import { createKeyring, masterKey } from '../../src/connectors/secrets/index.ts';
import { loadPolicy } from '../../src/policy/index.ts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { testBackends } from '../support/backends.ts';
import { asAdmin } from '../support/directory-clients.ts';
import { person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';
import { addDirectoryGroups, directorySettings, storePeerSecrets } from '../support/peer-systems.ts';

const skip = openLdapSkipReason();

describe('SoD findings after a reconcile of OpenLDAP', { skip }, () => {
  let ldap: OpenLdapPeer;
  before(async () => {
    ldap = await startOpenLdap();
    await addDirectoryGroups(ldap, ['pay-create', 'pay-approve']);
    await asAdmin(ldap, async (admin) => {
      for (const [uid, key] of [['ana', 'E1'], ['pay-agent', 'BOT1']] as const) {
        const dn = `uid=${uid},${ldap.usersOu}`;
        await admin.add(dn, { objectClass: 'inetOrgPerson', uid, cn: uid, sn: uid, employeeNumber: key });
        for (const group of ['pay-create', 'pay-approve']) {
          await admin.modify(`cn=${group},${ldap.groupsOu}`, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }));
        }
      }
    });
  });
  after(async () => { await ldap?.stop(); });

  for (const backend of testBackends()) {
    test(`a person and an AI agent holding both sides are findings naming the pair, resolved once a side is removed (${backend.name})`, async () => {
      const store = await backend.open();
      const keyring = createKeyring(masterKey(randomBytes(32)));
      const dir = mkdtempSync(join(tmpdir(), 'jml-sod-ldap-'));
      const policyDir = writePolicyDir({
        'policy.yaml': `systems:
  - name: dir
    connector: { type: ldap, settings: ${directorySettings(ldap, join(dir, 'ldap-ca.pem'))} }
    owner: "O1"
    enforcement: relative
    correlation: { account: employeeNumber, identity: key }
entitlements:
  - { system: dir, name: pay-create }
  - { system: dir, name: pay-approve, privileged: true }
sod:
  - name: payments
    owner: O1
    severity: critical
    conflict:
      - entitlements: [dir:pay-create]
      - entitlements: [dir:pay-approve]
`,
      }, join(dir, 'policy'));
      try {
        const { policy } = await loadPolicy(policyDir);
        await storePeerSecrets(store.db, keyring, { dir: ldap });
        await seedIdentities(store.db, [person('O1'), person('E1'), person('BOT1', {}, { kind: 'ai_agent', owner: 'O1' })]);
        const reconcile = async (at: Date) => {
          const connectors = await openPolicyConnectors({ db: store.db, policy, keyring: () => keyring, actor: 'test' });
          try {
            return await reconcileSystem({ db: store.db, policy, connectorFor: (s) => connectors.get(s), actor: 'test', now: () => at }, 'dir');
          } finally {
            await connectors.close();
          }
        };
        await reconcile(new Date('2026-12-05T09:00:00Z'));
        const open = await listFindings(store.db, { kind: 'sod_violation', state: 'open' });
        assert.deepEqual(open.map((f) => `${f.identityKey}:${f.entitlement}`).sort(), ['BOT1:dir:pay-approve + dir:pay-create', 'E1:dir:pay-approve + dir:pay-create']);
        assert.match(open[0]!.detail, /payments \(critical\)/);

        await asAdmin(ldap, (admin) => admin.modify(`cn=pay-approve,${ldap.groupsOu}`, new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [`uid=pay-agent,${ldap.usersOu}`] }) })));
        await reconcile(new Date('2026-12-05T10:00:00Z'));
        assert.deepEqual((await listFindings(store.db, { kind: 'sod_violation', state: 'open' })).map((f) => f.identityKey), ['E1']);
        // Put it back for the other backend's run.
        await asAdmin(ldap, (admin) => admin.modify(`cn=pay-approve,${ldap.groupsOu}`, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [`uid=pay-agent,${ldap.usersOu}`] }) })));
      } finally {
        await store.close();
      }
    });
  }
});
