/**
 * Sessions and API tokens. Only SHA-256 hashes of the secrets are stored. Each
 * lookup joins the user and their identity, so a disabled user or a leaver is
 * refused on the very next request, whatever they hold.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { Database } from '../../store/database.ts';
import { effectiveRoles, type Principal, type TokenScope } from './principal.ts';
import type { PrincipalCache } from './principal-cache.ts';

export const SESSION_TTL_MS = 12 * 3_600_000;
const TOKEN_PREFIX = 'jml_';

export interface CredentialStoreDeps {
  readonly db: Kysely<Database>;
  readonly now: () => Date;
  /** Systems owned by an identity, from the loaded policy. */
  readonly systemsOwnedBy: (identityKey: string) => readonly string[];
  /** Shared by every credential store of one server; without it each request resolves from the database. */
  readonly principalCache?: PrincipalCache;
}

export interface ApiTokenInfo {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly TokenScope[];
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly lastUsedAt: string | null;
  readonly revoked: boolean;
}

export interface CredentialStore {
  /** A new session; `factorAt` when a second factor was proven with it (a passwordless passkey sign-in). */
  createSession(userId: string, factorAt?: Date): Promise<{ token: string; csrfToken: string; expiresAt: Date }>;
  /** Records that the session just proved a second factor (sign-in or step-up). */
  recordFactor(token: string, at: Date): Promise<void>;
  /** The principal behind a session cookie, or null when unknown, expired, revoked, or the user may no longer sign in. */
  resolveSession(token: string): Promise<Principal | null>;
  revokeSession(token: string): Promise<void>;
  createApiToken(userId: string, name: string, scopes: readonly TokenScope[], expiresAt: Date): Promise<{ token: string; info: ApiTokenInfo }>;
  resolveApiToken(token: string): Promise<Principal | null>;
  listApiTokens(userId: string): Promise<ApiTokenInfo[]>;
  revokeApiToken(userId: string, id: string): Promise<void>;
  /** Ends every session and token of a user (on disable); requests are refused anyway, this keeps the tables honest. */
  revokeAll(userId: string): Promise<void>;
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Creates the credential store. */
export function createCredentialStore(deps: CredentialStoreDeps): CredentialStore {
  const { db, now } = deps;
  const cache = deps.principalCache;

  /** Reads through the cache; a miss (or an unknown token, cached too) resolves from the database. */
  async function cached(hash: string, resolve: () => Promise<Principal | null>): Promise<Principal | null> {
    const at = now().getTime();
    const hit = cache?.get(hash, at);
    if (hit !== undefined) return hit;
    const principal = await resolve();
    cache?.set(hash, principal, at);
    return principal;
  }

  async function principalFor(userId: string, via: Principal['via'], scopes: readonly TokenScope[] | null, csrfToken: string | null, signedInAt: Date | null, factorAt: Date | null = null): Promise<Principal | null> {
    // One query: the user, whether they may still act (identity active), and whether anyone reports to them.
    const row = await db
      .selectFrom('console_users as u')
      .leftJoin('identities as i', 'i.key', 'u.identity_key')
      .select([
        'u.id',
        'u.username',
        'u.display_name',
        'u.identity_key',
        'u.roles',
        'u.status',
        'u.password_change_required',
        'u.password_hash',
        'u.oidc_subject',
        'i.status as identity_status',
        sql<boolean>`exists (select 1 from identities r where r.attributes->>'manager' = u.identity_key and r.status <> 'left')`.as('has_reports'),
        sql<boolean>`(exists (select 1 from mfa_passkeys p where p.user_id = u.id) or exists (select 1 from mfa_totp t where t.user_id = u.id and t.confirmed_at is not null))`.as('mfa_enrolled'),
      ])
      .where('u.id', '=', userId)
      .executeTakeFirst();
    if (!row || row.status !== 'active') return null;
    if (row.identity_key !== null && row.identity_status !== 'active') return null;
    const ownedSystems = row.identity_key ? deps.systemsOwnedBy(row.identity_key) : [];
    return {
      userId: row.id,
      username: row.username,
      displayName: row.display_name,
      identityKey: row.identity_key,
      roles: effectiveRoles({ grantedRoles: row.roles, identityKey: row.identity_key, hasReports: row.has_reports, ownedSystems }),
      ownedSystems,
      via,
      scopes,
      csrfToken,
      signedInAt,
      mustChangePassword: row.password_change_required,
      mfa: { enrolled: row.mfa_enrolled, verifiedAt: factorAt, localPassword: row.password_hash !== null && row.oidc_subject === null },
    };
  }

  return {
    async createSession(userId, factorAt) {
      const token = randomBytes(32).toString('base64url');
      const csrfToken = randomBytes(24).toString('base64url');
      const at = now();
      const expiresAt = new Date(at.getTime() + SESSION_TTL_MS);
      await db.insertInto('console_sessions').values({ token_hash: sha256(token), user_id: userId, csrf_token: csrfToken, created_at: at.toISOString(), expires_at: expiresAt.toISOString(), factor_at: factorAt?.toISOString() ?? null }).execute();
      await db.updateTable('console_users').set({ last_sign_in_at: at.toISOString() }).where('id', '=', userId).execute();
      return { token, csrfToken, expiresAt };
    },
    async resolveSession(token) {
      const hash = sha256(token);
      return cached(hash, async () => {
        const row = await db.selectFrom('console_sessions').select(['user_id', 'csrf_token', 'created_at', 'expires_at', 'revoked_at', 'factor_at']).where('token_hash', '=', hash).executeTakeFirst();
        if (!row || row.revoked_at !== null || row.expires_at.getTime() <= now().getTime()) return null;
        return principalFor(row.user_id, 'session', null, row.csrf_token, row.created_at, row.factor_at);
      });
    },
    async recordFactor(token, at) {
      cache?.forget(sha256(token));
      await db.updateTable('console_sessions').set({ factor_at: at.toISOString() }).where('token_hash', '=', sha256(token)).where('revoked_at', 'is', null).execute();
    },
    async revokeSession(token) {
      cache?.forget(sha256(token));
      await db.updateTable('console_sessions').set({ revoked_at: now().toISOString() }).where('token_hash', '=', sha256(token)).where('revoked_at', 'is', null).execute();
    },
    async createApiToken(userId, name, scopes, expiresAt) {
      const id = `tok-${randomUUID()}`;
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const at = now();
      if (expiresAt.getTime() <= at.getTime()) throw new JmlError('invalid_input', 'an API token must expire in the future');
      await db
        .insertInto('api_tokens')
        .values({ id, user_id: userId, name, token_hash: sha256(token), scopes: [...scopes], created_at: at.toISOString(), expires_at: expiresAt.toISOString() })
        .execute();
      return { token, info: { id, name, scopes, createdAt: at.toISOString(), expiresAt: expiresAt.toISOString(), lastUsedAt: null, revoked: false } };
    },
    async resolveApiToken(token) {
      if (!token.startsWith(TOKEN_PREFIX)) return null;
      const hash = sha256(token);
      return cached(hash, async () => {
        const row = await db.selectFrom('api_tokens').select(['id', 'user_id', 'scopes', 'expires_at', 'revoked_at', 'last_used_at']).where('token_hash', '=', hash).executeTakeFirst();
        const at = now();
        if (!row) return null;
        // Authentication events for the SIEM (OCSF 3002). A token jml issued that is revoked or expired
        // is audited as refused (bounded by the tokens issued, and cached like any answer); a random
        // string is not, so a flood of guesses cannot flood the audit trail.
        if (row.revoked_at !== null || row.expires_at.getTime() <= at.getTime()) {
          await appendAudit(db, { actor: `user:${row.user_id}`, action: 'auth.token_refused', subject: `token:${row.id}`, trigger: 'api', details: { via: 'token', reason: row.revoked_at !== null ? 'revoked' : 'expired' } }, at);
          return null;
        }
        // Coarse last-use stamp: at most one write a minute per token keeps hot automation cheap; each is also an audited use.
        if (!row.last_used_at || at.getTime() - row.last_used_at.getTime() > 60_000) {
          await db.transaction().execute(async (trx) => {
            await trx.updateTable('api_tokens').set({ last_used_at: at.toISOString() }).where('id', '=', row.id).execute();
            await appendAudit(trx, { actor: `user:${row.user_id}`, action: 'auth.token_used', subject: `token:${row.id}`, trigger: 'api', details: { via: 'token', scopes: row.scopes } }, at);
          });
        }
        return principalFor(row.user_id, 'token', row.scopes as TokenScope[], null, null);
      });
    },
    async listApiTokens(userId) {
      const rows = await db.selectFrom('api_tokens').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').execute();
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        scopes: r.scopes as TokenScope[],
        createdAt: r.created_at.toISOString(),
        expiresAt: r.expires_at.toISOString(),
        lastUsedAt: r.last_used_at?.toISOString() ?? null,
        revoked: r.revoked_at !== null,
      }));
    },
    async revokeApiToken(userId, id) {
      // The cache is keyed by token hash, which the id does not give: drop the user's entries.
      cache?.forgetWhere({ userId });
      const result = await db.updateTable('api_tokens').set({ revoked_at: now().toISOString() }).where('id', '=', id).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw new JmlError('not_found', `no active API token ${id}`);
    },
    async revokeAll(userId) {
      cache?.forgetWhere({ userId });
      const at = now().toISOString();
      await db.updateTable('console_sessions').set({ revoked_at: at }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
      await db.updateTable('api_tokens').set({ revoked_at: at }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
    },
  };
}
