/**
 * Jobs benchmark (issue 5):
 * - queue: jobs/s sent (bulk insert and one `send` at a time) and worked
 *   (batch workers, empty handler), on PGlite and on PostgreSQL;
 * - apply: plan changes/s through `startWorkers` against a fake connector
 *   with 20 ms per call (read back, act, read back: 60 ms a change), with 1
 *   and 3 worker processes on PostgreSQL, in five consecutive rounds (issue 16
 *   goal 6: 3 processes ≥ 2.5× one in each round), and 1 in-process worker
 *   on PGlite. Each process holds `inFlight` changes at
 *   once (default 4), so one process is bound by the connector's latency and
 *   more processes add capacity, as more workers do in production.
 * - leaver latency: import of a termination → disable confirmed in OpenLDAP
 *   and SCIM, p50/p95 over 100 leavers (needs slapd; bench/leaver-latency.ts).
 *   node bench/jobs-bench.ts [--changes 600] [--rounds 5] [--leavers 100] [--json]     DATABASE_URL adds PostgreSQL
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Change, Plan } from '../src/domain/change.ts';
import { createFakeConnector } from '../src/connectors/fake/fake-connector.ts';
import { startJobBoss } from '../src/jobs/job-boss.ts';
import { submitPlan } from '../src/jobs/change-job.ts';
import { startWorkers } from '../src/jobs/workers.ts';
import { openStore, type Store } from '../src/store/open-store.ts';
import { leaverLatencySkipReason, runLeaverLatency, type LeaverLatency } from './leaver-latency.ts';
import { createScratchDatabase } from '../test/support/scratch-database.ts';

export interface QueueFigures {
  readonly backend: string;
  readonly jobs: number;
  readonly insertPerSecond: number;
  readonly sendPerSecond: number;
  readonly workPerSecond: number;
}

export interface ApplyFigures {
  readonly backend: string;
  readonly processes: number;
  readonly changes: number;
  readonly ms: number;
  readonly changesPerSecond: number;
}

export interface JobsBenchResult {
  readonly queue: readonly QueueFigures[];
  readonly apply: readonly ApplyFigures[];
  /** 3-process over 1-process apply throughput on PostgreSQL, one per round (target ≥ 2.5 in each). */
  readonly speedup3: readonly ScaleOutRound[];
  /** Import of a termination → disable confirmed in OpenLDAP and SCIM (target p95 ≤ 5 s); null without slapd. */
  readonly leaverLatency: LeaverLatency | null;
}

export interface ScaleOutRound {
  readonly round: number;
  readonly ratio: number;
  /** The 1-minute load average when the round ended. */
  readonly load: number;
}

/** Three worker processes against one: the goal for every round. */
export const SCALE_OUT_GOAL = 2.5;

export interface JobsBenchOptions {
  /** Consecutive 1-vs-3-process rounds on PostgreSQL (default 5). */
  readonly rounds?: number;
  readonly databaseUrl?: string;
  readonly jobs?: number;
  readonly changes?: number;
  readonly latencyMs?: number;
  /** Changes one worker process has in hand at once (its batch size); the same for every process. */
  readonly inFlight?: number;
  /** Leavers for the latency run (0 skips it). */
  readonly leavers?: number;
  readonly log?: (line: string) => void;
}

function benchPlan(n: number, tag: string): Plan {
  const changes: Change[] = [];
  for (let i = 0; i < n; i++) changes.push({ id: `c${i}`, kind: 'create_account', identityKey: `B${i}`, system: 'bench', reason: 'joiner', dependsOn: [] });
  return { id: `bench-${tag}-${Date.now()}`, computedAt: new Date().toISOString(), fingerprint: 'bench', changes };
}

