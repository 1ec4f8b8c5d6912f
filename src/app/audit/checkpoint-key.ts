/**
 * The Ed25519 key that signs audit checkpoints and evidence manifests. It lives
 * in a file outside the database (JML_AUDIT_KEY_FILE or `audit.key_file`), so
 * whoever owns the database cannot forge a checkpoint. The private key file
 * must be private to the user running jml (0600), like the master key; the
 * public half is written beside it (`<file>.pub`) for whoever verifies.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { assertPrivateKeyFile } from '../../connectors/secrets/index.ts';
import { JmlError } from '../../domain/errors.ts';

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** First 16 hex digits of the SHA-256 of the public key (SPKI DER): names the key in what it signed. */
  readonly keyId: string;
}

export interface VerifyKey {
  readonly publicKey: KeyObject;
  readonly keyId: string;
}

/**
 * Creates a new key pair: the private key as PKCS#8 PEM with mode 0600 and the
 * public key as SPKI PEM in `<file>.pub`. An existing file is never replaced.
 * @example const { keyId } = generateCheckpointKey('/etc/jml/audit.key');
 */
export function generateCheckpointKey(file: string): VerifyKey {
  if (existsSync(file)) throw new JmlError('conflict', `the audit key file ${file} already exists; jml will not replace a signing key (checkpoints signed with it would no longer verify)`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  writeFileSync(`${file}.pub`, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  return { publicKey, keyId: keyIdOf(publicKey) };
}

/** Reads the private signing key, refusing a file group or others may read. */
export function loadSigningKey(file: string): SigningKey {
  assertPrivateKeyFile(file, 'audit key file');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(file));
  } catch (cause) {
    throw new JmlError('invalid_input', `cannot read the audit key file ${file}: ${(cause as Error).message}`, { cause });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new JmlError('invalid_input', `the audit key file ${file} holds a ${privateKey.asymmetricKeyType} key; jml signs with Ed25519 (create one with jml audit keygen)`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

/** Reads a key to verify with: a public key (`.pub`) or the private key file itself. */
export function loadVerifyKey(file: string): VerifyKey {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (cause) {
    throw new JmlError('invalid_input', `cannot read the audit key file ${file}: ${(cause as Error).message}`, { cause });
  }
  if (text.includes('PRIVATE KEY')) {
    const { publicKey, keyId } = loadSigningKey(file);
    return { publicKey, keyId };
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(text);
  } catch (cause) {
    throw new JmlError('invalid_input', `the audit public key file ${file} is not a PEM public key: ${(cause as Error).message}`, { cause });
  }
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new JmlError('invalid_input', `the audit public key file ${file} holds a ${publicKey.asymmetricKeyType} key, not Ed25519`);
  return { publicKey, keyId: keyIdOf(publicKey) };
}

function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}
