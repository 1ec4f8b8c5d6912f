/**
 * Crash safety with real processes on PostgreSQL: a worker killed with
 * SIGKILL between the connector call and its record, several workers on one
 * database, the database itself restarted mid-run, and duplicate deliveries.
 * The downstream system is a file-backed fake that outlives the workers.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { verifyAudit } from '../../src/store/audit-log.ts';
import { startJobBoss } from '../../src/jobs/job-boss.ts';
import { submitPlan } from '../../src/jobs/change-job.ts';
import { QUEUE } from '../../src/jobs/job-queues.ts';
import type { Plan } from '../../src/domain/change.ts';
import { createTestDatabase } from '../support/backends.ts';
import { joinerPlan, postgresBin, scratchDir, spawnWorker, startOwnPostgres, waitFor, type WorkerProcess } from './crash-harness.ts';
import { freePort, postgresSkipReason, skipUnlessPeer } from '../peers/peer-process.ts';
import { readFileSystem } from './file-fake-connector.ts';


async function submit(store: Store, plan: Plan): Promise<void> {
  const boss = await startJobBoss(store.db, store.backend, { schedule: false, applyExpireSeconds: 3 });
  await submitPlan({ db: store.db, boss, actor: 'test:crash' }, plan);
  await boss.stop({ graceful: false, close: false });
}

async function planSettled(store: Store, planId: string): Promise<string | undefined> {
  const row = await store.db.selectFrom('plans').select('status').where('id', '=', planId).executeTakeFirst();
  return row && row.status !== 'applying' ? row.status : undefined;
}

/** Waits for the plan to end; on timeout says where it stands, so a failure on a loaded machine can be read. */
async function planFinished(store: Store, planId: string, what: string, timeoutMs: number): Promise<string> {
  try {
    return await waitFor(what, () => planSettled(store, planId), timeoutMs);
  } catch (error) {
    const open = await store.db.selectFrom('plan_changes').select(['change_id', 'state', 'last_error']).where('plan_id', '=', planId).where('state', 'not in', ['confirmed', 'already']).execute();
    const health = await store.db.selectFrom('system_health').selectAll().execute().catch(() => []);
    throw new Error(`${(error as Error).message}: ${open.length} open (${JSON.stringify(open.slice(0, 5))}); systems ${JSON.stringify(health)}`);
  }
}

async function assertExactlyOnce(store: Store, plan: Plan, fakePath: string): Promise<void> {
  const states = await store.db.selectFrom('plan_changes').select(['change_id', 'state']).where('plan_id', '=', plan.id).execute();
  assert.deepEqual([...new Set(states.map((s) => s.state))], ['confirmed'], 'every step confirmed by read-back');
  const system = readFileSystem(fakePath);
  const n = plan.changes.length / 2;
  assert.equal(system.effects.create_account, n, 'no duplicate account');
  assert.equal(system.effects.add_grant, n, 'no duplicate or lost grant');
  assert.equal(Object.keys(system.accounts).length, n);
  assert.ok(Object.values(system.accounts).every((a) => a.grants.length === 1 && a.grants[0] === 'staff'));
  assert.equal((await verifyAudit(store.db)).ok, true);
}

