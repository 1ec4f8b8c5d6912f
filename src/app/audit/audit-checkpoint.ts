/**
 * Checkpoints anchor the audit chain outside the database. A checkpoint is the
 * chain head (sequence and hash) at a time, signed with the Ed25519 audit key
 * and appended as one JSON line to a file the database's owner cannot reach
 * (and optionally POSTed to a collector). Because every entry's hash covers the
 * one before it, a chain whose entry N still carries the hash a checkpoint
 * recorded for N is the same chain up to N: removing entries from the end
 * (even with the stored head "fixed") or rewriting one and re-hashing
 * everything after it both break that.
 */
import { sign, verify } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { canonicalJson } from '../../domain/canonical-json.ts';
import { JmlError } from '../../domain/errors.ts';
import { verifyAudit } from '../../store/audit-log.ts';
import type { Database } from '../../store/database.ts';
import type { SigningKey, VerifyKey } from './checkpoint-key.ts';

export const CHECKPOINT_TYPE = 'jml.audit.checkpoint' as const;

export interface Checkpoint {
  readonly type: typeof CHECKPOINT_TYPE;
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
  readonly key_id: string;
  /** Base64 Ed25519 signature of the canonical JSON of every other field. */
  readonly signature: string;
}

/** Signs a chain head. Pure apart from the signature itself: `now` is given. */
export function signCheckpoint(head: { readonly seq: number; readonly hash: string }, key: SigningKey, now: Date): Checkpoint {
  const body = { type: CHECKPOINT_TYPE, seq: head.seq, hash: head.hash, at: now.toISOString(), key_id: key.keyId };
  return { ...body, signature: sign(null, Buffer.from(canonicalJson(body)), key.privateKey).toString('base64') };
}

/** Whether a checkpoint was signed by this key and not changed since. */
export function checkpointSignatureValid(checkpoint: Checkpoint, key: VerifyKey): boolean {
  const { signature, ...body } = checkpoint;
  if (body.key_id !== key.keyId) return false;
  try {
    return verify(null, Buffer.from(canonicalJson(body)), key.publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export interface CheckpointSinks {
  /** The append-only JSONL file (opened for append only; never rewritten). */
  readonly file?: string | undefined;
  /** A collector that receives each checkpoint as a JSON POST. */
  readonly url?: string | undefined;
}

/**
 * Reads the chain head, signs it and appends the checkpoint to every sink.
 * The head is read as stored: a checkpoint says "the chain had this head at
 * this time", and `jml audit verify --checkpoints` proves later chains extend it.
 */
export async function takeCheckpoint(db: Kysely<Database>, key: SigningKey, sinks: CheckpointSinks, now: Date): Promise<Checkpoint> {
  if (!sinks.file && !sinks.url) throw new JmlError('invalid_input', 'a checkpoint needs somewhere to go: set audit.checkpoint_file (JML_AUDIT_CHECKPOINT_FILE) or audit.checkpoint_url');
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
  const checkpoint = signCheckpoint(head, key, now);
  const line = `${JSON.stringify(checkpoint)}\n`;
  if (sinks.file) appendFileSync(sinks.file, line, { flag: 'a', mode: 0o644 });
  if (sinks.url) {
    const response = await fetch(sinks.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: line, signal: AbortSignal.timeout(10_000) }).catch((cause: unknown) => {
      throw new JmlError('unavailable', `cannot send the checkpoint to ${sinks.url}: ${(cause as Error).message}`, { cause, retryable: true });
    });
    if (!response.ok) throw new JmlError('unavailable', `the checkpoint collector ${sinks.url} answered ${response.status}`, { retryable: true });
  }
  return checkpoint;
}

/** A checkpoint read back, with where it was read (file:line) so failures can name it. */
export interface LocatedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly where: string;
}

/** Reads checkpoints from a JSONL file, or from every `*.jsonl` file in a directory. A malformed line names file and line. */
export function readCheckpoints(fileOrDir: string): readonly LocatedCheckpoint[] {
  let files: string[];
  try {
    files = statSync(fileOrDir).isDirectory()
      ? readdirSync(fileOrDir).filter((f) => f.endsWith('.jsonl')).sort().map((f) => path.join(fileOrDir, f))
      : [fileOrDir];
  } catch (cause) {
    throw new JmlError('invalid_input', `cannot read checkpoints from ${fileOrDir}: ${(cause as Error).message}`, { cause });
  }
  const out: LocatedCheckpoint[] = [];
  for (const file of files) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      const where = `${file}:${i + 1}`;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new JmlError('invalid_input', `${where}: not a JSON line`);
      }
      out.push({ checkpoint: asCheckpoint(parsed, where), where });
    });
  }
  return out;
}

const checkpointSchema = z.strictObject({
  type: z.literal(CHECKPOINT_TYPE),
  seq: z.number().int().min(0),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.string(),
  key_id: z.string(),
  signature: z.string(),
});

function asCheckpoint(value: unknown, where: string): Checkpoint {
  const result = checkpointSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new JmlError('invalid_input', `${where}: field ${issue.path.join('.') || '(line)'} is missing or malformed (${issue.message})`);
}

export type CheckpointVerdict =
  | { readonly ok: true; readonly entries: number; readonly headHash: string; readonly checkpoints: number; readonly latest: Checkpoint | null }
  | { readonly ok: false; readonly entries: number; readonly reason: string; readonly where?: string };

/**
 * Verifies the chain (every link, and its end against the stored head), then
 * that it extends every checkpoint: each checkpoint's signature is valid and
 * the entry at its sequence still exists and carries its hash.
 */
export async function verifyAgainstCheckpoints(db: Kysely<Database>, checkpoints: readonly LocatedCheckpoint[], key: VerifyKey): Promise<CheckpointVerdict> {
  for (const { checkpoint, where } of checkpoints) {
    if (!checkpointSignatureValid(checkpoint, key)) {
      return { ok: false, entries: 0, where, reason: `the checkpoint at ${where} is not signed by the audit key ${key.keyId} (forged, edited or signed with another key)` };
    }
  }
  const chain = await verifyAudit(db);
  if (!chain.ok) return { ok: false, entries: chain.entries, reason: `entry ${chain.brokenAt}: ${chain.reason}` };
  const wanted = [...new Set(checkpoints.map((c) => c.checkpoint.seq).filter((seq) => seq > 0))];
  const stored = new Map<number, string>();
  for (let i = 0; i < wanted.length; i += 1000) {
    const rows = await db.selectFrom('audit_log').select(['seq', 'hash']).where('seq', 'in', wanted.slice(i, i + 1000)).execute();
    for (const row of rows) stored.set(row.seq, row.hash);
  }
  for (const { checkpoint, where } of checkpoints) {
    if (checkpoint.seq === 0) continue;
    const hash = stored.get(checkpoint.seq);
    if (hash === undefined) {
      return { ok: false, entries: chain.entries, where, reason: `the chain ends at entry ${chain.entries} but the checkpoint at ${where} (${checkpoint.at}) saw entry ${checkpoint.seq}: entries at the end were removed` };
    }
    if (hash !== checkpoint.hash) {
      return { ok: false, entries: chain.entries, where, reason: `entry ${checkpoint.seq} no longer carries the hash the checkpoint at ${where} (${checkpoint.at}) recorded: the chain up to it was rewritten` };
    }
  }
  const latest = checkpoints.reduce<Checkpoint | null>((best, { checkpoint }) => (best === null || checkpoint.seq >= best.seq ? checkpoint : best), null);
  return { ok: true, entries: chain.entries, headHash: chain.headHash, checkpoints: checkpoints.length, latest };
}