async function measureQueue(store: Store, jobs: number): Promise<QueueFigures> {
  const boss = await startJobBoss(store.db, store.backend, { schedule: false });
  try {
    await boss.createQueue('bench-queue');
    let t = performance.now();
    for (let i = 0; i < jobs; i += 500) await boss.insert('bench-queue', Array.from({ length: Math.min(500, jobs - i) }, (_, j) => ({ data: { i: i + j } })));
    const insertMs = performance.now() - t;
    const single = Math.min(500, jobs);
    t = performance.now();
    for (let i = 0; i < single; i++) await boss.send('bench-queue', { i });
    const sendMs = performance.now() - t;
    const total = jobs + single;
    let done = 0;
    t = performance.now();
    await boss.work('bench-queue', { batchSize: 100, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true, localConcurrency: 2 }, async (batch) => {
      done += batch.length;
    });
    while (done < total) await new Promise((r) => setTimeout(r, 20));
    const workMs = performance.now() - t;
    return { backend: store.backend, jobs: total, insertPerSecond: Math.round(jobs / (insertMs / 1000)), sendPerSecond: Math.round(single / (sendMs / 1000)), workPerSecond: Math.round(total / (workMs / 1000)) };
  } finally {
    await boss.stop({ graceful: false, close: false });
  }
}

