/**
 * Credentials listed in the non-human identity inventory: upserted per
 * (identity, system, name), so re-importing the inventory updates rotation and
 * expiry times instead of duplicating keys.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { SourceSnapshot } from '../sources/source-record.ts';
import type { DiffResult } from '../sources/snapshot-diff.ts';
import { bulkInsert } from '../store/bulk-write.ts';
import type { Database } from '../store/database.ts';

export async function upsertCredentials(db: Kysely<Database>, snapshot: SourceSnapshot, diff: DiffResult): Promise<void> {
  const identityOf = new Map(diff.records.map((r) => [r.recordKey, r.identityKey]));
  const rows: Record<string, unknown>[] = [];
  for (const record of snapshot.records) {
    const identityKey = identityOf.get(record.key);
    if (!identityKey) continue;
    for (const c of record.credentials ?? []) {
      rows.push({
        id: `cred_${createHash('sha256').update(`${identityKey}\u0000${c.system}\u0000${c.name}`).digest('hex').slice(0, 24)}`,
        identity_key: identityKey,
        system: c.system,
        kind: c.kind,
        name: c.name,
        created_at: c.createdAt,
        last_rotated_at: c.lastRotatedAt,
        expires_at: c.expiresAt,
        status: 'active',
      });
    }
  }
  await bulkInsert(
    db,
    'credentials',
    { id: 'text', identity_key: 'text', system: 'text', kind: 'text', name: 'text', created_at: 'text', last_rotated_at: 'text', expires_at: 'text', status: 'text' },
    rows,
    { upsert: { conflict: ['id'], update: ['kind', 'created_at', 'last_rotated_at', 'expires_at'] } },
  );
}
