/**
 * The audit trail: append-only (the database refuses UPDATE, DELETE and
 * TRUNCATE), each entry hash-chained to the one before it:
 *   hash = SHA-256(prev_hash ‖ canonical JSON of the entry without its hash).
 * The single-row `audit_head` is locked while appending, so concurrent writers
 * (several processes on one PostgreSQL) still form one chain.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { canonicalJson } from '../domain/canonical-json.ts';
import { bulkInsert } from './bulk-write.ts';
import type { AuditLogTable, Database } from './database.ts';
import { orderedId } from './ordered-id.ts';

export interface AuditEntryInput {
  /** Who: a person's identity key, `system:<name>`, `cli:<user>` or `scheduler`. */
  readonly actor: string;
  /** What, as `noun.verb`: `import.applied`, `identity.status_changed`, `leaver.rescinded`… */
  readonly action: string;
  /** The thing acted on: an identity key, `import:<id>`, `policy`, `system:<name>`… */
  readonly subject: string;
  /** Why now: `import:<id>`, `cli`, `schedule`, `api:<request id>`. */
  readonly trigger: string;
  readonly before?: unknown;
  readonly after?: unknown;
  readonly details?: unknown;
}

export type AuditEntry = Selectable<AuditLogTable>;

export const GENESIS_HASH = '0'.repeat(64);

type Db = Kysely<Database>;

const AUDIT_COLUMNS = {
  seq: 'bigint',
  id: 'text',
  at: 'text',
  actor: 'text',
  action: 'text',
  subject: 'text',
  trigger: 'text',
  before: 'jsonb',
  after: 'jsonb',
  details: 'jsonb',
  prev_hash: 'text',
  hash: 'text',
} as const;

/** Entries written per statement. */
const AUDIT_CHUNK = 2000;

/**
 * Appends entries in order, in the caller's transaction when given one.
 * Entries may come from any iterable (an import's generator): they are hashed
 * and written a chunk at a time, so a 100k-event import never holds every row.
 */
export async function appendAudit(db: Db, entries: AuditEntryInput | Iterable<AuditEntryInput>, now: Date = new Date()): Promise<void> {
  const list: Iterable<AuditEntryInput> = isIterable(entries) ? entries : [entries];
  if (!db.isTransaction) {
    const all = [...list];
    if (all.length === 0) return;
    await db.transaction().execute((trx) => appendAudit(trx, all, now));
    return;
  }
  // The head is locked only once there is something to append, as before.
  const inputs = list[Symbol.iterator]();
  const first = inputs.next();
  if (first.done) return;
  let { seq, hash } = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).forUpdate().executeTakeFirstOrThrow();
  const at = now.toISOString();
  // Hashed as the writer reads them, a chunk at a time: the next chunk is hashed while the previous one is on the server.
  function* hashed(): Generator<AuditEntry> {
    for (let step = first; !step.done; step = inputs.next()) {
      const input = step.value;
      // Members in canonical order (canonical-json.ts), so the hash is taken over the entry itself, not a sorted copy.
      const body = {
        action: input.action,
        actor: input.actor,
        after: input.after ?? null,
        at,
        before: input.before ?? null,
        details: input.details ?? null,
        id: orderedId(),
        prev_hash: hash,
        seq: seq + 1,
        subject: input.subject,
        trigger: input.trigger,
      };
      const row = { ...body, hash: entryHash(body) };
      seq = row.seq;
      hash = row.hash;
      yield row;
    }
  }
  // The new head goes with the last entries, in one round trip.
  await bulkInsert(db, 'audit_log', AUDIT_COLUMNS, hashed(), { chunkSize: AUDIT_CHUNK, then: () => sql`UPDATE audit_head SET seq = ${seq}, hash = ${hash} WHERE id = 1` });
}

function isIterable(value: AuditEntryInput | Iterable<AuditEntryInput>): value is Iterable<AuditEntryInput> {
  return typeof (value as Partial<Iterable<AuditEntryInput>>)[Symbol.iterator] === 'function';
}

/** The hash an entry must carry, computed from everything but the hash itself. */
export function entryHash(entry: Omit<AuditEntry, 'hash'> & { readonly hash?: string }): string {
  const { hash: _ignored, ...body } = entry;
  return createHash('sha256').update(entry.prev_hash).update(canonicalJson(body)).digest('hex');
}

export type AuditVerdict =
  | { readonly ok: true; readonly entries: number; readonly headHash: string }
  | { readonly ok: false; readonly entries: number; readonly brokenAt: number; readonly reason: string };

/**
 * Walks the chain from the first entry. Names the first broken link: an edited
 * entry (hash mismatch), a deleted one (gap in seq / prev_hash mismatch), a
 * reordered one, or a chain whose end no longer matches the recorded head.
 */
export async function verifyAudit(db: Db): Promise<AuditVerdict> {
  // One snapshot for the entries and the head: otherwise an entry appended (with its head) between reading the
  // last entry and reading the head looks like entries removed from the end.
  if (!db.isTransaction) return db.transaction().setIsolationLevel('repeatable read').execute((trx) => verifyAudit(trx));
  let expectedSeq = 1;
  let prev = GENESIS_HASH;
  let count = 0;
  let after = 0;
  for (;;) {
    const batch = await db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(2000).execute();
    if (batch.length === 0) break;
    for (const entry of batch) {
      if (entry.seq !== expectedSeq) {
        return { ok: false, entries: count, brokenAt: expectedSeq, reason: `entry ${expectedSeq} is missing (next present is ${entry.seq}): deleted or reordered` };
      }
      if (entry.prev_hash !== prev) {
        return { ok: false, entries: count, brokenAt: entry.seq, reason: `entry ${entry.seq} does not link to entry ${entry.seq - 1}: an entry before it was changed, removed or reordered` };
      }
      if (entryHash(entry) !== entry.hash) {
        return { ok: false, entries: count, brokenAt: entry.seq, reason: `entry ${entry.seq} was edited: its content no longer matches its hash` };
      }
      prev = entry.hash;
      expectedSeq += 1;
      count += 1;
    }
    after = batch[batch.length - 1]!.seq;
  }
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
  if (head.seq !== count || head.hash !== prev) {
    return { ok: false, entries: count, brokenAt: count + 1, reason: `the chain ends at entry ${count} but the recorded head is entry ${head.seq}: entries at the end were removed` };
  }
  return { ok: true, entries: count, headHash: prev };
}

/** Streams entries in order, a batch at a time, for export to a SIEM: those after seq `after`, at most `limit`. */
export async function* readAudit(db: Db, options: { readonly subject?: string; readonly batchSize?: number; readonly after?: number; readonly limit?: number } = {}): AsyncGenerator<AuditEntry> {
  let after = options.after ?? 0;
  let left = options.limit ?? Infinity;
  for (;;) {
    let query = db.selectFrom('audit_log').selectAll().where('seq', '>', after);
    if (options.subject) query = query.where('subject', '=', options.subject);
    const batch = await query.orderBy('seq').limit(Math.min(options.batchSize ?? 2000, left)).execute();
    if (batch.length === 0) return;
    yield* batch;
    left -= batch.length;
    if (left <= 0) return;
    after = batch[batch.length - 1]!.seq;
  }
}
