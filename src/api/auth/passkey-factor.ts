/**
 * Passkeys (WebAuthn) through SimpleWebAuthn: registration, use as a second
 * factor after the password, and passwordless sign-in with a discoverable
 * credential. Attestation is "none" (jml does not restrict authenticator
 * makes); the signature counter and backup state are stored and updated on
 * every use. Challenges live in the database for five minutes and are used
 * once, so a ceremony may finish on another API instance.
 */
import { randomUUID } from 'node:crypto';
import { generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse } from '@simplewebauthn/server';
import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Kysely } from 'kysely';
import { JmlError } from '../../domain/errors.ts';
import type { Database } from '../../store/database.ts';

const CHALLENGE_TTL_MS = 5 * 60_000;
/** Passwordless challenges open at once, across all callers: the route is public, and each is a row until it expires. */
export const MAX_OPEN_PASSWORDLESS_CHALLENGES = 1000;

/** Who relies on the passkeys: the console's host name and the origins it is reached at. */
export interface RelyingParty {
  readonly rpId: string;
  readonly origins: readonly string[];
  readonly name: string;
}

export interface PasskeyInfo {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly deviceType: string;
  readonly backedUp: boolean;
}

type Purpose = 'register' | 'verify' | 'passwordless';

async function storeChallenge(db: Kysely<Database>, challenge: string, purpose: Purpose, userId: string | null, now: Date): Promise<string> {
  const id = `wac-${randomUUID()}`;
  await db.deleteFrom('webauthn_challenges').where('expires_at', '<', now).execute();
  if (purpose === 'passwordless') {
    const open = await db.selectFrom('webauthn_challenges').select((eb) => eb.fn.countAll<string | number>().as('n')).where('purpose', '=', 'passwordless').executeTakeFirstOrThrow();
    if (Number(open.n) >= MAX_OPEN_PASSWORDLESS_CHALLENGES) throw new JmlError('rate_limited', 'too many passkey sign-ins are under way; try again in a few minutes, or sign in with your password');
  }
  await db.insertInto('webauthn_challenges').values({ id, challenge, purpose, user_id: userId, expires_at: new Date(now.getTime() + CHALLENGE_TTL_MS).toISOString() }).execute();
  return id;
}

/** Takes a challenge out (once): it must exist, be unexpired, for this purpose and user. */
async function takeChallenge(db: Kysely<Database>, id: string, purpose: Purpose, userId: string | null, now: Date): Promise<string> {
  const row = await db.deleteFrom('webauthn_challenges').where('id', '=', id).returningAll().executeTakeFirst();
  if (!row || row.purpose !== purpose || row.user_id !== userId || row.expires_at.getTime() <= now.getTime()) {
    throw new JmlError('unauthenticated', 'the passkey challenge is unknown, used or expired: start again');
  }
  return row.challenge;
}

/** The user's passkeys, newest first. */
export async function listPasskeys(db: Kysely<Database>, userId: string): Promise<PasskeyInfo[]> {
  const rows = await db.selectFrom('mfa_passkeys').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').execute();
  return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at.toISOString(), lastUsedAt: r.last_used_at?.toISOString() ?? null, deviceType: r.device_type, backedUp: r.backed_up }));
}

/** Registration options for a new passkey of this user; their existing ones are excluded (one authenticator, one passkey). */
export async function registrationOptions(db: Kysely<Database>, rp: RelyingParty, user: { id: string; username: string; displayName: string }, userVerification: 'required' | 'preferred', now: Date): Promise<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
  const existing = await db.selectFrom('mfa_passkeys').select(['credential_id', 'transports']).where('user_id', '=', user.id).execute();
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.rpId,
    userName: user.username,
    userDisplayName: user.displayName,
    userID: new TextEncoder().encode(user.id),
    attestationType: 'none',
    excludeCredentials: existing.map((c) => ({ id: c.credential_id, transports: c.transports })),
    // Discoverable, so the same passkey also signs in without a password.
    authenticatorSelection: { residentKey: 'preferred', userVerification },
  });
  return { challengeId: await storeChallenge(db, options.challenge, 'register', user.id, now), options };
}

