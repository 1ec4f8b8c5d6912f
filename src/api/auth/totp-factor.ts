/**
 * TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps) as a second factor. The
 * secret is sealed under the master key with the connector-secret cipher,
 * bound to the user, so a copy of the database reveals nothing and a row moved
 * to another user fails to open. A code is accepted one step either side of
 * now, and only for a step later than the last one accepted: a code seen over
 * a shoulder or replayed from a log is refused.
 */
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import type { Kysely } from 'kysely';
import { openSecret, sealSecret, type SecretContext } from '../../connectors/secrets/secret-cipher.ts';
import type { Keyring } from '../../connectors/secrets/master-keyring.ts';
import { JmlError } from '../../domain/errors.ts';
import type { Database } from '../../store/database.ts';

const PERIOD_S = 30;
const ISSUER = 'jml';

/** The cipher context: the secret opens only for the user it was made for. */
const contextOf = (userId: string): SecretContext => ({ system: 'console-mfa', field: 'totp', boundHost: userId });

function totpOf(secret: Secret, username: string): TOTP {
  return new TOTP({ issuer: ISSUER, label: username, algorithm: 'SHA1', digits: 6, period: PERIOD_S, secret });
}

/** The time step a moment falls in. */
export function totpStep(now: Date): number {
  return Math.floor(now.getTime() / 1000 / PERIOD_S);
}

function requireKeyring(keyring: Keyring | null | undefined): Keyring {
  if (!keyring) throw new JmlError('unavailable', 'authenticator-app codes need a master key to encrypt their secrets: set JML_MASTER_KEY or JML_MASTER_KEY_FILE on the server (passkeys work without one)');
  return keyring;
}

export interface TotpEnrolment {
  readonly secret: string;
  readonly uri: string;
  /** The otpauth URI as an SVG QR code, for the authenticator app to scan. */
  readonly qrSvg: string;
}

/**
 * Starts (or restarts) enrolment: a new secret, stored sealed and unconfirmed
 * until the user proves their app produces its codes. Refused when a confirmed
 * one exists (remove it first).
 */
export async function beginTotpEnrolment(db: Kysely<Database>, keyring: Keyring | null | undefined, user: { id: string; username: string }, now: Date): Promise<TotpEnrolment> {
  const ring = requireKeyring(keyring);
  const existing = await db.selectFrom('mfa_totp').select('confirmed_at').where('user_id', '=', user.id).executeTakeFirst();
  if (existing?.confirmed_at) throw new JmlError('conflict', 'an authenticator app is already set up; remove it before setting up another');
  const secret = new Secret({ size: 20 });
  const sealed = sealSecret(ring, contextOf(user.id), secret.base32);
  const row = { key_id: sealed.keyId, nonce: sealed.nonce, ciphertext: sealed.ciphertext, tag: sealed.tag, confirmed_at: null, last_step: null };
  await db
    .insertInto('mfa_totp')
    .values({ user_id: user.id, ...row, created_at: now.toISOString() })
    .onConflict((oc) => oc.column('user_id').doUpdateSet(row))
    .execute();
  const uri = totpOf(secret, user.username).toString();
  const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { secret: secret.base32, uri, qrSvg };
}

/**
 * Checks a code against the user's secret (confirmed, or pending when
 * `pending`), and on success records its step so it is never accepted again.
 * Returns false for a wrong code and for a replay; throws when there is no secret.
 */
export async function verifyTotp(db: Kysely<Database>, keyring: Keyring | null | undefined, user: { id: string; username: string }, code: string, now: Date, pending = false): Promise<boolean> {
  const row = await db.selectFrom('mfa_totp').selectAll().where('user_id', '=', user.id).executeTakeFirst();
  if (!row || (row.confirmed_at === null) !== pending) {
    throw new JmlError('not_found', pending ? 'no authenticator-app set-up in progress: start it again' : 'no authenticator app is set up for this user');
  }
  const base32 = openSecret(requireKeyring(keyring), contextOf(user.id), { keyId: row.key_id, nonce: row.nonce, ciphertext: row.ciphertext, tag: row.tag });
  const token = code.replace(/\s+/g, '');
  if (!/^[0-9]{6}$/.test(token)) return false;
  const delta = totpOf(Secret.fromBase32(base32), user.username).validate({ token, timestamp: now.getTime(), window: 1 });
  if (delta === null) return false;
  const step = totpStep(now) + delta;
  // Compare-and-set on the last step: of two requests racing with one code, one wins.
  const updated = await db
    .updateTable('mfa_totp')
    .set({ last_step: step, ...(pending ? { confirmed_at: now.toISOString() } : {}) })
    .where('user_id', '=', user.id)
    .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
    .executeTakeFirst();
  return updated.numUpdatedRows === 1n;
}

/** Removes the user's authenticator app; true when there was one. */
export async function removeTotp(db: Kysely<Database>, userId: string): Promise<boolean> {
  const result = await db.deleteFrom('mfa_totp').where('user_id', '=', userId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
