/**
 * API benchmark: 100,000 identities, then the people list and the identity
 * page under a loopback open-loop load at a steady rate (api-load.ts: each
 * request sent when due, its latency counted from then).
 * Target: p99 ≤ 50 ms at 500 requests/s. The load generator runs in its own
 * process so its work does not share the server's event loop and inflate the
 * latencies it measures. Run alone:
 *   node bench/api-bench.ts [--identities 100000] [--rate 500] [--seconds 10] [--case 'people list (50']
 * With DATABASE_URL it runs on that PostgreSQL server, in a database of its own
 * (created and dropped), else on PGlite.
 * The identity page is the real one: the demo policy explained for each identity.
 *
 * --under-load (PostgreSQL): the nightly work runs meanwhile in another process
 * on the same machine and server — `jml import hr` of a 100,000-row file and
 * `jml plan`, over and over, in a database of its own, started afresh for each
 * case so that every case meets it at the same point — and the figures say how
 * many of those imports and plans overlapped the measurement (issue 16, goal 4).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { buildApiServer } from '../src/api/api-server.ts';
import { createApiMetrics } from '../src/api/api-metrics.ts';
import { createCredentialStore } from '../src/api/auth/credential-store.ts';
import { createUser } from '../src/api/auth/user-store.ts';
import { createConsoleServices } from '../src/api/console-services.ts';
import { loadConfig } from '../src/app/config.ts';
import { openStore, type Store } from '../src/store/open-store.ts';
import { createScratchDatabase } from '../test/support/scratch-database.ts';
import { CASES, key, MEASURING_LINE, type ApiBenchFigure, type LoadRequest } from './api-load.ts';
import { writeHrFile } from './import-bench.ts';
import { JML_BIN } from './process-measure.ts';

export interface ApiBenchOptions {
  readonly identities?: number;
  readonly rate?: number;
  readonly seconds?: number;
  readonly databaseUrl?: string;
  readonly log?: (line: string) => void;
  /** PostgreSQL only: import and plan 100,000 people in another process while measuring. */
  readonly underLoad?: boolean;
  /** Only the cases whose name starts with this (e.g. `people list (50`); every case when absent. */
  readonly only?: string;
}

export type { ApiBenchFigure };

/**
 * Time the API's requests wait for a connection of the store's pool (PostgreSQL:
 * 10 connections), from `connect` to a client in hand: says whether a slow
 * answer waited for a connection or for the CPU.
 */
function measurePoolWaits(): { take(): { readonly p50: number; readonly p99: number; readonly count: number } } {
  let waits: number[] = [];
  const connect = pg.Pool.prototype.connect;
  pg.Pool.prototype.connect = function (this: pg.Pool, ...args: unknown[]) {
    if (args.length > 0) return (connect as (...a: unknown[]) => unknown).apply(this, args);
    const started = performance.now();
    const client = (connect as () => Promise<pg.PoolClient>).call(this);
    void client.then(() => waits.push(performance.now() - started), () => undefined);
    return client;
  } as typeof connect;
  return {
    take() {
      const sorted = waits.sort((a, b) => a - b);
      waits = [];
      const at = (q: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 10) / 10;
      return { p50: at(0.5), p99: at(0.99), count: sorted.length };
    },
  };
}

/**
 * How long the server's own process held requests up while measured: its event
 * loop's delay (a request that arrives meanwhile waits that long) and its GC
 * pauses. A tail far above them was spent elsewhere: queued for a CPU the
 * machine's other processes held, or in the database.
 */
function measureStalls(): { stop(): { readonly delayP99: number; readonly delayMax: number; readonly gcCount: number; readonly gcMs: number; readonly gcMax: number } } {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  const pauses: number[] = [];
  const gc = new PerformanceObserver((list) => pauses.push(...list.getEntries().map((e) => e.duration)));
  delay.enable();
  gc.observe({ entryTypes: ['gc'] });
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  return {
    stop() {
      delay.disable();
      gc.disconnect();
      return { delayP99: ms(delay.percentile(99)), delayMax: ms(delay.max), gcCount: pauses.length, gcMs: Math.round(pauses.reduce((a, b) => a + b, 0)), gcMax: Math.round(Math.max(0, ...pauses) * 10) / 10 };
    },
  };
}

/**
 * CPU time (ms) the PostgreSQL backends of this database have used, read from
 * /proc: the server's side of each request when it runs on this machine
 * (null when its processes cannot be read: another machine, or not Linux).
 */
