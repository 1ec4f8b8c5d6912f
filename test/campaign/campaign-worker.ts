/**
 * A worker process for the fault campaign: `startWorkers` (what `jml worker`
 * runs) on DATABASE_URL, every system a simulated one (its state lives in the
 * database, so it outlives a killed worker) behind the chaos connector. The
 * fault rates are re-read from CHAOS_FILE for every change, so the campaign
 * can change them between plans; faults injected are written to
 * FAULTS_FILE after each one, so a killed worker's count survives it.
 * With CAMPAIGN_REAL_SYSTEMS, those systems are real ones opened from the
 * policy in POLICY_DIR (secrets with JML_MASTER_KEY).
 *   DATABASE_URL, CHAOS_FILE, FAULTS_FILE, HOLD, CAMPAIGN_REAL_SYSTEMS, POLICY_DIR, JML_MASTER_KEY
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createChaosConnector, type ChaosConnector } from '../../src/connectors/chaos/chaos-connector.ts';
import { createSimulatedConnector } from '../../src/connectors/simulated/simulated-connector.ts';
import { openPolicyConnectors } from '../../src/app/connectors-from-policy.ts';
import { startWorkers } from '../../src/jobs/workers.ts';
import { loadPolicy } from '../../src/policy/policy-loader.ts';
import { openStore } from '../../src/store/open-store.ts';
import { WORKER_PROCESS_OPTIONS } from './campaign-world.ts';

const store = await openStore({ databaseUrl: process.env.DATABASE_URL!, poolSize: 4 });
// Real systems (a directory) are opened from the history's policy as `jml worker` opens them; their secrets decrypt with JML_MASTER_KEY.
const realSystems = (process.env.CAMPAIGN_REAL_SYSTEMS ?? '').split(',').filter((s) => s !== '');
const real = realSystems.length > 0 ? await openPolicyConnectors({ db: store.db, policy: (await loadPolicy(process.env.POLICY_DIR!)).policy, actor: `campaign:worker:${process.pid}` }, realSystems) : null;
const chaosFile = process.env.CHAOS_FILE!;
const faultsFile = process.env.FAULTS_FILE!;
const injected: ChaosConnector[] = [];

function saveFaults(): void {
  const total: Record<string, number> = {};
  for (const c of injected) for (const [kind, n] of Object.entries(c.injected)) total[kind] = (total[kind] ?? 0) + n;
  // Whole or not at all: the campaign reads it while this process runs, or after it was killed.
  writeFileSync(`${faultsFile}.tmp`, JSON.stringify(total));
  renameSync(`${faultsFile}.tmp`, faultsFile);
}

function connectorFor(system: string | null) {
  if (system === null) return undefined;
  const inner = real?.get(system) ?? createSimulatedConnector({ groups: ['staff', 'eng', 'admins', 'users'] }, { system, db: store.db });
  const rates = existsSync(chaosFile) ? JSON.parse(readFileSync(chaosFile, 'utf8')) : {};
  const chaos = createChaosConnector({ seed: Math.floor(Math.random() * 2 ** 31), ...rates, crashMode: 'throw', retryAfterMs: 30 }, { inner });
  injected.push(chaos);
  const counted = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    try {
      return await call(...args);
    } finally {
      saveFaults();
    }
  };
  return { ...chaos, readBack: counted(chaos.readBack), apply: counted(chaos.apply!) };
}

if (process.env.HOLD) {
  const go = new Promise<void>((resolve) => process.once('SIGUSR2', () => resolve()));
  process.stdout.write(`loaded ${process.pid}\n`);
  await go;
}
const workers = await startWorkers({
  store,
  connectorFor,
  actor: `campaign:worker:${process.pid}`,
  alert: () => undefined,
  options: { ...WORKER_PROCESS_OPTIONS, schedules: false, applyOnly: true },
});
process.stdout.write(`ready ${process.pid}\n`);
const stop = async () => {
  await workers.stop(5_000);
  await real?.close();
  await store.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
