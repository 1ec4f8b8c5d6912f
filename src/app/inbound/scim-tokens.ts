/**
 * Bearer tokens of inbound SCIM clients. A token belongs to one source of
 * type `scim` — the source its pushes land in — and carries `scim:write`
 * (push, and read back) or `scim:read` (read only). Only the SHA-256 of the
 * secret is stored; the secret is shown once, at creation or rotation.
 *
 * Console API tokens (src/api/auth/credential-store.ts) act for a console
 * user with that user's roles; an HR system is no console user, so its
 * tokens are a table of their own with the same hashing and format.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { Database } from '../../store/database.ts';
import type { JmlConfig } from '../config.ts';
import { inboundSource } from './scim-push.ts';

type Db = Kysely<Database>;

export const SCIM_SCOPES = ['scim:write', 'scim:read'] as const;
export type ScimScope = (typeof SCIM_SCOPES)[number];

const PREFIX = 'jml_scim_';

export interface ScimTokenInfo {
  readonly id: string;
  readonly source: string;
  readonly name: string;
  readonly scopes: readonly ScimScope[];
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly lastUsedAt: string | null;
  readonly revoked: boolean;
}

/** What a request's bearer token resolves to. */
export interface ScimCaller {
  readonly tokenId: string;
  readonly source: string;
  readonly name: string;
  readonly scopes: readonly ScimScope[];
  /** The audit actor: `scim:<source>:<token name>`. */
  readonly actor: string;
}

function sha256(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function info(r: { id: string; source: string; name: string; scopes: string[]; created_at: Date; expires_at: Date | null; last_used_at: Date | null; revoked_at: Date | null }): ScimTokenInfo {
  return {
    id: r.id,
    source: r.source,
    name: r.name,
    scopes: r.scopes as ScimScope[],
    createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at?.toISOString() ?? null,
    lastUsedAt: r.last_used_at?.toISOString() ?? null,
    revoked: r.revoked_at !== null,
  };
}

export interface CreateTokenInput {
  readonly source: string;
  readonly name: string;
  readonly scopes: readonly ScimScope[];
  readonly expiresAt: Date | null;
  readonly actor: string;
  readonly now: Date;
}

/**
 * Issues a token for a `scim` source; returns the secret (shown once) and its record.
 * A live token of the same name on that source is refused: rotate it instead.
 */
export async function createScimToken(db: Db, config: JmlConfig, input: CreateTokenInput): Promise<{ readonly secret: string; readonly token: ScimTokenInfo }> {
  inboundSource(config, input.source);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(input.name)) throw new JmlError('invalid_input', `token name "${input.name}": letters, digits, ".", "_" and "-", at most 64`);
  if (input.scopes.length === 0) throw new JmlError('invalid_input', `a token needs a scope: ${SCIM_SCOPES.join(' or ')}`);
  if (input.expiresAt && input.expiresAt.getTime() <= input.now.getTime()) throw new JmlError('invalid_input', 'a token must expire in the future');
  return db.transaction().execute(async (trx) => {
    const live = await trx.selectFrom('scim_tokens').select('id').where('source', '=', input.source).where('name', '=', input.name).where('revoked_at', 'is', null).executeTakeFirst();
    if (live) throw new JmlError('conflict', `source ${input.source} already has a token named ${input.name} (${live.id}): rotate or revoke it`);
    const secret = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    const row = {
      id: `scimtok-${randomUUID()}`, source: input.source, name: input.name, token_hash: sha256(secret), scopes: [...new Set(input.scopes)],
      created_by: input.actor, created_at: input.now.toISOString(), expires_at: input.expiresAt?.toISOString() ?? null,
    };
    await trx.insertInto('scim_tokens').values(row).execute();
    await appendAudit(trx, { actor: input.actor, action: 'scim.token_created', subject: `source:${input.source}`, trigger: 'cli', details: { token: row.id, name: row.name, scopes: row.scopes, expiresAt: row.expires_at } }, input.now);
    return { secret, token: info({ ...row, created_at: input.now, expires_at: input.expiresAt, last_used_at: null, revoked_at: null }) };
  });
}

/** The live token of that name (or id) on the source. */
async function liveToken(db: Db, source: string, nameOrId: string) {
  const row = await db.selectFrom('scim_tokens').selectAll().where('source', '=', source).where((eb) => eb.or([eb('name', '=', nameOrId), eb('id', '=', nameOrId)])).where('revoked_at', 'is', null).executeTakeFirst();
  if (!row) throw new JmlError('not_found', `source ${source} has no live token ${nameOrId}`);
  return row;
}

/** Revokes a token: its next request is refused. */
export async function revokeScimToken(db: Db, source: string, nameOrId: string, actor: string, now: Date): Promise<ScimTokenInfo> {
  return db.transaction().execute(async (trx) => {
    const row = await liveToken(trx, source, nameOrId);
    await trx.updateTable('scim_tokens').set({ revoked_at: now.toISOString() }).where('id', '=', row.id).execute();
    await appendAudit(trx, { actor, action: 'scim.token_revoked', subject: `source:${source}`, trigger: 'cli', details: { token: row.id, name: row.name } }, now);
    return info({ ...row, revoked_at: now });
  });
}

/** A new secret for the same name, scopes and expiry; the old secret stops working at once. */
export async function rotateScimToken(db: Db, source: string, nameOrId: string, actor: string, now: Date): Promise<{ readonly secret: string; readonly token: ScimTokenInfo }> {
  return db.transaction().execute(async (trx) => {
    const old = await liveToken(trx, source, nameOrId);
    await trx.updateTable('scim_tokens').set({ revoked_at: now.toISOString() }).where('id', '=', old.id).execute();
    const secret = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    const row = { id: `scimtok-${randomUUID()}`, source, name: old.name, token_hash: sha256(secret), scopes: old.scopes, created_by: actor, created_at: now.toISOString(), expires_at: old.expires_at?.toISOString() ?? null };
    await trx.insertInto('scim_tokens').values(row).execute();
    await appendAudit(trx, { actor, action: 'scim.token_rotated', subject: `source:${source}`, trigger: 'cli', details: { token: row.id, replaces: old.id, name: old.name } }, now);
    return { secret, token: info({ ...row, created_at: now, expires_at: old.expires_at, last_used_at: null, revoked_at: null }) };
  });
}

/** Every token of the source, live ones first, newest first (secrets are never stored, so never listed). */
export async function listScimTokens(db: Db, source: string): Promise<ScimTokenInfo[]> {
  const rows = await db.selectFrom('scim_tokens').selectAll().where('source', '=', source).orderBy(sql`revoked_at is null`, 'desc').orderBy('created_at', 'desc').execute();
  return rows.map(info);
}

/**
 * The caller behind a bearer secret; null when unknown, revoked or expired.
 * The last-use stamp is written at most once a minute per token.
 */
export async function resolveScimToken(db: Db, secret: string, now: Date): Promise<ScimCaller | null> {
  if (!secret.startsWith(PREFIX) || secret.length > 200) return null;
  const row = await db.selectFrom('scim_tokens').select(['id', 'source', 'name', 'scopes', 'expires_at', 'revoked_at', 'last_used_at']).where('token_hash', '=', sha256(secret)).executeTakeFirst();
  if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at.getTime() <= now.getTime())) return null;
  if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > 60_000) {
    await db.updateTable('scim_tokens').set({ last_used_at: now.toISOString() }).where('id', '=', row.id).execute();
  }
  return { tokenId: row.id, source: row.source, name: row.name, scopes: row.scopes as ScimScope[], actor: `scim:${row.source}:${row.name}` };
}