async function backendCpuMs(store: Store): Promise<number | null> {
  const { rows } = await sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database()`.execute(store.db);
  let ticks = 0;
  try {
    for (const { pid } of rows) {
      // utime and stime, the 14th and 15th fields, after the parenthesised command name.
      const fields = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
  } catch {
    return null;
  }
  // Clock ticks are 1/100 s on Linux.
  return ticks * 10;
}

async function seed(store: Store, n: number): Promise<void> {
  const departments = ['Engineering', 'Sales', 'Finance', 'IT', 'Support', 'Marketing', 'Legal', 'HR'];
  for (let start = 0; start < n; start += 2000) {
    const rows = [];
    for (let i = start; i < Math.min(n, start + 2000); i += 1) {
      const manager = i < 100 ? null : key(Math.floor(i / 10));
      rows.push({ key: key(i), kind: 'employee', status: i % 50 === 0 ? 'left' : 'active', source: 'hr', attributes: JSON.stringify({ first_name: `First${i}`, last_name: `Last${i}`, email: `person${i}@example.com`, department: departments[i % departments.length]!, title: 'Engineer', employment_type: 'employee', location: 'Berlin', manager }) });
    }
    await store.db.insertInto('identities').values(rows).execute();
  }
  await sql`ANALYZE identities`.execute(store.db);
}

/**
 * Runs the load generator (api-load.ts) in a child process and returns its
 * figure; `measuring` is called when its warm-up is over and the measured
 * requests start, so the server's own figures cover the same stretch.
 */
function loadInChild(request: LoadRequest, measuring: () => void): Promise<ApiBenchFigure> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(import.meta.dirname, 'api-load.ts'), JSON.stringify(request)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith(MEASURING_LINE)) {
        out = out.slice(MEASURING_LINE.length);
        measuring();
      }
    });
    child.on('error', reject);
    // 'close', not 'exit': only then has all of its output been read.
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      try {
        resolve(JSON.parse(out) as ApiBenchFigure);
      } catch (error) {
        reject(new Error(`load generator's figure is not JSON: ${out.slice(0, 200)}`, { cause: error }));
      }
    });
  });
}

/** What the nightly work did while the API was measured. */
interface NightlyWork {
  stop(): Promise<{ readonly imports: number; readonly plans: number }>;
}

/**
 * `jml import hr` (100,000 rows; then the same people with movers and leavers,
 * alternately) and `jml plan`, whole processes one after another until stopped,
 * in a scratch database of their own on the same server.
 */
async function startNightlyWork(databaseUrl: string): Promise<NightlyWork> {
  const scratch = await createScratchDatabase(databaseUrl, 'jml_api_bench_nightly');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jml-bench-nightly-'));
  const files = [path.join(dir, 'hr-1.csv'), path.join(dir, 'hr-2.csv')] as const;
  writeHrFile(files[0], 100_000, 'first');
  writeHrFile(files[1], 100_000, 'second');
  const env = { ...process.env, DATABASE_URL: scratch.url, JML_ACTOR: 'bench-nightly' };
  const base = ['--policy', path.resolve(import.meta.dirname, '../policy')];
  const counts = { imports: 0, plans: 0 };
  let stopped = false;
  let current: ChildProcess | null = null;
  const run = (args: readonly string[]) =>
    new Promise<void>((resolve) => {
      const child = spawn(process.execPath, [JML_BIN, ...base, ...args], { env, cwd: dir, stdio: 'ignore' });
      current = child;
      child.on('exit', () => resolve());
    });
  const loop = (async () => {
    for (let round = 0; !stopped; round += 1) {
      await run(['import', 'hr', files[round % 2]!, '--as-of', round % 2 === 0 ? '2026-11-01' : '2026-11-22', '--allow-mass-change']);
      if (stopped) break;
      counts.imports += 1;
      await run(['plan', '--json']);
      if (!stopped) counts.plans += 1;
    }
  })();
  return {
    async stop() {
      stopped = true;
      (current as ChildProcess | null)?.kill('SIGTERM');
      await loop;
      await scratch.drop();
      rmSync(dir, { recursive: true, force: true });
      return counts;
    },
  };
}

