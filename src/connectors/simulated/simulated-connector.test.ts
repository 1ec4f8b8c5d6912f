import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Change } from '../../domain/change.ts';
import type { Store } from '../../store/open-store.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { describeConformance, walkAll } from '../conformance/conformance-suite.ts';
import { createConnectorRegistry } from '../registry.ts';
import { createSimulatedConnector } from './simulated-connector.ts';
import { addSimulatedAccount, ensureSimulatedSystem, seedSimulatedGroups, setLiveSessions } from './simulated-system.ts';

const change = (kind: Change['kind'], identityKey: string, extra: Partial<Change> = {}): Change =>
  ({ id: `${kind}:${identityKey}:${extra.entitlement ?? extra.credentialId ?? ''}`, kind, identityKey, system: 'wiki', reason: 'test', dependsOn: [], ...extra });

for (const backend of testBackends()) {
  let shared: Promise<Store> | null = null;
  const storeOnce = () => (shared ??= backend.open());
  after(async () => {
    if (shared) await (await shared).close();
  });

  describeConformance(`simulated (${backend.name})`, async () => {
    const { db } = await storeOnce();
    return {
      connector: createSimulatedConnector({}, { system: 'sim', db }),
      system: 'sim',
      seedEntitlement: async (name) => {
        await ensureSimulatedSystem(db, 'sim');
        await seedSimulatedGroups(db, 'sim', [name]);
        return name;
      },
      accountAttributes: (identityKey) => ({ user_name: identityKey.toLowerCase(), display_name: `Person ${identityKey}` }),
      attributeUpdate: { title: 'Staff Engineer' },
      unreachable: async () => createSimulatedConnector({ unreachable: true }, { system: 'sim', db }),
    };
  });

  describe(`simulated connector (${backend.name})`, () => {
    test('two connectors over one database see one system: what one applies, the other lists and reads back', async () => {
      const { db } = await storeOnce();
      const writer = createSimulatedConnector({ groups: ['staff'] }, { system: 'wiki', db });
      const reader = createSimulatedConnector({}, { system: 'wiki', db });
      const create = change('create_account', 'W1', { attributes: { user_name: 'w.one' } });
      assert.equal((await reader.readBack(create)).holds, false);
      const made = await writer.apply(create);
      assert.equal(made.status, 'done');
      await writer.apply(change('add_grant', 'W1', { entitlement: 'staff' }));
      const back = await reader.readBack(create);
      assert.deepEqual(back, { holds: true, accountId: made.status === 'done' ? made.accountId : '' });
      const accounts = (await walkAll(reader, 'accounts', 10)).items.filter((a) => a.attributes.identity_key === 'W1');
      assert.deepEqual(accounts.map((a) => [a.name, a.enabled]), [['w.one', true]]);
      assert.deepEqual((await walkAll(reader, 'grants', 10)).items.filter((g) => g.accountId === back.accountId).map((g) => g.entitlement), ['staff']);
      assert.equal((await writer.apply(create)).status, 'done');
      assert.equal((await walkAll(reader, 'accounts', 10)).items.filter((a) => a.attributes.identity_key === 'W1').length, 1, 'a second create finds the first account');
    });

    test('sessions end, credentials are revoked and rotated, and each reads back', async () => {
      const { db } = await storeOnce();
      const wiki = createSimulatedConnector({}, { system: 'wiki', db });
      await ensureSimulatedSystem(db, 'wiki');
      const { account } = await addSimulatedAccount(db, 'wiki', 'W7', {}, new Date());
      await setLiveSessions(db, 'wiki', account.account_id, 3);
      await db.insertInto('sim_credentials').values({ system: 'wiki', credential_id: 'k1', account_id: account.account_id, status: 'active', rotations: '[]' }).execute();
      for (const c of [change('revoke_sessions', 'W7'), change('rotate_credential', 'W7', { credentialId: 'k1' }), change('revoke_credential', 'W7', { credentialId: 'k1' })]) {
        assert.equal((await wiki.readBack(c)).holds, false, c.kind);
        assert.equal((await wiki.apply(c)).status, 'done', c.kind);
        assert.equal((await wiki.readBack(c)).holds, true, c.kind);
      }
      const rotateUnknown = change('rotate_credential', 'W7', { credentialId: 'k-from-inventory' });
      assert.equal((await wiki.apply(rotateUnknown)).status, 'done', 'a credential jml lists is one the simulated system holds');
      assert.equal((await wiki.readBack(rotateUnknown)).holds, true);
    });

    test('the registry builds it from policy settings, and it needs the store', async () => {
      const { db } = await storeOnce();
      const registry = createConnectorRegistry();
      const connector = await registry.create({ type: 'simulated', settings: { groups: ['eng'] } }, { system: 'ledger', db });
      assert.equal(connector.describe().type, 'simulated');
      assert.deepEqual((await walkAll(connector, 'entitlements', 5)).items.map((e) => e.entitlement), ['eng']);
      await assert.rejects(registry.create({ type: 'simulated' }, { system: 'ledger' }), /needs the store/);
    });
  });
}
