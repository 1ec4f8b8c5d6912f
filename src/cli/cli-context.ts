/**
 * What every command needs: the configuration, a store opened on demand and
 * closed after, the actor recorded in the audit trail, and output that is
 * human-readable on a terminal and exactly one JSON document with --json.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import os from 'node:os';
import type { Command } from 'commander';
import type { JmlConfig } from '../app/config.ts';
import type { Store } from '../store/open-store.ts';
import { jsonPieces } from './json-writer.ts';

export interface GlobalOptions {
  readonly config?: string;
  readonly data?: string;
  readonly policy?: string;
}

export interface CliContext {
  config(): Promise<JmlConfig>;
  /** Opens the store, runs `fn`, and always closes it (releasing the PGlite directory lock). */
  withStore<T>(fn: (store: Store, config: JmlConfig) => Promise<T>): Promise<T>;
  /** Who runs the command, as recorded in the audit trail. */
  readonly actor: string;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Sets the process exit code without exiting (so stores close cleanly). */
  setExitCode(code: number): void;
}

/**
 * Commands that read or write many rows, or run for long: on PGlite they keep its
 * larger buffer cache. Every other command runs a few statements and ends, and
 * opens a brief store (open-store.ts), which starts faster.
 */
const BULK_COMMANDS: ReadonlySet<string> = new Set(['import', 'demo', 'plan', 'apply', 'reconcile', 'reviews', 'evidence', 'audit', 'serve', 'worker']);

export function createCliContext(program: Command): CliContext {
  let configPromise: Promise<JmlConfig> | null = null;
  const config = () => {
    const opts = program.opts<GlobalOptions>();
    // Imported when first needed: `jml --help` loads neither the configuration's nor the store's libraries.
    configPromise ??= import('../app/config.ts').then(({ loadConfig }) => loadConfig({ configFile: opts.config, dataDir: opts.data, policyDir: opts.policy }));
    return configPromise;
  };
  return {
    config,
    async withStore(fn) {
      const cfg = await config();
      // Refused at start, not at the first connector that needs a secret.
      if (process.env.JML_MASTER_KEY_FILE) (await import('../connectors/secrets/index.ts')).assertPrivateKeyFile(process.env.JML_MASTER_KEY_FILE);
      const { openStore } = await import('../store/open-store.ts');
      // A batch command runs at a lower priority (batch-priority.ts); its PostgreSQL backends follow it where they can.
      // Commander's args start with the name of the command it runs.
      const brief = !BULK_COMMANDS.has(program.args[0] ?? '');
      const store = await openStore({ databaseUrl: cfg.database_url, dataDir: cfg.data_dir, backendNice: os.getPriority(), brief });
      try {
        return await fn(store, cfg);
      } finally {
        await store.close();
      }
    },
    actor: `cli:${safeUserName()}`,
    stdout: process.stdout,
    stderr: process.stderr,
    setExitCode(code) {
      if (code > (process.exitCode as number | undefined ?? 0)) process.exitCode = code;
    },
  };
}

function safeUserName(): string {
  try {
    return process.env.JML_ACTOR || os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Writes one JSON document (as `JSON.stringify(value, null, 2)`, large arrays written piece by piece) followed by a newline. */
export function printJson(ctx: CliContext, value: unknown): void {
  for (const chunk of printedChunks(value)) ctx.stdout.write(chunk);
}

/**
 * `printJson` for a document that may be large (an import's events): each
 * chunk waits until the reader has taken the ones before it. Writes to a pipe
 * are asynchronous, so without waiting the whole document was queued in memory.
 */
export async function printJsonPaced(ctx: CliContext, value: unknown): Promise<void> {
  for (const chunk of printedChunks(value)) {
    if (!ctx.stdout.write(chunk)) await once(ctx.stdout, 'drain');
  }
}

/** Writes `value` to `file` as printJson prints it, a chunk at a time: a plan of 500,000 people is ~160 MB of text. */
export async function writeJsonFile(file: string, value: unknown): Promise<void> {
  await pipeline(Readable.from(printedChunks(value)), createWriteStream(file));
}

/** Bytes per chunk written: one write per element would be a system call each. */
const CHUNK_BYTES = 65_536;

/**
 * The document and its newline as UTF-8, in chunks of about CHUNK_BYTES, each piece
 * encoded straight into its chunk. Joined as text first, a chunk's hundreds of small
 * pieces made a string that had to be flattened before it was encoded: at 100,000
 * people the plan's 31 MiB took 510-920 ms so, 200-370 ms this way (measured in process).
 */
function* printedChunks(value: unknown): Generator<Buffer, void, undefined> {
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;
  for (const piece of documentPieces(value)) {
    // A UTF-16 code unit is at most 3 bytes of UTF-8: a piece that may not fit starts a new chunk.
    if (used + 3 * piece.length > chunk.length) {
      if (used > 0) yield chunk.subarray(0, used);
      chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, 3 * piece.length));
      used = 0;
    }
    used += chunk.write(piece, used);
  }
  yield chunk.subarray(0, used);
}

function* documentPieces(value: unknown): Generator<string, void, undefined> {
  yield* jsonPieces(value);
  yield '\n';
}

export function printLine(ctx: CliContext, line = ''): void {
  ctx.stdout.write(`${line}\n`);
}
