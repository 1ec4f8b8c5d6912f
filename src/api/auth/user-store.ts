/**
 * Console users: local accounts (scrypt) and OIDC-linked accounts, each with
 * granted roles and an optional link to an identity.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { ConsoleUsersTable, Database } from '../../store/database.ts';
import { generatePassword, hashPassword, verifyPassword } from './password-hash.ts';
import type { GrantedRole } from './principal.ts';

export interface ConsoleUser {
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  readonly identityKey: string | null;
  readonly roles: readonly GrantedRole[];
  readonly status: 'active' | 'disabled';
  readonly lastSignInAt: string | null;
}

export interface NewUser {
  readonly username: string;
  readonly displayName?: string;
  readonly password?: string;
  readonly identityKey?: string | null;
  readonly roles?: readonly GrantedRole[];
  readonly oidcSubject?: string;
}

// A real hash to compare against when the username is unknown, so timing does not reveal which usernames exist.
const DUMMY_HASH = hashPassword(randomUUID());

export function toConsoleUser(row: Selectable<ConsoleUsersTable>): ConsoleUser {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    identityKey: row.identity_key,
    roles: row.roles as GrantedRole[],
    status: row.status,
    lastSignInAt: row.last_sign_in_at?.toISOString() ?? null,
  };
}

/** Creates a user; the audit entry is written in the same transaction. */
export async function createUser(db: Kysely<Database>, input: NewUser, actor: string): Promise<ConsoleUser> {
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  return db.transaction().execute(async (trx) => {
    const clash = await trx.selectFrom('console_users').select('id').where(sql`lower(username)`, '=', input.username.toLowerCase()).executeTakeFirst();
    if (clash) throw new JmlError('conflict', `a user named ${input.username} already exists`);
    if (input.identityKey != null && !(await trx.selectFrom('identities').select('key').where('key', '=', input.identityKey).executeTakeFirst())) {
      throw new JmlError('invalid_input', `identityKey: there is no identity ${input.identityKey}`, { details: { field: 'identityKey' } });
    }
    const row = await trx
      .insertInto('console_users')
      .values({
        id: `usr-${randomUUID()}`,
        username: input.username,
        display_name: input.displayName ?? input.username,
        password_hash: passwordHash,
        identity_key: input.identityKey ?? null,
        roles: [...(input.roles ?? [])],
        oidc_subject: input.oidcSubject ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const user = toConsoleUser(row);
    await appendAudit(trx, { actor, action: 'user.created', subject: `user:${user.id}`, trigger: 'api', after: { username: user.username, roles: user.roles, identityKey: user.identityKey } });
    return user;
  });
}

/** The user whose password matches, or null. Always spends one scrypt, found or not. */
export async function authenticate(db: Kysely<Database>, username: string, password: string): Promise<ConsoleUser | null> {
  return (await checkPassword(db, username, password)).user;
}

/**
 * Checks a password as `authenticate` does, and also says which user the
 * username named when the password was wrong (null for no such user), so a
 * failure can be recorded against that user and nothing else.
 */
export async function checkPassword(db: Kysely<Database>, username: string, password: string): Promise<{ user: ConsoleUser | null; named: ConsoleUser | null }> {
  const row = await db.selectFrom('console_users').selectAll().where(sql`lower(username)`, '=', username.toLowerCase()).executeTakeFirst();
  const ok = await verifyPassword(password, row?.password_hash ?? (await DUMMY_HASH));
  const named = row ? toConsoleUser(row) : null;
  return { user: named && row?.password_hash && ok ? named : null, named };
}

/**
 * On first start (no users at all) creates `admin` with a generated password
 * and returns it, to be shown once; afterwards returns null.
 */
export async function ensureFirstAdmin(db: Kysely<Database>): Promise<{ username: string; password: string } | null> {
  const any = await db.selectFrom('console_users').select('id').limit(1).executeTakeFirst();
  if (any) return null;
  const password = generatePassword();
  await createUser(db, { username: 'admin', displayName: 'Administrator', password, roles: ['admin'] }, 'system:first-start');
  return { username: 'admin', password };
}

/** Finds or creates the user for an OIDC subject, linked to the identity with the matching email. */
export async function userForOidc(db: Kysely<Database>, claims: { sub: string; email?: string | undefined; name?: string | undefined }, issuer: string): Promise<ConsoleUser> {
  const subject = `${issuer}#${claims.sub}`;
  const existing = await db.selectFrom('console_users').selectAll().where('oidc_subject', '=', subject).executeTakeFirst();
  if (existing) return toConsoleUser(existing);
  if (!claims.email) throw new JmlError('forbidden', 'the identity provider sent no verified email (email_verified was false or missing), so no identity can be matched');
  const identity = await db.selectFrom('identities').select(['key', 'status']).where(sql`lower(attributes->>'email')`, '=', claims.email.toLowerCase()).executeTakeFirst();
  if (!identity) throw new JmlError('forbidden', `no identity has the email ${claims.email}`);
  // No console user is made for someone who has left: they could not sign in with it anyway.
  if (identity.status === 'left') throw new JmlError('forbidden', `${claims.email} belongs to ${identity.key}, who has left`);
  // Never a takeover of a local account: linked, it would lose its password's second-factor requirement.
  const local = await db.selectFrom('console_users').select('id').where(sql`lower(username)`, '=', claims.email.toLowerCase()).executeTakeFirst();
  if (local) throw new JmlError('forbidden', `${claims.email} is already a local console user; sign in with its password, or ask an admin to rename it`);
  return createUser(db, { username: claims.email, displayName: claims.name ?? claims.email, identityKey: identity.key, oidcSubject: subject }, `oidc:${issuer}`);
}

/**
 * Gives a user a new one-time password (returned once, stored hashed), which
 * they must replace at their next sign-in, and ends their sessions (API tokens
 * are left: automation keeps running). Audited in the same transaction.
 * `who` is the user id or the username.
 */
export async function resetPassword(db: Kysely<Database>, who: string, actor: string, trigger: string, now: Date): Promise<{ user: ConsoleUser; password: string }> {
  const password = generatePassword();
  const passwordHash = await hashPassword(password);
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('console_users')
      .set({ password_hash: passwordHash, password_change_required: true })
      .where((eb) => eb.or([eb('id', '=', who), eb(sql`lower(username)`, '=', who.toLowerCase())]))
      .where('oidc_subject', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new JmlError('not_found', `no local console user ${who} (users who sign in through OIDC have no password here)`, { details: { user: who } });
    const ended = await trx.updateTable('console_sessions').set({ revoked_at: now.toISOString() }).where('user_id', '=', row.id).where('revoked_at', 'is', null).executeTakeFirst();
    await appendAudit(trx, { actor, action: 'user.password_reset', subject: `user:${row.id}`, trigger, details: { username: row.username, sessionsEnded: Number(ended.numUpdatedRows) } }, now);
    return { user: toConsoleUser(row), password };
  });
}

/** Replaces the caller's own password after checking the current one; clears a pending forced change. Audited. */
export async function changeOwnPassword(db: Kysely<Database>, userId: string, current: string, next: string, actor: string, trigger: string, now: Date): Promise<void> {
  const row = await db.selectFrom('console_users').select(['password_hash']).where('id', '=', userId).executeTakeFirst();
  if (!row?.password_hash || !(await verifyPassword(current, row.password_hash))) throw new JmlError('forbidden', 'the current password is wrong');
  if (current === next) throw new JmlError('invalid_input', 'the new password must differ from the current one', { details: { field: 'newPassword' } });
  const passwordHash = await hashPassword(next);
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('console_users').set({ password_hash: passwordHash, password_change_required: false }).where('id', '=', userId).execute();
    await appendAudit(trx, { actor, action: 'user.password_changed', subject: `user:${userId}`, trigger }, now);
  });
}
