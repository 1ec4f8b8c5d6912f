/**
 * The multi-process target of the fault campaign, on PostgreSQL: two worker
 * processes race on every plan, one may be killed with SIGKILL at a random
 * moment after the plan is submitted (a replacement is started, as a
 * supervisor would), the database server may restart under them, and the
 * systems are simulated ones whose state lives in the database — read here
 * with SQL, not through jml's connector — plus, with --openldap, a real
 * directory (campaign-directory.ts).
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { submitPlan } from '../../src/jobs/change-job.ts';
import { startJobBoss } from '../../src/jobs/job-boss.ts';
import { JmlError } from '../../src/domain/errors.ts';
import { readAcrossRestart, scheduleRestart, type CampaignStore } from './campaign-database.ts';
import type { SyncFaults } from './campaign-generator.ts';
import { applyQueueDrained, countFault, policyDir, sendApplyJobs, type CampaignTarget, type FaultKind, type PolicyExtra, type SystemAccount, type World, SETTLE_BOUND_MS, unsettledPlan, WORKER_PROCESS_OPTIONS } from './campaign-world.ts';

const WORKER = path.join(import.meta.dirname, 'campaign-worker.ts');

interface WorkerProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
}

let spawned = 0;

function spawnWorker(env: Record<string, string>, dir: string): WorkerProcess {
  const child = spawn(process.execPath, [WORKER], { env: { ...process.env, ...env, FAULTS_FILE: path.join(dir, `faults-${++spawned}.json`) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`campaign worker exited (${code}) before it was ready: ${stderr.slice(-2_000)}`)));
  });
  ready.catch(() => undefined);
  const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
  return { child, ready, exited };
}

/**
 * A worker in place of a killed one, as a supervisor would start it: one that
 * exits before it is ready (the database server is restarting) is started again.
 */
