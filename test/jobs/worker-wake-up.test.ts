/**
 * Separate processes on one PostgreSQL: a job sent by a process that only
 * sends (`jml import`, an API process without workers) wakes a `jml worker`
 * at once through a database notification, instead of waiting for its poll.
 * The worker here polls every two minutes, longer than any test may run, so
 * a job it takes was brought to it by the notification.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createFakeConnector } from '../../src/connectors/fake/fake-connector.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { startWorkers, type Workers } from '../../src/jobs/workers.ts';
import { createTestDatabase } from '../support/backends.ts';
import { postgresSkipReason } from '../peers/peer-process.ts';

const skip = postgresSkipReason();
const SENDER = path.join(import.meta.dirname, 'send-from-process.ts');
const POLL_SECONDS = 120;

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;
let workers: Workers;
const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
const replans: { readonly keys: readonly string[] | undefined; readonly at: number }[] = [];

/** Runs the sender in a process of its own; resolves with the time it sent. */
function sendFromAnotherProcess(mode: 'replan' | 'plan', arg: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SENDER, database.url, mode, arg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`sender exited ${code}: ${err}`))));
  });
}

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  if (skip) return;
  database = await createTestDatabase();
  store = await openStore({ databaseUrl: database.url, poolSize: 4 });
  workers = await startWorkers({
    store,
    connectorFor: (s) => (s === 'wiki' ? wiki : undefined),
    hooks: { replan: async (keys) => void replans.push({ keys, at: Date.now() }) },
    options: { schedules: false, pollingIntervalSeconds: POLL_SECONDS },
  });
  // Started, and every loop has made its first fetch and gone to sleep for the poll interval.
  await new Promise((r) => setTimeout(r, 1_000));
});

after(async () => {
  if (skip) return;
  await workers.stop(2_000);
  await store.close();
  await database.drop();
});

test('a replan requested by another process wakes this process’s replan worker, though its next poll is minutes away', { skip, timeout: 60_000 }, async (t) => {
  const sentAt = await sendFromAnotherProcess('replan', 'L1');
  const taken = await waitFor(() => replans.find((r) => r.keys?.[0] === 'L1'));
  assert.deepEqual(taken.keys, ['L1']);
  t.diagnostic(`sent → replan hook: ${taken.at - sentAt} ms (poll interval ${POLL_SECONDS} s)`);
});

test('a change queued by another process is carried out by this process’s worker without waiting for its poll', { skip, timeout: 60_000 }, async (t) => {
  const sentAt = await sendFromAnotherProcess('plan', `wake-${Date.now()}`);
  const run = await waitFor(async () => {
    const row = await store.db.selectFrom('plan_changes').select(['state', 'updated_at']).where('change_id', '=', 'create').executeTakeFirst();
    return row?.state === 'confirmed' ? row : undefined;
  });
  assert.equal(wiki.state.effects.create_account, 1);
  t.diagnostic(`sent → confirmed: ${new Date(run.updated_at).getTime() - sentAt} ms (poll interval ${POLL_SECONDS} s)`);
});
