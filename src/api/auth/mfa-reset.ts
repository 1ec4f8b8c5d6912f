/**
 * `jml users reset-mfa`: the way back for a user who lost every factor. It
 * removes their passkeys, authenticator app and recovery codes and ends their
 * sessions; at their next sign-in the policy takes them to enrolment again.
 * When more than one active admin exists, the reset waits (24 hours at most)
 * for an admin other than the user concerned to confirm it in the console
 * with a fresh second factor: one person at a terminal cannot strip a
 * colleague's factors alone.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { Database } from '../../store/database.ts';

const RESET_TTL_MS = 24 * 3_600_000;

export type MfaResetOutcome = { readonly status: 'done'; readonly username: string } | { readonly status: 'pending'; readonly id: string; readonly username: string; readonly expiresAt: string };

async function findUser(db: Kysely<Database>, who: string): Promise<{ id: string; username: string }> {
  const row = await db.selectFrom('console_users').select(['id', 'username']).where((eb) => eb.or([eb('id', '=', who), eb(sql`lower(username)`, '=', who.toLowerCase())])).executeTakeFirst();
  if (!row) throw new JmlError('not_found', `no console user ${who}`, { details: { user: who } });
  return row;
}

async function resetNow(trx: Kysely<Database>, user: { id: string; username: string }, actor: string, trigger: string, now: Date, details: Record<string, unknown>): Promise<void> {
  const passkeys = await trx.deleteFrom('mfa_passkeys').where('user_id', '=', user.id).executeTakeFirst();
  const totp = await trx.deleteFrom('mfa_totp').where('user_id', '=', user.id).executeTakeFirst();
  await trx.deleteFrom('mfa_recovery_codes').where('user_id', '=', user.id).execute();
  const ended = await trx.updateTable('console_sessions').set({ revoked_at: now.toISOString() }).where('user_id', '=', user.id).where('revoked_at', 'is', null).executeTakeFirst();
  await appendAudit(trx, { actor, action: 'mfa.reset', subject: `user:${user.id}`, trigger, details: { username: user.username, passkeysRemoved: Number(passkeys.numDeletedRows), totpRemoved: totp.numDeletedRows > 0n, sessionsEnded: Number(ended.numUpdatedRows), ...details } }, now);
}

/** Resets at once when at most one active admin exists; otherwise files a reset for a second admin to confirm. Audited either way. */
export async function requestMfaReset(db: Kysely<Database>, who: string, actor: string, trigger: string, now: Date): Promise<MfaResetOutcome> {
  const user = await findUser(db, who);
  return db.transaction().execute(async (trx) => {
    const admins = await trx.selectFrom('console_users').select('id').where('status', '=', 'active').where(sql<boolean>`'admin' = any(roles)`).execute();
    if (admins.length <= 1) {
      await resetNow(trx, user, actor, trigger, now, { confirmation: 'not needed: at most one admin' });
      return { status: 'done' as const, username: user.username };
    }
    const id = `mfr-${randomUUID()}`;
    const expiresAt = new Date(now.getTime() + RESET_TTL_MS).toISOString();
    await trx.insertInto('mfa_resets').values({ id, user_id: user.id, requested_by: actor, requested_at: now.toISOString(), expires_at: expiresAt }).execute();
    await appendAudit(trx, { actor, action: 'mfa.reset_requested', subject: `user:${user.id}`, trigger, details: { id, username: user.username, expiresAt } }, now);
    return { status: 'pending' as const, id, username: user.username, expiresAt };
  });
}

export interface PendingMfaReset {
  readonly id: string;
  readonly userId: string;
  readonly username: string;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly expiresAt: string;
}

/** Resets waiting for confirmation, oldest first. */
export async function pendingMfaResets(db: Kysely<Database>, now: Date): Promise<PendingMfaReset[]> {
  const rows = await db
    .selectFrom('mfa_resets as r')
    .innerJoin('console_users as u', 'u.id', 'r.user_id')
    .select(['r.id', 'r.user_id', 'u.username', 'r.requested_by', 'r.requested_at', 'r.expires_at'])
    .where('r.confirmed_at', 'is', null)
    .where('r.expires_at', '>', now)
    .orderBy('r.requested_at')
    .execute();
  return rows.map((r) => ({ id: r.id, userId: r.user_id, username: r.username, requestedBy: r.requested_by, requestedAt: r.requested_at.toISOString(), expiresAt: r.expires_at.toISOString() }));
}

/** A second admin confirms a pending reset, which then happens. Nobody confirms the reset of their own factors. */
export async function confirmMfaReset(db: Kysely<Database>, id: string, confirmer: { userId: string; actor: string }, trigger: string, now: Date): Promise<{ username: string }> {
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('mfa_resets as r').innerJoin('console_users as u', 'u.id', 'r.user_id').select(['r.user_id', 'u.username', 'r.confirmed_at', 'r.expires_at']).where('r.id', '=', id).forUpdate().executeTakeFirst();
    if (!row || row.confirmed_at !== null || row.expires_at.getTime() <= now.getTime()) throw new JmlError('not_found', `no pending sign-in reset ${id}`);
    if (row.user_id === confirmer.userId) throw new JmlError('forbidden', 'another admin must confirm the reset of your own sign-in methods');
    await trx.updateTable('mfa_resets').set({ confirmed_by: confirmer.actor, confirmed_at: now.toISOString() }).where('id', '=', id).execute();
    await resetNow(trx, { id: row.user_id, username: row.username }, confirmer.actor, trigger, now, { resetId: id });
    return { username: row.username };
  });
}