describe('crash safety with real worker processes', { skip: postgresSkipReason() }, () => {
  const running: WorkerProcess[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const w of running) w.child.kill('SIGKILL');
    for (const c of cleanups.reverse()) await c();
  });

  test('a worker killed between the connector call and its record leaves no duplicate and no lost step; late and duplicate deliveries do nothing', { timeout: 150_000 }, async () => {
    const database = await createTestDatabase();
    const store = await openStore({ databaseUrl: database.url, poolSize: 4 });
    cleanups.push(async () => {
      await store.close();
      await database.drop();
    });
    const fake = path.join(scratchDir('crash'), 'wiki.json');
    const plan = joinerPlan(5);
    await submit(store, plan);
    const victim = 'create:wiki:E3';
    const first = spawnWorker({ DATABASE_URL: database.url, FAKE_PATH: fake, HANG_AFTER_APPLY: victim });
    // The replacement loads while the first runs: on a busy machine starting a process takes many seconds.
    const second = spawnWorker({ DATABASE_URL: database.url, FAKE_PATH: fake, HOLD: '1' });
    running.push(first, second);
    await waitFor('the worker to carry out the change', async () => existsSync(`${fake}.did-${victim}`), 60_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const before = await store.db.selectFrom('plan_changes').select('state').where('plan_id', '=', plan.id).where('change_id', '=', victim).executeTakeFirstOrThrow();
    assert.equal(before.state, 'running', 'the account exists but its creation was never recorded');
    assert.equal(readFileSystem(fake).accounts.E3 !== undefined, true);

    await second.loaded;
    second.release();
    await second.ready;
    assert.equal(await planFinished(store, plan.id, 'the plan to finish', 60_000), 'applied');
    await assertExactlyOnce(store, plan, fake);

    // The killed worker's job, delivered again and out of order, and a duplicate of a finished one.
    const boss = await startJobBoss(store.db, store.backend, { schedule: false });
    const extra = [await boss.send(QUEUE.applyChange, { planId: plan.id, changeId: victim, seq: 1 }), await boss.send(QUEUE.applyChange, { planId: plan.id, changeId: 'grant:wiki:E3:staff', seq: 1 })];
    await waitFor('the duplicates to be handled', async () => {
      const jobs = await Promise.all(extra.map((id) => boss.getJobById(QUEUE.applyChange, id!)));
      return jobs.every((j) => j?.state === 'completed');
    });
    await boss.stop({ graceful: false, close: false });
    await assertExactlyOnce(store, plan, fake);
    second.child.kill('SIGTERM');
    await second.exited;
  });

  test('three worker processes share a plan and do no change twice', { timeout: 90_000 }, async () => {
    const database = await createTestDatabase();
    const store = await openStore({ databaseUrl: database.url, poolSize: 4 });
    cleanups.push(async () => {
      await store.close();
      await database.drop();
    });
    const fake = path.join(scratchDir('three'), 'wiki.json');
    // Nothing is killed here, so no short expiry: with 3 s, connector calls time out at 1.2 s
    // (0.4 of it), and on a loaded machine five such timeouts in a row quarantine the system,
    // deferring every change of the plan by the quarantine's five minutes.
    const workers = [1, 2, 3].map(() => spawnWorker({ DATABASE_URL: database.url, FAKE_PATH: fake, FAKE_LATENCY_MS: '10', BATCH_SIZE: '4', APPLY_EXPIRE_SECONDS: '30' }));
    running.push(...workers);
    await Promise.all(workers.map((w) => w.ready));
    const plan = joinerPlan(30);
    await submit(store, plan);
    assert.equal(await planFinished(store, plan.id, 'the plan to finish', 60_000), 'applied');
    await assertExactlyOnce(store, plan, fake);
    const actors = await store.db.selectFrom('audit_log').select('actor').distinct().where('action', '=', 'change.confirmed').execute();
    assert.ok(actors.length >= 2, `the work was shared (${actors.length} workers confirmed changes)`);
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
  });

  test('PostgreSQL restarted in the middle of a run: the run completes, nothing twice', { timeout: 120_000, skip: skipUnlessPeer('PostgreSQL server binaries', postgresBin() ? false : 'no pg_ctl under /usr/lib/postgresql (or JML_TEST_PG_BIN)') }, async () => {
    const server = startOwnPostgres(await freePort());
    cleanups.push(() => server.stop());
    const store = await openStore({ databaseUrl: server.url, poolSize: 4 });
    cleanups.push(() => store.close().catch(() => undefined));
    const fake = path.join(scratchDir('restart'), 'wiki.json');
    const plan = joinerPlan(20);
    await submit(store, plan);
    const worker = spawnWorker({ DATABASE_URL: server.url, FAKE_PATH: fake, FAKE_LATENCY_MS: '60', BATCH_SIZE: '2', CONCURRENCY: '1' });
    running.push(worker);
    await waitFor('some changes to be confirmed', async () => {
      const rows = await store.db.selectFrom('plan_changes').select('change_id').where('plan_id', '=', plan.id).where('state', '=', 'confirmed').execute();
      return rows.length >= 6;
    });
    server.restart();
    assert.equal(await planFinished(store, plan.id, 'the plan to finish after the restart', 90_000), 'applied');
    await assertExactlyOnce(store, plan, fake);
    worker.child.kill('SIGTERM');
    await worker.exited;
  });
});