async function replacementWorker(env: Record<string, string>, dir: string): Promise<WorkerProcess> {
  for (let attempt = 1; ; attempt++) {
    const worker = spawnWorker(env, dir);
    try {
      await worker.ready;
      return worker;
    } catch (error) {
      if (attempt === 10) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** What a target adds to the worker processes' simulated systems: a real system of its own (see campaign-directory.ts). */
export interface ProcessTargetExtra {
  readonly policy: PolicyExtra;
  /** Environment of the worker processes (CAMPAIGN_REAL_SYSTEMS names the systems they open from policy). */
  readonly env: Readonly<Record<string, string>>;
  /** Called before each apply; the function it returns is awaited once the plan settled. */
  beforeApply(world: World, faults: SyncFaults): Promise<() => Promise<void>>;
  accounts(): Promise<ReadonlyMap<string, readonly SystemAccount[]>>;
  close(): Promise<void>;
}

/**
 * Two worker processes on the store's database, started with the history's
 * first apply (they read its policy directory); `dir` holds the chaos
 * settings and fault counts, and is removed on close.
 */
export async function processTarget(store: CampaignStore, databaseUrl: string, dir: string, extra?: ProcessTargetExtra): Promise<CampaignTarget> {
  // The queue's schema, installed once before two processes race to install it, with the workers' expiry: a queue
  // left at the default (120 s) kept a killed worker's jobs from the others for two minutes.
  const boss = await startJobBoss(store.db, store.backend, { schedule: false, supervise: false, applyExpireSeconds: WORKER_PROCESS_OPTIONS.applyExpireSeconds });
  await boss.stop({ graceful: false, close: false });
  const chaosFile = path.join(dir, 'chaos.json');
  writeFileSync(chaosFile, '{}');
  let env: Record<string, string> = {};
  const workers: WorkerProcess[] = [];
  const started = async (world: World) => {
    if (workers.length > 0) return;
    env = { ...extra?.env, DATABASE_URL: databaseUrl, CHAOS_FILE: chaosFile, POLICY_DIR: policyDir(world) };
    workers.push(spawnWorker(env, dir), spawnWorker(env, dir));
    await Promise.all(workers.map((w) => w.ready));
  };
  return {
    ...(extra ? { policy: extra.policy } : {}),
    restartsDuringApply: true,
    async apply(world, plan, currentFingerprint, faults) {
      await started(world);
      if ((await currentFingerprint()) !== plan.fingerprint) throw new JmlError('stale_plan', `plan ${plan.id} is stale`);
      writeFileSync(chaosFile, JSON.stringify({ timeoutRate: faults.timeoutRate, rateLimitRate: faults.rateLimitRate, unavailableRate: faults.unavailableRate, crashRate: faults.resetRate }));
      const healed = extra ? await extra.beforeApply(world, faults) : async () => undefined;
      const submitter = await startJobBoss(store.db, store.backend, { schedule: false, supervise: false });
      try {
        await submitPlan({ db: store.db, boss: submitter, actor: 'campaign:apply', now: () => world.now }, plan);
      } finally {
        await submitter.stop({ graceful: false, close: false });
      }
      countFault(world, 'two_workers_racing');
      const restart = faults.postgresRestart?.during === 'apply' ? scheduleRestart(store, faults.postgresRestart, (kind) => countFault(world, kind as FaultKind)) : null;
      try {
        if (faults.killWorkerAfterMs !== null) {
          await new Promise((r) => setTimeout(r, faults.killWorkerAfterMs!));
          const victim = workers.shift()!;
          victim.child.kill('SIGKILL');
          await victim.exited;
          countFault(world, 'worker_killed');
          workers.push(await replacementWorker(env, dir));
        }
        await planSettled(store, plan.id);
      } finally {
        restart?.phaseOver();
        await restart?.done;
        await healed();
      }
      writeFileSync(chaosFile, '{}');
      tallyWorkerFaults(world, dir);
    },
    async redeliver(world, jobs) {
      await started(world);
      await sendApplyJobs(world, jobs);
      await applyQueueDrained(world);
      tallyWorkerFaults(world, dir);
    },
    async accounts() {
      const accounts = await store.db.selectFrom('sim_accounts').select(['system', 'account_id', 'identity_key', 'enabled']).execute();
      const grants = await store.db.selectFrom('sim_grants').select(['system', 'account_id', 'entitlement']).execute();
      const out = new Map<string, readonly SystemAccount[]>(extra ? await extra.accounts() : []);
      for (const a of accounts) {
        const held = grants.filter((g) => g.system === a.system && g.account_id === a.account_id).map((g) => g.entitlement).sort();
        out.set(a.system, [...(out.get(a.system) ?? []), { identityKey: a.identity_key ?? '', accountId: a.account_id, enabled: a.enabled, grants: held }]);
      }
      return out;
    },
    async close() {
      for (const w of workers) w.child.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
      await extra?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The chaos faults every worker process of this target wrote (running totals), into the world's tally. */
function tallyWorkerFaults(world: World, dir: string): void {
  const total: Record<string, number> = {};
  for (const name of readdirSync(dir).filter((f) => f.startsWith('faults-') && f.endsWith('.json'))) {
    for (const [kind, n] of Object.entries(JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Record<string, number>)) total[kind] = (total[kind] ?? 0) + n;
  }
  const { crash = 0, ...rest } = total;
  world.faults.reset_after_apply = crash;
  for (const [kind, n] of Object.entries(rest)) world.faults[kind] = n;
}

/**
 * Waits until the plan is closed, by condition and with a generous bound (a
 * loaded machine may take minutes); on the bound, says which condition did not
 * settle: changes still open (with their runs and jobs), or every change final
 * and the plan never closed.
 */
async function planSettled(store: CampaignStore, planId: string, timeoutMs = SETTLE_BOUND_MS): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const row = await readAcrossRestart(() => store.db.selectFrom('plans').select('status').where('id', '=', planId).executeTakeFirst());
    if (row && row.status !== 'applying') return;
    if (Date.now() > until) throw new Error(`plan ${planId} did not settle within ${timeoutMs / 1000} s: ${await unsettledPlan(store, planId)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
