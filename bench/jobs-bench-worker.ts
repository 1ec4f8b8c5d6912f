/**
 * A worker process for the jobs benchmark: `startWorkers` on DATABASE_URL,
 * every system an in-memory fake with injected latency. Prints "ready" once
 * it takes jobs; stops cleanly on SIGTERM.
 *   FAKE_LATENCY_MS, BATCH_SIZE, CONCURRENCY
 */
import { createFakeConnector } from '../src/connectors/fake/fake-connector.ts';
import { startWorkers } from '../src/jobs/workers.ts';
import { openStore } from '../src/store/open-store.ts';

const store = await openStore({ databaseUrl: process.env.DATABASE_URL!, poolSize: 8 });
const fake = createFakeConnector({ groups: ['staff'], latencyMs: Number(process.env.FAKE_LATENCY_MS ?? 20) }, { system: 'bench' });
const workers = await startWorkers({
  store,
  connectorFor: (system) => (system === null ? undefined : fake),
  alert: () => undefined,
  options: { schedules: false, batchSize: Number(process.env.BATCH_SIZE ?? 10), concurrency: Number(process.env.CONCURRENCY ?? 1), pollingIntervalSeconds: 0.5 },
});
process.stdout.write('ready\n');
process.once('SIGTERM', async () => {
  await workers.stop(5_000);
  await store.close();
  process.exit(0);
});
