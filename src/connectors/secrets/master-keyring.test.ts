import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isJmlError } from '../../domain/errors.ts';
import { keyringFromEnv, parseMasterKey } from './master-keyring.ts';

const b64 = () => randomBytes(32).toString('base64');

test('a master key is known by the first 8 hex digits of its SHA-256', () => {
  const raw = randomBytes(32);
  assert.equal(parseMasterKey(raw.toString('base64'), 'k').id, createHash('sha256').update(raw).digest('hex').slice(0, 8));
});

test('a key that is not base64 of exactly 32 bytes is refused with a hint', () => {
  assert.throws(() => parseMasterKey(randomBytes(16).toString('base64'), 'JML_MASTER_KEY'), (e) => isJmlError(e, 'invalid_input') && /32 bytes/.test(e.message));
  assert.throws(() => parseMasterKey('not base64 at all!!', 'JML_MASTER_KEY'), (e) => isJmlError(e, 'invalid_input'));
});

test('JML_MASTER_KEY gives the current key and JML_MASTER_KEY_PREVIOUS the older ones', () => {
  const current = b64();
  const old = b64();
  const ring = keyringFromEnv({ JML_MASTER_KEY: current, JML_MASTER_KEY_PREVIOUS: old });
  assert.equal(ring.current.id, parseMasterKey(current, 'c').id);
  assert.ok(ring.byId(parseMasterKey(old, 'o').id));
  assert.equal(ring.byId('00000000'), null);
});

test('a key file holds the current key first and older keys after it', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jml-key-'));
  const current = b64();
  const old = b64();
  const file = path.join(dir, 'master.key');
  writeFileSync(file, `# jml master keys\n${current}\n\n${old}\n`, { mode: 0o600 });
  const ring = keyringFromEnv({ JML_MASTER_KEY_FILE: file });
  assert.equal(ring.current.id, parseMasterKey(current, 'c').id);
  assert.ok(ring.byId(parseMasterKey(old, 'o').id));
});

test('without a master key, or with both sources set, the keyring refuses to start', () => {
  assert.throws(() => keyringFromEnv({}), (e) => isJmlError(e, 'invalid_input') && /JML_MASTER_KEY/.test(e.message));
  assert.throws(() => keyringFromEnv({ JML_MASTER_KEY: b64(), JML_MASTER_KEY_FILE: '/x' }), (e) => isJmlError(e, 'invalid_input'));
  assert.throws(() => keyringFromEnv({ JML_MASTER_KEY_FILE: '/nonexistent/jml.key' }), (e) => isJmlError(e, 'invalid_input'));
});

test('a key file that group or others may read or write is refused, naming the chmod that fixes it', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'jml-key-')), 'master.key');
  writeFileSync(file, `${b64()}\n`, { mode: 0o600 });
  for (const mode of [0o644, 0o640, 0o604, 0o620, 0o666]) {
    chmodSync(file, mode);
    assert.throws(
      () => keyringFromEnv({ JML_MASTER_KEY_FILE: file }),
      (e) => isJmlError(e, 'unsafe_permissions') && e.message.includes(`mode 0${mode.toString(8)}`) && e.message.includes(`chmod 600 ${file}`),
      `mode ${mode.toString(8)}`,
    );
  }
  for (const mode of [0o600, 0o400]) {
    chmodSync(file, mode);
    assert.ok(keyringFromEnv({ JML_MASTER_KEY_FILE: file }).current);
  }
});
