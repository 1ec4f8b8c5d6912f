import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { isJmlError } from '../../domain/errors.ts';
import { verifyAudit } from '../../store/audit-log.ts';
import type { Store } from '../../store/open-store.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { createKeyring, masterKey } from './master-keyring.ts';
import { getSecret, listSecrets, putSecret, rotateSecrets, secretBinding } from './secret-store.ts';

const PLAIN = 'Sup3r-secret-bind-password!';
const URL_A = 'https://scim.example.test/scim/v2';
const newKey = () => masterKey(randomBytes(32));

test('a binding names scheme, host and port, whatever the URL spelling', () => {
  assert.equal(secretBinding('https://SCIM.Example.test/scim/v2'), 'https://scim.example.test:443');
  assert.equal(secretBinding('ldaps://dc1.samdom.example.com'), 'ldaps://dc1.samdom.example.com:636');
  assert.equal(secretBinding('http://127.0.0.1:8080/x'), 'http://127.0.0.1:8080');
  assert.equal(secretBinding('dc1.example:389'), 'dc1.example:389');
  assert.notEqual(secretBinding('https://a.example'), secretBinding('http://a.example'));
});

for (const backend of testBackends()) {
  describe(`connector secrets on ${backend.name}`, () => {
    // One store per backend keeps the file fast; each test starts from an empty table.
    let store: Store;
    before(async () => {
      store = await backend.open();
    });
    after(() => store.close());
    beforeEach(() => store.db.deleteFrom('connector_secrets').execute());

    test('a secret round-trips, and its row holds no plaintext', async () => {
      const ring = createKeyring(newKey());
      await putSecret(store.db, ring, 'saas', 'token', PLAIN, URL_A);
      const secret = await getSecret(store.db, ring, 'saas', 'token', URL_A);
      assert.equal(secret.reveal(), PLAIN);
      assert.ok(!inspect(secret).includes(PLAIN) && !JSON.stringify({ secret }).includes(PLAIN));
      const row = await store.db.selectFrom('connector_secrets').selectAll().executeTakeFirstOrThrow();
      assert.equal(row.nonce.length, 12);
      assert.equal(row.tag.length, 16);
      assert.equal(row.key_id, ring.current.id);
      const dump = JSON.stringify(row) + row.ciphertext.toString('latin1') + inspect(row);
      assert.ok(!dump.includes(PLAIN) && !dump.includes(Buffer.from(PLAIN).toString('hex')) && !dump.includes(Buffer.from(PLAIN).toString('base64')));
      assert.deepEqual((await listSecrets(store.db)).map((s) => [s.system, s.field, s.boundHost]), [['saas', 'token', 'https://scim.example.test:443']]);
    });

    test('encrypting the same secret twice uses two different nonces', async () => {
      const ring = createKeyring(newKey());
      await putSecret(store.db, ring, 'a', 'token', PLAIN, URL_A);
      await putSecret(store.db, ring, 'b', 'token', PLAIN, URL_A);
      const rows = await store.db.selectFrom('connector_secrets').selectAll().execute();
      assert.notDeepEqual(rows[0]!.nonce, rows[1]!.nonce);
      assert.notDeepEqual(rows[0]!.ciphertext, rows[1]!.ciphertext);
    });

    test('the wrong master key fails cleanly, naming the key id it would need', async () => {
      const right = createKeyring(newKey());
      await putSecret(store.db, right, 'saas', 'token', PLAIN, URL_A);
      await assert.rejects(getSecret(store.db, createKeyring(newKey()), 'saas', 'token', URL_A), (e) => isJmlError(e, 'forbidden') && e.message.includes(right.current.id) && !e.message.includes(PLAIN));
      // A different key that claims the same id (a forged or corrupted keyring) fails authentication instead of returning garbage.
      const impostor = { current: { id: right.current.id, key: createSecretKey(randomBytes(32)) }, byId: () => ({ id: right.current.id, key: createSecretKey(randomBytes(32)) }) };
      await assert.rejects(getSecret(store.db, impostor, 'saas', 'token', URL_A), (e) => isJmlError(e, 'forbidden') && /failed authentication/.test(e.message));
    });

    test('a flipped ciphertext byte, a changed tag, or a row moved to another system or host fails authentication', async () => {
      const ring = createKeyring(newKey());
      await putSecret(store.db, ring, 'saas', 'token', PLAIN, URL_A);
      const original = await store.db.selectFrom('connector_secrets').selectAll().executeTakeFirstOrThrow();
      const restore = () =>
        store.db.updateTable('connector_secrets').set({ system: 'saas', field: 'token', ciphertext: original.ciphertext, tag: original.tag, bound_host: original.bound_host }).execute();
      const flipped = Buffer.from(original.ciphertext);
      flipped[0] = flipped[0]! ^ 0x01;
      await store.db.updateTable('connector_secrets').set({ ciphertext: flipped }).execute();
      await assert.rejects(getSecret(store.db, ring, 'saas', 'token', URL_A), (e) => isJmlError(e, 'forbidden'));
      await restore();
      const tag = Buffer.from(original.tag);
      tag[15] = tag[15]! ^ 0x80;
      await store.db.updateTable('connector_secrets').set({ tag }).execute();
      await assert.rejects(getSecret(store.db, ring, 'saas', 'token', URL_A), (e) => isJmlError(e, 'forbidden'));
      await restore();
      await store.db.updateTable('connector_secrets').set({ system: 'other' }).execute();
      await assert.rejects(getSecret(store.db, ring, 'other', 'token', URL_A), (e) => isJmlError(e, 'forbidden') && /failed authentication/.test(e.message));
      await restore();
      // Re-pointing the row at an attacker's host cannot get it decrypted for that host.
      await store.db.updateTable('connector_secrets').set({ bound_host: 'https://evil.example:443' }).execute();
      await assert.rejects(getSecret(store.db, ring, 'saas', 'token', 'https://evil.example'), (e) => isJmlError(e, 'forbidden') && /failed authentication/.test(e.message));
      await restore();
      assert.equal((await getSecret(store.db, ring, 'saas', 'token', URL_A)).reveal(), PLAIN);
    });

    test('rotation re-encrypts every secret under the new key, after which the old key is not needed', async () => {
      const oldKey = newKey();
      const oldRing = createKeyring(oldKey);
      await putSecret(store.db, oldRing, 'saas', 'token', PLAIN, URL_A);
      await putSecret(store.db, oldRing, 'ldap', 'bind_password', 'ldap-pw-123', 'ldaps://dc1.example');
      const newRing = createKeyring(newKey(), [oldKey]);
      // Before rotation both keys are needed; reading through the new keyring still works.
      assert.equal((await getSecret(store.db, newRing, 'saas', 'token', URL_A)).reveal(), PLAIN);
      assert.equal(await rotateSecrets(store.db, newRing), 2);
      assert.equal(await rotateSecrets(store.db, newRing), 0);
      const onlyNew = createKeyring(newRing.current);
      assert.equal((await getSecret(store.db, onlyNew, 'saas', 'token', URL_A)).reveal(), PLAIN);
      assert.equal((await getSecret(store.db, onlyNew, 'ldap', 'bind_password', 'ldaps://dc1.example:636')).reveal(), 'ldap-pw-123');
      await assert.rejects(getSecret(store.db, oldRing, 'saas', 'token', URL_A), (e) => isJmlError(e, 'forbidden'));
    });

    test('when the system points at another host the secret is cleared, audited, and must be entered again', async () => {
      const ring = createKeyring(newKey());
      await putSecret(store.db, ring, 'saas', 'token', PLAIN, URL_A);
      await assert.rejects(
        getSecret(store.db, ring, 'saas', 'token', 'https://scim.attacker.test/scim/v2'),
        (e) => isJmlError(e, 'forbidden') && /entered again/.test(e.message) && !e.message.includes(PLAIN),
      );
      assert.deepEqual(await listSecrets(store.db), []);
      await assert.rejects(getSecret(store.db, ring, 'saas', 'token', URL_A), (e) => isJmlError(e, 'not_found'));
      const audit = await store.db.selectFrom('audit_log').selectAll().where('action', '=', 'connector_secret.cleared').execute();
      assert.equal(audit.length, 1);
      assert.equal(audit[0]!.subject, 'system:saas');
      assert.ok(!JSON.stringify(audit).includes(PLAIN));
      assert.equal((await verifyAudit(store.db)).ok, true);
    });
  });
}
