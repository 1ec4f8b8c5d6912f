/**
 * A worker process for the crash tests: `startWorkers` on DATABASE_URL with
 * every system served by the file-backed fake. Settings come from the
 * environment so the test can start, kill and restart it freely.
 *   FAKE_PATH, FAKE_LATENCY_MS, HANG_AFTER_APPLY, APPLY_EXPIRE_SECONDS, HOLD
 */
import { openStore } from '../../src/store/open-store.ts';
import { startWorkers } from '../../src/jobs/workers.ts';
import { createFileFakeConnector } from './file-fake-connector.ts';

const store = await openStore({ databaseUrl: process.env.DATABASE_URL!, poolSize: 6 });
const connector = createFileFakeConnector({
  path: process.env.FAKE_PATH!,
  latencyMs: Number(process.env.FAKE_LATENCY_MS ?? 0),
  ...(process.env.HANG_AFTER_APPLY ? { hangAfterApply: process.env.HANG_AFTER_APPLY } : {}),
});
// HOLD: load and connect, then wait for SIGUSR2 before taking jobs, so a test can have
// a replacement worker warmed up while the one it will kill is still running.
if (process.env.HOLD) {
  const go = new Promise<void>((resolve) => process.once('SIGUSR2', () => resolve()));
  process.stdout.write(`loaded ${process.pid}\n`);
  await go;
}
const workers = await startWorkers({
  store,
  connectorFor: (system) => (system === null ? undefined : connector),
  alert: () => undefined,
  options: {
    applyExpireSeconds: Number(process.env.APPLY_EXPIRE_SECONDS ?? 3),
    superviseIntervalSeconds: 1,
    pollingIntervalSeconds: 0.5,
    batchSize: Number(process.env.BATCH_SIZE ?? 10),
    concurrency: Number(process.env.CONCURRENCY ?? 2),
    schedules: false,
    retry: { baseDelayMs: 200, maxDelayMs: 2_000, maxAttempts: 50 },
    // With a 3 s expiry connector calls time out at 1.2 s; on a loaded machine five in a row
    // quarantine the fake, and every change waits the quarantine's five minutes. These tests are
    // about exactly-once across crashes; quarantine is tested in src/jobs/change-job.test.ts.
    quarantine: { after: 1_000_000, unreachableAfter: 1_000_000 },
  },
});
process.stdout.write(`ready ${process.pid}\n`);
const stop = async () => {
  await workers.stop(5_000);
  await store.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