/** Verifies a registration and stores the passkey; returns it. */
export async function registerPasskey(db: Kysely<Database>, rp: RelyingParty, userId: string, input: { challengeId: string; name: string; response: RegistrationResponseJSON }, requireUserVerification: boolean, now: Date): Promise<PasskeyInfo> {
  const challenge = await takeChallenge(db, input.challengeId, 'register', userId, now);
  const result = await verifyRegistrationResponse({ response: input.response, expectedChallenge: challenge, expectedOrigin: [...rp.origins], expectedRPID: rp.rpId, requireUserVerification }).catch((cause: unknown) => {
    throw new JmlError('invalid_input', `the passkey was not accepted: ${(cause as Error).message}`, { cause });
  });
  if (!result.verified) throw new JmlError('invalid_input', 'the passkey was not accepted');
  const info = result.registrationInfo;
  const id = `pk-${randomUUID()}`;
  await db
    .insertInto('mfa_passkeys')
    .values({ id, user_id: userId, credential_id: info.credential.id, public_key: Buffer.from(info.credential.publicKey), counter: info.credential.counter, transports: info.credential.transports ?? [], device_type: info.credentialDeviceType, backed_up: info.credentialBackedUp, name: input.name, created_at: now.toISOString() })
    .execute();
  return { id, name: input.name, createdAt: now.toISOString(), lastUsedAt: null, deviceType: info.credentialDeviceType, backedUp: info.credentialBackedUp };
}

/** Authentication options: for one user's passkeys (second factor), or for any discoverable one (passwordless, `userId` null). */
export async function authenticationOptions(db: Kysely<Database>, rp: RelyingParty, userId: string | null, userVerification: 'required' | 'preferred', now: Date): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
  const allow = userId ? await db.selectFrom('mfa_passkeys').select(['credential_id', 'transports']).where('user_id', '=', userId).execute() : [];
  if (userId && allow.length === 0) throw new JmlError('not_found', 'you have no passkey');
  const options = await generateAuthenticationOptions({ rpID: rp.rpId, userVerification, ...(userId ? { allowCredentials: allow.map((c) => ({ id: c.credential_id, transports: c.transports })) } : {}) });
  return { challengeId: await storeChallenge(db, options.challenge, userId ? 'verify' : 'passwordless', userId, now), options };
}

/**
 * Verifies an assertion. For a second factor `userId` is the signed-in user
 * and the passkey must be theirs; passwordless (`userId` null), the passkey
 * names the user and user verification is always required (it is both
 * factors then). Returns the user id, or null when the assertion fails.
 */
export async function verifyPasskey(db: Kysely<Database>, rp: RelyingParty, userId: string | null, input: { challengeId: string; response: AuthenticationResponseJSON }, requireUserVerification: boolean, now: Date): Promise<{ userId: string; passkeyId: string } | null> {
  const challenge = await takeChallenge(db, input.challengeId, userId ? 'verify' : 'passwordless', userId, now);
  const row = await db.selectFrom('mfa_passkeys').selectAll().where('credential_id', '=', input.response.id).executeTakeFirst();
  if (!row || (userId !== null && row.user_id !== userId)) return null;
  const result = await verifyAuthenticationResponse({
    response: input.response,
    expectedChallenge: challenge,
    expectedOrigin: [...rp.origins],
    expectedRPID: rp.rpId,
    credential: { id: row.credential_id, publicKey: new Uint8Array(row.public_key), counter: row.counter, transports: row.transports },
    requireUserVerification: userId === null || requireUserVerification,
  }).catch(() => null);
  if (!result?.verified) return null;
  const info = result.authenticationInfo;
  await db.updateTable('mfa_passkeys').set({ counter: info.newCounter, backed_up: info.credentialBackedUp, device_type: info.credentialDeviceType, last_used_at: now.toISOString() }).where('id', '=', row.id).execute();
  return { userId: row.user_id, passkeyId: row.id };
}

/** Removes one of the user's passkeys; false when they have none by that id. */
export async function removePasskey(db: Kysely<Database>, userId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('mfa_passkeys').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
