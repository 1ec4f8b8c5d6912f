/**
 * The continuous SIEM stream: audit entries after the stream's cursor, in
 * sequence order, a batch at a time, to a sink; the cursor (the last seq the
 * sink accepted) is committed after each batch. So:
 * - at-least-once: a crash between send and commit sends that batch again;
 * - order: entries leave in seq order, so each identity's events keep theirs;
 * - backpressure: the next batch is read only once the sink took the last one;
 * - outage: a failing batch is retried with the one backoff rule of jml, the
 *   cursor does not move, nothing is skipped.
 */
import type { Kysely } from 'kysely';
import { isJmlError } from '../../domain/errors.ts';
import { retryDelayMs, type Backoff } from '../../domain/retry-backoff.ts';
import { readAudit } from '../../store/audit-log.ts';
import type { Database } from '../../store/database.ts';
import { formatEntry, type SiemFormat, type SiemFormatOptions } from './siem-formats.ts';
import type { SiemSink } from './siem-sinks.ts';

type Db = Kysely<Database>;

export interface AuditStreamDeps {
  readonly db: Db;
  /** The stream's name: its cursor is kept under it. */
  readonly name: string;
  readonly sink: SiemSink;
  readonly format: SiemFormat;
  readonly formatOptions?: SiemFormatOptions;
  readonly batchSize?: number;
  readonly backoff?: Backoff;
  /** Stop once caught up (export, tests); otherwise poll every `idleMs`. */
  readonly untilCaughtUp?: boolean;
  readonly idleMs?: number;
  readonly signal?: AbortSignal;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
  readonly onError?: (error: unknown, attempt: number) => void;
}

const DEFAULT_BACKOFF: Backoff = { baseDelayMs: 500, maxDelayMs: 60_000 };
/** Waits `ms`, or less when `signal` aborts (a stopping worker does not sit out a long retry wait). */
const realSleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  if (signal?.aborted) return resolve();
  const done = () => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', done);
    resolve();
  };
  const timer = setTimeout(done, ms);
  signal?.addEventListener('abort', done, { once: true });
});

/** The last seq the stream's receiver accepted (0 before the first batch). */
export async function streamCursor(db: Db, name: string): Promise<number> {
  const row = await db.selectFrom('audit_stream_cursors').select('seq').where('name', '=', name).executeTakeFirst();
  return row ? Number(row.seq) : 0;
}

async function commitCursor(db: Db, name: string, seq: number, at: Date): Promise<void> {
  await db.insertInto('audit_stream_cursors').values({ name, seq, updated_at: at.toISOString() })
    .onConflict((oc) => oc.column('name').doUpdateSet({ seq, updated_at: at.toISOString() })).execute();
}

/**
 * Runs the stream until it is caught up (`untilCaughtUp`) or `signal` aborts.
 * Returns how many entries were handed over and the cursor reached.
 * @example await runAuditStream({ db, name: 'siem', sink: syslogSink({ host, port, tls: {} }), format: 'syslog' });
 */
export async function runAuditStream(deps: AuditStreamDeps): Promise<{ readonly sent: number; readonly cursor: number }> {
  const sleep = deps.sleep ?? ((ms: number) => realSleep(ms, deps.signal));
  const now = deps.now ?? (() => new Date());
  const batchSize = deps.batchSize ?? 500;
  let cursor = await streamCursor(deps.db, deps.name);
  let sent = 0;
  while (!deps.signal?.aborted) {
    const batch = [];
    for await (const entry of readAudit(deps.db, { after: cursor, limit: batchSize, batchSize })) batch.push(entry);
    if (batch.length === 0) {
      if (deps.untilCaughtUp) break;
      await sleep(deps.idleMs ?? 1000);
      continue;
    }
    const records = batch.map((entry) => formatEntry(deps.format, entry, deps.formatOptions));
    for (let attempt = 1; ; attempt++) {
      try {
        await deps.sink.send(records);
        break;
      } catch (error) {
        deps.onError?.(error, attempt);
        if (deps.signal?.aborted) return { sent, cursor };
        // Terminal refusals (a 4xx from the receiver) are retried too, but slowly: the
        // trail must not skip entries, so a person fixes the receiver and the stream catches up.
        const backoff = isJmlError(error) && !error.retryable ? { ...(deps.backoff ?? DEFAULT_BACKOFF), baseDelayMs: (deps.backoff ?? DEFAULT_BACKOFF).maxDelayMs } : (deps.backoff ?? DEFAULT_BACKOFF);
        await sleep(retryDelayMs(attempt, backoff, Math.random));
      }
    }
    cursor = Number(batch[batch.length - 1]!.seq);
    await commitCursor(deps.db, deps.name, cursor, now());
    sent += batch.length;
  }
  return { sent, cursor };
}
