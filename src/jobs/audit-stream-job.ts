/**
 * The SIEM streams of `audit.streams` as jobs of `jml worker`: the same
 * stream as `jml audit stream` (src/app/siem/siem-stream.ts: seq order, the
 * cursor committed only after the receiver took a batch, the next batch read
 * only then, retries with the one backoff rule), run in slices.
 *
 * Each stream is one job at a time (queue policy `stately`, singletonKey =
 * the stream's name): a slice sends for AUDIT_STREAM_SLICE_MS, queues the
 * next slice and ends. Two workers never send one stream at once; a worker
 * that stops ends its slice at once and the next worker to start (or any
 * other worker) resumes at the checkpointed cursor; one that is killed holds
 * the stream until its job expires, then the batch in flight is sent again
 * (at-least-once). A cron tick every minute restarts a stream whose chain
 * of slices broke.
 */
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { AuditStreamConfig } from '../app/config.ts';
import type { Backoff } from '../domain/retry-backoff.ts';
import { runAuditStream } from '../app/siem/siem-stream.ts';
import { sinkFor, targetFormat } from '../app/siem/siem-target.ts';
import type { Database } from '../store/database.ts';
import { AUDIT_STREAM_SLICE_MS, auditStreamJobSchema, QUEUE } from './job-queues.ts';

export interface AuditStreamJobDeps {
  readonly db: Kysely<Database>;
  readonly streams: readonly AuditStreamConfig[];
  /** Aborted when the worker stops: the slice in hand ends after its current batch. */
  readonly signal: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
  readonly sliceMs?: number;
  /** How long a caught-up stream waits before looking for new entries (default 1 s). */
  readonly idleMs?: number;
  readonly backoff?: Backoff;
  /** Told of each failed send (the stream retries; nothing is skipped). Default: a line on stderr. */
  readonly onError?: (stream: string, error: unknown, attempt: number) => void;
}

const sendOptions = (name: string) => ({ singletonKey: name });

/**
 * Registers the stream worker, the per-minute restart tick (with `cron`) and
 * starts every configured stream. Nothing is registered without streams.
 * @example await registerAuditStreams(boss, { db, streams: config.audit.streams, signal }, { pollingIntervalSeconds: 0.5 }, true);
 */
export async function registerAuditStreams(boss: PgBoss, deps: AuditStreamJobDeps, polling: { readonly pollingIntervalSeconds: number }, cron: boolean): Promise<void> {
  if (deps.streams.length === 0) return;
  const byName = new Map(deps.streams.map((s) => [s.name, s]));
  const onError = deps.onError ?? ((name, error, attempt) => process.stderr.write(`jml worker: audit stream ${name}: ${(error as Error).message} (attempt ${attempt}; retrying, nothing skipped)\n`));
  await boss.work(QUEUE.auditStream, { ...polling, batchSize: 1, localConcurrency: deps.streams.length }, async ([job]) => {
    const { name } = auditStreamJobSchema.parse(job!.data);
    // A stream taken out of the configuration ends here; its cursor stays for a later return.
    const stream = byName.get(name);
    if (!stream || deps.signal.aborted) return;
    await runSlice(deps, stream, onError);
    if (!deps.signal.aborted) await boss.send(QUEUE.auditStream, { name }, sendOptions(name));
  });
  for (const stream of deps.streams) {
    if (cron) await boss.schedule(QUEUE.auditStream, '* * * * *', { name: stream.name }, { ...sendOptions(stream.name), key: `stream:${stream.name}` });
    await boss.send(QUEUE.auditStream, { name: stream.name }, sendOptions(stream.name));
  }
}

async function runSlice(deps: AuditStreamJobDeps, stream: AuditStreamConfig, onError: NonNullable<AuditStreamJobDeps['onError']>): Promise<void> {
  const env = deps.env ?? process.env;
  const token = env[stream.token_env];
  const sink = sinkFor(stream.target, { ...(stream.ca_file ? { caFile: stream.ca_file } : {}), ...(token ? { token } : {}) });
  try {
    await runAuditStream({
      db: deps.db,
      name: stream.name,
      sink,
      format: targetFormat(stream.target, stream.format),
      formatOptions: { ocsfVersion: stream.ocsf_version, hostname: hostname() },
      batchSize: stream.batch_size,
      signal: AbortSignal.any([deps.signal, AbortSignal.timeout(deps.sliceMs ?? AUDIT_STREAM_SLICE_MS)]),
      ...(deps.idleMs !== undefined ? { idleMs: deps.idleMs } : {}),
      ...(deps.backoff ? { backoff: deps.backoff } : {}),
      onError: (error, attempt) => onError(stream.name, error, attempt),
    });
  } finally {
    await sink.close();
  }
}
