/**
 * Master keys for connector secrets. The key lives outside the database (an
 * environment variable or a key file), so a copy of the database alone reveals
 * nothing. A keyring holds one current key, which encrypts, and older keys,
 * which only decrypt until `rotateSecrets` has moved everything to the current
 * one. Each key is known by its id: the first 8 hex digits of its SHA-256.
 */
import { createHash, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { JmlError } from '../../domain/errors.ts';

export interface MasterKey {
  readonly id: string;
  /**
   * A KeyObject, not the raw bytes: it does not print its bytes if logged, and a cipher
   * made from it skips the checks Node runs on a Buffer key (each AES-GCM seal took
   * ~33 µs with a Buffer key against ~9–15 µs with a KeyObject, Node 24).
   */
  readonly key: KeyObject;
}

export interface Keyring {
  readonly current: MasterKey;
  /** The key with this id, current or older; null when the keyring does not hold it. */
  byId(id: string): MasterKey | null;
}

/** Builds a master key from 32 raw bytes. */
export function masterKey(key: Buffer): MasterKey {
  if (key.length !== 32) throw new JmlError('invalid_input', `a master key is 32 bytes (AES-256), got ${key.length}`);
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 8), key: createSecretKey(Buffer.from(key)) };
}

/** Parses a base64 master key (32 bytes once decoded). */
export function parseMasterKey(base64: string, origin: string): MasterKey {
  const text = base64.trim();
  const bytes = Buffer.from(text, 'base64');
  // Buffer.from ignores junk silently; a round trip proves the text was base64.
  if (text === '' || bytes.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, '')) {
    throw new JmlError('invalid_input', `${origin} is not base64`);
  }
  if (bytes.length !== 32) throw new JmlError('invalid_input', `${origin} must decode to 32 bytes, got ${bytes.length}; make one with: openssl rand -base64 32`);
  return masterKey(bytes);
}

/**
 * A keyring from a current key and older ones.
 * @example
 * const ring = createKeyring(parseMasterKey(newKey, 'new key'), [parseMasterKey(oldKey, 'old key')]);
 */
export function createKeyring(current: MasterKey, previous: readonly MasterKey[] = []): Keyring {
  const all = new Map<string, MasterKey>();
  for (const key of [...previous, current]) all.set(key.id, key);
  return { current, byId: (id) => all.get(id) ?? null };
}

/**
 * Refuses a master key file that group or others may read or write (a 0644
 * file gives every local user the key to every connector secret). A missing
 * file is left to the reader, which names it.
 * @example assertPrivateKeyFile('/etc/jml/master.key') // throws unless mode is 0600 or 0400
 */
export function assertPrivateKeyFile(file: string, what = 'master key file'): void {
  if (process.platform === 'win32') return; // ACLs, not mode bits
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return;
  }
  if ((mode & 0o077) !== 0) {
    throw new JmlError('unsafe_permissions', `the ${what} ${file} is open to ${mode & 0o007 ? 'every user' : 'its group'} (mode ${mode.toString(8).padStart(4, '0')}); jml will not use it. Make it private to the user running jml: chmod 600 ${file}`, { details: { file, mode: mode.toString(8) } });
  }
}

/**
 * The keyring named by the environment: `JML_MASTER_KEY` (base64), or
 * `JML_MASTER_KEY_FILE`, a file holding one base64 key per line, current key
 * first, older keys after it (blank lines and `#` comments ignored).
 * `JML_MASTER_KEY_PREVIOUS` may list older keys, comma-separated, for the
 * environment-variable form.
 */
export function keyringFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Keyring {
  if (env.JML_MASTER_KEY && env.JML_MASTER_KEY_FILE) {
    throw new JmlError('invalid_input', 'set JML_MASTER_KEY or JML_MASTER_KEY_FILE, not both');
  }
  if (env.JML_MASTER_KEY) {
    const previous = (env.JML_MASTER_KEY_PREVIOUS ?? '').split(',').filter((s) => s.trim() !== '');
    return createKeyring(
      parseMasterKey(env.JML_MASTER_KEY, 'JML_MASTER_KEY'),
      previous.map((k, i) => parseMasterKey(k, `JML_MASTER_KEY_PREVIOUS[${i}]`)),
    );
  }
  if (env.JML_MASTER_KEY_FILE) {
    assertPrivateKeyFile(env.JML_MASTER_KEY_FILE);
    let text: string;
    try {
      text = readFileSync(env.JML_MASTER_KEY_FILE, 'utf8');
    } catch (cause) {
      throw new JmlError('invalid_input', `cannot read the master key file ${env.JML_MASTER_KEY_FILE}: ${(cause as Error).message}`, { cause });
    }
    const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    const [first, ...rest] = lines;
    if (first === undefined) throw new JmlError('invalid_input', `the master key file ${env.JML_MASTER_KEY_FILE} holds no key`);
    return createKeyring(
      parseMasterKey(first, `${env.JML_MASTER_KEY_FILE} line 1`),
      rest.map((k, i) => parseMasterKey(k, `${env.JML_MASTER_KEY_FILE} key ${i + 2}`)),
    );
  }
  throw new JmlError('invalid_input', 'connector secrets need a master key: set JML_MASTER_KEY (base64 of 32 random bytes) or JML_MASTER_KEY_FILE');
}