async function waitApplied(store: Store, planId: string): Promise<void> {
  for (;;) {
    const row = await store.db.selectFrom('plans').select('status').where('id', '=', planId).executeTakeFirst();
    if (row && row.status !== 'applying') return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function applyInProcess(store: Store, changes: number, latencyMs: number, inFlight: number): Promise<ApplyFigures> {
  const fake = createFakeConnector({ latencyMs }, { system: 'bench' });
  const workers = await startWorkers({ store, connectorFor: () => fake, alert: () => undefined, options: { schedules: false, batchSize: inFlight, concurrency: 1 } });
  try {
    const plan = benchPlan(changes, 'inproc');
    const t = performance.now();
    await submitPlan({ db: store.db, boss: workers.boss, actor: 'bench' }, plan);
    await waitApplied(store, plan.id);
    const ms = performance.now() - t;
    return { backend: store.backend, processes: 1, changes, ms: Math.round(ms), changesPerSecond: Math.round(changes / (ms / 1000)) };
  } finally {
    await workers.stop(2_000);
  }
}

async function applyWithProcesses(url: string, processes: number, changes: number, latencyMs: number, inFlight: number): Promise<ApplyFigures> {
  const store = await openStore({ databaseUrl: url, poolSize: 4 });
  const worker = path.join(import.meta.dirname, 'jobs-bench-worker.ts');
  const children = Array.from({ length: processes }, () =>
    spawn(process.execPath, [worker], { env: { ...process.env, DATABASE_URL: url, FAKE_LATENCY_MS: String(latencyMs), BATCH_SIZE: String(inFlight), CONCURRENCY: '1' }, stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  try {
    await Promise.all(children.map((c) => new Promise<void>((resolve, reject) => {
      c.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      c.once('exit', (code) => reject(new Error(`bench worker exited with ${code}`)));
    })));
    const boss = await startJobBoss(store.db, store.backend, { schedule: false });
    const plan = benchPlan(changes, `p${processes}`);
    const t = performance.now();
    await submitPlan({ db: store.db, boss, actor: 'bench' }, plan);
    await waitApplied(store, plan.id);
    const ms = performance.now() - t;
    await boss.stop({ graceful: false, close: false });
    return { backend: 'postgres', processes, changes, ms: Math.round(ms), changesPerSecond: Math.round(changes / (ms / 1000)) };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    await store.close();
  }
}


/**
 * Runs the jobs benchmark; PostgreSQL figures only with `databaseUrl` (an
 * admin URL: each run gets a fresh database that is dropped afterwards).
 */
export async function runJobsBench(options: JobsBenchOptions = {}): Promise<JobsBenchResult> {
  const log = options.log ?? (() => undefined);
  const jobs = options.jobs ?? 5_000;
  const changes = options.changes ?? 600;
  const latencyMs = options.latencyMs ?? 20;
  const inFlight = options.inFlight ?? 4;
  const queue: QueueFigures[] = [];
  const apply: ApplyFigures[] = [];

  const pglite = await openStore({ dataDir: 'memory://' });
  try {
    queue.push(await measureQueue(pglite, jobs));
    log(`queue pglite: ${JSON.stringify(queue.at(-1))}`);
    apply.push(await applyInProcess(pglite, changes, latencyMs, inFlight));
    log(`apply pglite: ${JSON.stringify(apply.at(-1))}`);
  } finally {
    await pglite.close();
  }

  const speedup3: ScaleOutRound[] = [];
  if (options.databaseUrl) {
    const fresh = () => createScratchDatabase(options.databaseUrl!, 'jml_bench');
    const qdb = await fresh();
    const qstore = await openStore({ databaseUrl: qdb.url, poolSize: 8 });
    try {
      queue.push(await measureQueue(qstore, jobs));
      log(`queue postgres: ${JSON.stringify(queue.at(-1))}`);
    } finally {
      await qstore.close();
      await qdb.drop();
    }
    for (let round = 1; round <= (options.rounds ?? 5); round++) {
      const rates = new Map<number, number>();
      for (const processes of [1, 3]) {
        const db = await fresh();
        try {
          // Migrate once before the workers start, so they do not race to do it.
          await (await openStore({ databaseUrl: db.url, poolSize: 1 })).close();
          apply.push(await applyWithProcesses(db.url, processes, changes, latencyMs, inFlight));
          rates.set(processes, apply.at(-1)!.changesPerSecond);
          log(`apply postgres, round ${round}: ${JSON.stringify(apply.at(-1))}`);
        } finally {
          await db.drop();
        }
      }
      const ratio = Math.round((rates.get(3)! / rates.get(1)!) * 100) / 100;
      speedup3.push({ round, ratio, load: Math.round(os.loadavg()[0]! * 10) / 10 });
      log(`scale-out round ${round}: 3 processes / 1 process = ${ratio}× (goal ≥ ${SCALE_OUT_GOAL}×), load average ${os.loadavg()[0]!.toFixed(1)}`);
    }
  }
  let leaverLatency: LeaverLatency | null = null;
  const skip = leaverLatencySkipReason();
  if ((options.leavers ?? 100) > 0 && !skip) leaverLatency = await runLeaverLatency({ leavers: options.leavers ?? 100, log });
  else if (skip) log(`leaver latency skipped: ${skip}`);
  return { queue, apply, speedup3, leaverLatency };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { changes: { type: 'string', default: '600' }, rounds: { type: 'string', default: '5' }, jobs: { type: 'string', default: '5000' }, leavers: { type: 'string', default: '100' }, json: { type: 'boolean', default: false } } });
  const result = await runJobsBench({
    changes: Number(values.changes),
    rounds: Number(values.rounds),
    jobs: Number(values.jobs),
    leavers: Number(values.leavers),
    ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
    log: values.json ? undefined : (line) => console.log(line),
  });
  if (!values.json) {
    for (const q of result.queue) console.log(`queue ${q.backend}: insert ${q.insertPerSecond} jobs/s, send ${q.sendPerSecond} jobs/s, work ${q.workPerSecond} jobs/s (${q.jobs} jobs)`);
    for (const a of result.apply) console.log(`apply ${a.backend}, ${a.processes} process(es): ${a.changes} changes in ${a.ms} ms = ${a.changesPerSecond} changes/s`);
    for (const r of result.speedup3) console.log(`scale-out round ${r.round}: 3 processes / 1 process = ${r.ratio}× (goal ≥ ${SCALE_OUT_GOAL}× in each of ${result.speedup3.length} rounds) ${r.ratio >= SCALE_OUT_GOAL ? 'met' : 'NOT met'}, load average ${r.load}`);
    const l = result.leaverLatency;
    if (l) console.log(`leaver latency (import → disable confirmed in OpenLDAP and SCIM), ${l.leavers} leavers: p50 ${l.p50Ms} ms, p95 ${l.p95Ms} ms, max ${l.maxMs} ms (target p95 ≤ 5000 ms)`);
    if (!process.env.DATABASE_URL) console.log('(set DATABASE_URL to an admin URL of a PostgreSQL server for the PostgreSQL figures)');
  }
  console.log(JSON.stringify({ bench: 'jobs', ...result }));
}