/** Runs the benchmark and returns one figure per endpoint. */
export async function runApiBench(options: ApiBenchOptions = {}): Promise<ApiBenchFigure[]> {
  const n = options.identities ?? 100_000;
  const rate = options.rate ?? 500;
  const seconds = options.seconds ?? 10;
  const log = options.log ?? ((line: string) => console.log(line));
  // On PostgreSQL, a database of its own, dropped afterwards: never the tables behind DATABASE_URL.
  const scratch = options.databaseUrl ? await createScratchDatabase(options.databaseUrl, 'jml_api_bench') : null;
  const poolWaits = scratch ? measurePoolWaits() : null;
  const store = await openStore(scratch ? { databaseUrl: scratch.url } : { dataDir: 'memory://' });
  try {
    const t0 = performance.now();
    await seed(store, n);
    log(`seeded ${n} identities in ${((performance.now() - t0) / 1000).toFixed(1)} s (${store.backend})`);
    const now = () => new Date();
    const config = await loadConfig({ dataDir: 'memory://', policyDir: path.resolve(import.meta.dirname, '../policy') }, {});
    const deps = { db: store.db, backend: store.backend, now, systemsOwnedBy: () => [], services: createConsoleServices({ db: store.db, backend: store.backend, config, now }), metrics: createApiMetrics(), webDir: null, oidc: null };
    const user = await createUser(store.db, { username: 'bench', password: 'bench-password-1', roles: ['admin'] }, 'bench');
    const { token } = await createCredentialStore(deps).createApiToken(user.id, 'bench', ['read'], new Date(Date.now() + 86_400_000));
    const app = await buildApiServer(deps);
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const figures: ApiBenchFigure[] = [];
    if (options.underLoad && !scratch) throw new Error('--under-load needs DATABASE_URL (a PostgreSQL server)');
    for (let i = 0; i < CASES.length; i += 1) {
      if (options.only && !CASES[i]!.name.startsWith(options.only)) continue;
      // Every case meets the nightly work at the same point: started afresh for it. One run for all
      // cases put the first case on the import's start and the others on later phases, so the
      // cases' figures differed by where they fell, not by what they cost.
      const nightly = options.underLoad && options.databaseUrl ? await startNightlyWork(options.databaseUrl) : null;
      if (nightly) log('nightly work running in another process: jml import hr (100,000 rows) and jml plan, repeated');
      const sample = await fetch(`${address}${CASES[i]!.path(n)}`, { headers: { authorization: `Bearer ${token}` } });
      const bytes = (await sample.arrayBuffer()).byteLength;
      // The server's side is measured from the end of the generator's warm-up (2 s at the same rate:
      // JIT, plan caches, the policy cache) to its last answer.
      // Typed by assertion: TypeScript cannot see the callback below run, and would take it as never set.
      let started = undefined as { readonly backendBefore: Promise<number | null>; readonly cpuBefore: NodeJS.CpuUsage; readonly stalls: ReturnType<typeof measureStalls> } | undefined;
      const figure = await loadInChild({ url: address, token, caseIndex: i, identities: n, rate, seconds, warmupSeconds: 2 }, () => {
        poolWaits?.take();
        started = { backendBefore: scratch ? backendCpuMs(store) : Promise.resolve(null), cpuBefore: process.cpuUsage(), stalls: measureStalls() };
      });
      if (!started) throw new Error('the load generator never said it was measuring');
      const { stalls, cpuBefore } = started;
      const backendBefore = await started.backendBefore;
      const stalled = stalls.stop();
      const cpu = process.cpuUsage(cpuBefore);
      const backendAfter = backendBefore === null ? null : await backendCpuMs(store);
      figures.push(figure);
      log(`${figure.name.padEnd(32)} ${figure.throughput.toFixed(0)} req/s  p50 ${figure.p50} ms  p99 ${figure.p99} ms (goal ≤ 50 ms at ${rate} req/s) ${figure.p99 <= 50 && figure.throughput >= rate * 0.95 && figure.errors === 0 ? 'met' : 'MISSED'}  max ${figure.max} ms  errors ${figure.errors}  (load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
      const backend = backendAfter === null || backendBefore === null ? '' : `, PostgreSQL's ${((backendAfter - backendBefore) / Math.max(1, figure.requests)).toFixed(2)} ms`;
      log(`${''.padEnd(32)} the load generator sent p99 ${figure.sendLagP99} ms after a request was due, using ${figure.generatorCpuMs} ms of CPU per request`);
      log(`${''.padEnd(32)} server CPU per request ${((cpu.user + cpu.system) / 1000 / Math.max(1, figure.requests)).toFixed(2)} ms${backend}, response ${bytes} bytes`);
      log(`${''.padEnd(32)} server's event loop delayed: p99 ${stalled.delayP99} ms, max ${stalled.delayMax} ms; GC pauses ${stalled.gcCount}, ${stalled.gcMs} ms in all, longest ${stalled.gcMax} ms`);
      const waited = poolWaits?.take();
      if (waited) log(`${''.padEnd(32)} waiting for a pooled connection: p50 ${waited.p50} ms, p99 ${waited.p99} ms over ${waited.count} statements`);
      if (nightly) {
        const done = await nightly.stop();
        log(`${''.padEnd(32)} nightly work meanwhile: ${done.imports} import(s) and ${done.plans} plan(s) of 100,000 people completed`);
      }
    }
    await app.close();
    return figures;
  } finally {
    await store.close();
    await scratch?.drop();
  }
}


if (import.meta.main) {
  const { values } = parseArgs({ options: { identities: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' }, 'under-load': { type: 'boolean', default: false }, case: { type: 'string' } } });
  await runApiBench({
    identities: values.identities ? Number(values.identities) : undefined,
    rate: values.rate ? Number(values.rate) : undefined,
    seconds: values.seconds ? Number(values.seconds) : undefined,
    databaseUrl: process.env.DATABASE_URL,
    underLoad: values['under-load'],
    only: values.case,
  });
}
