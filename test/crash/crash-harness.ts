/**
 * Helpers for the crash tests: worker processes started and killed for
 * real, a throwaway PostgreSQL server that can be restarted, polling.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Change, Plan } from '../../src/domain/change.ts';

const WORKER = path.join(import.meta.dirname, 'crash-worker.ts');

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Modules loaded and store open; a worker spawned with HOLD then waits for `release()`. */
  readonly loaded: Promise<void>;
  readonly ready: Promise<void>;
  /** Lets a HOLD worker start taking jobs. */
  release(): void;
  readonly exited: Promise<number | null>;
}

export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [WORKER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let stdout = '';
  const printed = (word: string) =>
    new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', () => stdout.includes(word) && resolve());
      child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ${word}: ${stderr}`)));
    });
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const ready = printed('ready');
  const loaded = env.HOLD ? printed('loaded') : ready;
  // Unobserved until a test awaits them; a worker killed on purpose must not fail the run.
  ready.catch(() => undefined);
  loaded.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, loaded, ready, exited, release: () => child.kill('SIGUSR2') };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let plans = 0;
/** n identities, each with an account created and then a grant that depends on it. */
export function joinerPlan(n: number, prefix = 'E'): Plan {
  const changes: Change[] = [];
  for (let i = 1; i <= n; i++) {
    const key = `${prefix}${i}`;
    changes.push({ id: `create:wiki:${key}`, kind: 'create_account', identityKey: key, system: 'wiki', reason: 'joiner', dependsOn: [] });
    changes.push({ id: `grant:wiki:${key}:staff`, kind: 'add_grant', identityKey: key, system: 'wiki', entitlement: 'staff', reason: 'rule', dependsOn: [`create:wiki:${key}`] });
  }
  return { id: `crash-plan-${process.pid}-${++plans}`, computedAt: new Date().toISOString(), fingerprint: 'fp', changes };
}

export function scratchDir(name: string): string {
  return mkdtempSync(path.join(tmpdir(), `jml-${name}-`));
}

/** The newest PostgreSQL server binaries on this machine, if any. */
export function postgresBin(): string | null {
  if (process.env.JML_TEST_PG_BIN) return process.env.JML_TEST_PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort((a, b) => Number(a) - Number(b));
  const bin = versions.length ? path.join(root, versions[versions.length - 1]!, 'bin') : null;
  return bin && existsSync(path.join(bin, 'pg_ctl')) ? bin : null;
}

/** A PostgreSQL server of our own on loopback, run as the postgres user, that a test may restart. */
export interface OwnPostgres {
  readonly url: string;
  restart(): void;
  /**
   * Restarts without blocking this process, so its queries meet the restart:
   * `immediate` is a crash (no checkpoint; recovery replays the log), `fast`
   * a clean shutdown; both cut every connection.
   */
  restartInBackground(mode: 'immediate' | 'fast'): Promise<void>;
  /** Stops the server and removes its data. */
  stop(): void;
}

export function startOwnPostgres(port: number): OwnPostgres {
  const bin = postgresBin();
  if (!bin) throw new Error('no PostgreSQL server binaries');
  const dir = scratchDir('pg');
  chmodSync(dir, 0o777);
  const asRoot = process.getuid?.() === 0;
  const argv = (command: string): [string, string[]] => (asRoot ? ['su', ['postgres', '-s', '/bin/sh', '-c', command]] : ['/bin/sh', ['-c', command]]);
  const asPostgres = (command: string) => {
    const result = spawnSync(...argv(command), { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${command}: ${result.stderr}`);
  };
  const asPostgresInBackground = (command: string) =>
    new Promise<void>((resolve, reject) => {
      execFile(...argv(command), (error, _stdout, stderr) => (error ? reject(new Error(`${command}: ${stderr}`)) : resolve()));
    });
  const data = path.join(dir, 'data');
  asPostgres(`${bin}/initdb -D ${data} -A trust -U postgres >/dev/null`);
  const startCommand = `${bin}/pg_ctl -D ${data} -l ${dir}/log -o "-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off" -w start >/dev/null`;
  const stopCommand = (mode: 'immediate' | 'fast') => `${bin}/pg_ctl -D ${data} -m ${mode} -w stop >/dev/null`;
  asPostgres(startCommand);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: () => {
      asPostgres(stopCommand('immediate'));
      asPostgres(startCommand);
    },
    restartInBackground: async (mode) => {
      await asPostgresInBackground(stopCommand(mode));
      await asPostgresInBackground(startCommand);
    },
    stop: () => {
      try {
        asPostgres(stopCommand('immediate'));
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
