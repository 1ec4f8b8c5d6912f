/**
 * The multi-process target of the fault campaign, on PostgreSQL: two worker
 * processes race on every plan, one may be killed with SIGKILL at a random
 * moment after the plan is submitted (a warmed-up replacement takes its
 * place), and the systems are simulated ones whose state lives in the
 * database — read here with SQL, not through jml's connector.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { submitPlan } from '../../src/jobs/change-job.ts';
import { startJobBoss } from '../../src/jobs/job-boss.ts';
import { JmlError } from '../../src/domain/errors.ts';
import type { Store } from '../../src/store/open-store.ts';
import { applyQueueDrained, countFault, sendApplyJobs, type CampaignTarget, type SystemAccount, type World } from './campaign-world.ts';

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

/** Starts two worker processes on the store's database; `dir` holds the chaos settings and fault counts. */
export async function processTarget(store: Store, databaseUrl: string, dir: string): Promise<CampaignTarget> {
  // The queue's schema, installed once before two processes race to install it.
  const boss = await startJobBoss(store.db, store.backend, { schedule: false, supervise: false });
  await boss.stop({ graceful: false, close: false });
  const chaosFile = path.join(dir, 'chaos.json');
  writeFileSync(chaosFile, '{}');
  const env = { DATABASE_URL: databaseUrl, CHAOS_FILE: chaosFile };
  const workers = [spawnWorker(env, dir), spawnWorker(env, dir)];
  await Promise.all(workers.map((w) => w.ready));
  return {
    async apply(world, plan, currentFingerprint, faults) {
      if ((await currentFingerprint()) !== plan.fingerprint) throw new JmlError('stale_plan', `plan ${plan.id} is stale`);
      writeFileSync(chaosFile, JSON.stringify({ timeoutRate: faults.timeoutRate, rateLimitRate: faults.rateLimitRate, unavailableRate: faults.unavailableRate, crashRate: faults.resetRate }));
      const submitter = await startJobBoss(store.db, store.backend, { schedule: false, supervise: false });
      try {
        await submitPlan({ db: store.db, boss: submitter, actor: 'campaign:apply', now: () => world.now }, plan);
      } finally {
        await submitter.stop({ graceful: false, close: false });
      }
      countFault(world, 'two_workers_racing');
      if (faults.killWorkerAfterMs !== null) {
        await new Promise((r) => setTimeout(r, faults.killWorkerAfterMs!));
        const victim = workers.shift()!;
        victim.child.kill('SIGKILL');
        await victim.exited;
        countFault(world, 'worker_killed');
        const replacement = spawnWorker(env, dir);
        workers.push(replacement);
        await replacement.ready;
      }
      await planSettled(store, plan.id);
      writeFileSync(chaosFile, '{}');
      tallyWorkerFaults(world, dir);
    },
    async redeliver(world, jobs) {
      await sendApplyJobs(world, jobs);
      await applyQueueDrained(world);
      tallyWorkerFaults(world, dir);
    },
    async accounts() {
      const accounts = await store.db.selectFrom('sim_accounts').select(['system', 'account_id', 'identity_key', 'enabled']).execute();
      const grants = await store.db.selectFrom('sim_grants').select(['system', 'account_id', 'entitlement']).execute();
      const out = new Map<string, SystemAccount[]>();
      for (const a of accounts) {
        const held = grants.filter((g) => g.system === a.system && g.account_id === a.account_id).map((g) => g.entitlement).sort();
        out.set(a.system, [...(out.get(a.system) ?? []), { identityKey: a.identity_key ?? '', accountId: a.account_id, enabled: a.enabled, grants: held }]);
      }
      return out;
    },
    async close() {
      for (const w of workers) w.child.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
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

async function planSettled(store: Store, planId: string, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const row = await store.db.selectFrom('plans').select('status').where('id', '=', planId).executeTakeFirst();
    if (row && row.status !== 'applying') return;
    if (Date.now() > until) throw new Error(`plan ${planId} still applying after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
