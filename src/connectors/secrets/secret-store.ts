/**
 * Connector secrets at rest: the `connector_secrets` table holds only
 * ciphertext. A secret is bound to the host it was entered for; asked for it
 * on behalf of any other host, the store clears it instead of handing it out,
 * so a changed system URL can never carry an old password to a new server.
 */
import type { Kysely } from 'kysely';
import { JmlError } from '../../domain/errors.ts';
import type { Database } from '../../store/database.ts';
import { appendAudit } from '../../store/audit-log.ts';
import { openSecret, sealSecret, type SecretContext } from './secret-cipher.ts';
import type { Keyring } from './master-keyring.ts';
import { Secret } from './secret.ts';

type Db = Kysely<Database>;

/** What may be shown about a stored secret: everything but the value. */
export interface SecretInfo {
  readonly system: string;
  readonly field: string;
  readonly keyId: string;
  readonly boundHost: string;
  readonly updatedAt: Date;
}

/**
 * The host part a secret is bound to: `scheme://host:port`, lower-case, with the
 * scheme's default port spelled out. Accepts a URL (http, https, ldap, ldaps…)
 * or a bare `host[:port]`.
 *
 * @example
 * secretBinding('https://App.example/scim/v2') // → 'https://app.example:443'
 */
export function secretBinding(urlOrHost: string): string {
  const text = urlOrHost.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `host://${text}`);
  } catch {
    throw new JmlError('invalid_input', `${JSON.stringify(urlOrHost)} is neither a URL nor a host`);
  }
  if (!url.hostname) throw new JmlError('invalid_input', `${JSON.stringify(urlOrHost)} names no host`);
  const scheme = url.protocol.replace(/:$/, '').toLowerCase();
  const port = url.port || DEFAULT_PORTS[scheme] || '';
  const host = url.hostname.toLowerCase();
  return scheme === 'host' ? `${host}${port ? `:${port}` : ''}` : `${scheme}://${host}${port ? `:${port}` : ''}`;
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443', ldap: '389', ldaps: '636' };

/** Encrypts and stores (or replaces) one secret of a system, bound to a host. */
export async function putSecret(db: Db, keyring: Keyring, system: string, field: string, plaintext: string | Secret, boundHost: string): Promise<void> {
  const context: SecretContext = { system, field, boundHost: secretBinding(boundHost) };
  const value = plaintext instanceof Secret ? plaintext.reveal() : plaintext;
  if (value === '') throw new JmlError('invalid_input', `the secret ${system}/${field} is empty`);
  const sealed = sealSecret(keyring, context, value);
  const row = { key_id: sealed.keyId, nonce: sealed.nonce, ciphertext: sealed.ciphertext, tag: sealed.tag, bound_host: context.boundHost, updated_at: new Date().toISOString() };
  await db
    .insertInto('connector_secrets')
    .values({ system, field, ...row })
    .onConflict((oc) => oc.columns(['system', 'field']).doUpdateSet(row))
    .execute();
}

/**
 * The secret for a system's field, to be sent to `currentHost` (the system's
 * configured URL now). When that is not the host the secret was entered for,
 * the secret is deleted — with an audit entry in the same transaction — and a
 * JmlError asks for it again. A missing secret is `not_found`.
 */
export async function getSecret(
  db: Db,
  keyring: Keyring,
  system: string,
  field: string,
  currentHost: string,
  options: { readonly actor?: string; readonly trigger?: string } = {},
): Promise<Secret> {
  const row = await db.selectFrom('connector_secrets').selectAll().where('system', '=', system).where('field', '=', field).executeTakeFirst();
  if (!row) {
    throw new JmlError('not_found', `no ${field} is stored for system ${system}; enter it first`, { details: { system, field } });
  }
  const current = secretBinding(currentHost);
  if (row.bound_host !== current) {
    const clear = async (trx: Db) => {
      await trx.deleteFrom('connector_secrets').where('system', '=', system).where('field', '=', field).execute();
      await appendAudit(trx, {
        actor: options.actor ?? 'system:jml',
        action: 'connector_secret.cleared',
        subject: `system:${system}`,
        trigger: options.trigger ?? 'host_changed',
        details: { field, boundHost: row.bound_host, currentHost: current },
      });
    };
    await (db.isTransaction ? clear(db) : db.transaction().execute(clear));
    throw new JmlError('forbidden', `the ${field} of system ${system} was entered for ${row.bound_host}, but the system now points at ${current}; it has been cleared and must be entered again`, {
      details: { system, field, boundHost: row.bound_host, currentHost: current },
    });
  }
  const context: SecretContext = { system, field, boundHost: row.bound_host };
  return new Secret(openSecret(keyring, context, { keyId: row.key_id, nonce: row.nonce, ciphertext: row.ciphertext, tag: row.tag }));
}

/** Removes one secret; true when there was one. */
export async function deleteSecret(db: Db, system: string, field: string): Promise<boolean> {
  const result = await db.deleteFrom('connector_secrets').where('system', '=', system).where('field', '=', field).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** What is stored, without values, for listings and `jml secrets`-style output. */
export async function listSecrets(db: Db, system?: string): Promise<SecretInfo[]> {
  let query = db.selectFrom('connector_secrets').select(['system', 'field', 'key_id', 'bound_host', 'updated_at']).orderBy('system').orderBy('field');
  if (system !== undefined) query = query.where('system', '=', system);
  return (await query.execute()).map((r) => ({ system: r.system, field: r.field, keyId: r.key_id, boundHost: r.bound_host, updatedAt: r.updated_at }));
}

/**
 * Re-encrypts every secret not under the keyring's current key, in one
 * transaction: either all move or none. Returns how many moved. Afterwards the
 * older keys can be dropped from the keyring.
 */
export async function rotateSecrets(db: Db, keyring: Keyring): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx.selectFrom('connector_secrets').selectAll().where('key_id', '<>', keyring.current.id).forUpdate().execute();
    for (const row of rows) {
      const context: SecretContext = { system: row.system, field: row.field, boundHost: row.bound_host };
      const plaintext = openSecret(keyring, context, { keyId: row.key_id, nonce: row.nonce, ciphertext: row.ciphertext, tag: row.tag });
      const sealed = sealSecret(keyring, context, plaintext);
      await trx
        .updateTable('connector_secrets')
        .set({ key_id: sealed.keyId, nonce: sealed.nonce, ciphertext: sealed.ciphertext, tag: sealed.tag, updated_at: new Date().toISOString() })
        .where('system', '=', row.system)
        .where('field', '=', row.field)
        .execute();
    }
    return rows.length;
  });
}
