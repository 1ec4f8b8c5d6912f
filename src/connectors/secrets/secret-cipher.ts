/**
 * AES-256-GCM for connector secrets. A fresh random 96-bit nonce per
 * encryption (never reused under one key); the additional authenticated data
 * binds a ciphertext to its system, field and host, so a row copied to another
 * system or re-pointed at another host fails to decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { JmlError } from '../../domain/errors.ts';
import type { Keyring } from './master-keyring.ts';

export interface SecretContext {
  readonly system: string;
  readonly field: string;
  readonly boundHost: string;
}

export interface SealedSecret {
  readonly keyId: string;
  readonly nonce: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

function aad(context: SecretContext): Buffer {
  // JSON of an array: unambiguous however the parts are spelled.
  return Buffer.from(JSON.stringify(['jml-connector-secret/v1', context.system, context.field, context.boundHost]), 'utf8');
}

/** Encrypts under the keyring's current key. */
export function sealSecret(keyring: Keyring, context: SecretContext, plaintext: string): SealedSecret {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyring.current.key, nonce);
  cipher.setAAD(aad(context));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { keyId: keyring.current.id, nonce, ciphertext, tag: cipher.getAuthTag() };
}

/** Decrypts; a missing key, a wrong key, a changed context or a changed byte is a JmlError, never garbage. */
export function openSecret(keyring: Keyring, context: SecretContext, sealed: SealedSecret): string {
  const key = keyring.byId(sealed.keyId);
  const where = `${context.system}/${context.field}`;
  if (!key) {
    throw new JmlError('forbidden', `the secret ${where} was encrypted with master key ${sealed.keyId}, which the configured keyring does not hold`, {
      details: { system: context.system, field: context.field, keyId: sealed.keyId },
    });
  }
  try {
    // A fixed tag length refuses truncated tags, which GCM would otherwise accept.
    const decipher = createDecipheriv('aes-256-gcm', key.key, sealed.nonce, { authTagLength: 16 });
    decipher.setAAD(aad(context));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
  } catch (cause) {
    throw new JmlError('forbidden', `the secret ${where} failed authentication: it was altered, moved, or encrypted under another key with the same id`, {
      cause,
      details: { system: context.system, field: context.field, keyId: sealed.keyId },
    });
  }
}
