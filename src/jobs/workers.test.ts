import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Change, Plan } from '../domain/change.ts';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import type { Connector } from '../connectors/connector.ts';
import type { JmlError } from '../domain/errors.ts';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { DEFAULT_QUARANTINE, isQuarantined, recordSystemFailure } from '../app/quarantine.ts';
import { submitPlan } from './change-job.ts';
import { QUEUE } from './job-queues.ts';
import { requestReplan } from './schedules.ts';
import { startWorkers, type Workers } from './workers.ts';

const execute = promisify(execFile);

function plan(n: number): Plan {
  const changes: Change[] = [];
  for (let i = 0; i < n; i++) {
    changes.push({ id: `c${i}`, kind: 'create_account', identityKey: `W${i}`, system: 'wiki', reason: 'joiner', dependsOn: [] });
    changes.push({ id: `g${i}`, kind: 'add_grant', identityKey: `W${i}`, system: 'wiki', entitlement: 'staff', reason: 'rule', dependsOn: [`c${i}`] });
  }
  return { id: `wplan-${Date.now()}`, computedAt: new Date().toISOString(), fingerprint: 'f', changes };
}

/** The plan's status once it is no longer applying (or after 20 s). */
async function settledStatus(store: Store, planId: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const row = await store.db.selectFrom('plans').select('status').where('id', '=', planId).executeTakeFirstOrThrow();
    if (row.status !== 'applying') return row.status;
    await new Promise((r) => setTimeout(r, 100));
  }
  return 'applying';
}

describe('a worker that cannot start', () => {
  test('options it cannot run with are refused before anything starts, naming the option', async () => {
    const store = await testBackends()[0]!.open();
    try {
      await assert.rejects(startWorkers({ store, connectorFor: () => undefined, options: { batchSize: Number.NaN } }), (error: JmlError) => error.code === 'invalid_input' && /batchSize/.test(error.message));
      await assert.rejects(startWorkers({ store, connectorFor: () => undefined, options: { concurrency: 0 } }), /concurrency must be a whole number of at least 1, not 0/);
    } finally {
      await store.close();
    }
  });

  test('one whose start fails after the job queue started stops the queue: the process ends on its own', { timeout: 60_000 }, async () => {
    // pg-boss refuses a polling interval under 0.5 s when the first fetch loop is made, after it started.
    const script = [
      `import { openStore } from ${JSON.stringify(new URL('../store/open-store.ts', import.meta.url).href)};`,
      `import { startWorkers } from ${JSON.stringify(new URL('./workers.ts', import.meta.url).href)};`,
      `const store = await openStore({ dataDir: 'memory://' });`,
      `const error = await startWorkers({ store, connectorFor: () => undefined, options: { pollingIntervalSeconds: 0.1, applyOnly: true } }).then(() => null, (e) => e);`,
      `await store.close();`,
      `console.log(error ? 'refused: ' + error.message : 'started');`,
    ].join('\n');
    // A process that does not end by itself is killed at 45 s, and the call rejects.
    const { stdout } = await execute(process.execPath, ['--input-type=module', '-e', script], { timeout: 45_000 });
    assert.match(stdout, /^refused: .*pollingIntervalSeconds/);
  });
});

for (const backend of testBackends()) {
  describe(`workers on ${backend.name}`, () => {
    let store: Store;
    let workers: Workers;
    const wiki = createFakeConnector({ groups: ['staff'], latencyMs: 2 }, { system: 'wiki' });
    const crm = createFakeConnector({ groups: ['staff'] }, { system: 'crm' });
    /** A directory that reads back a page at once; counts which way the workers ask. */
    const pagedInner = createFakeConnector({ groups: ['staff'] }, { system: 'paged' });
    const asked = { pages: 0, single: 0 };
    const paged: Connector = {
      describe: () => pagedInner.describe(),
      validate: () => pagedInner.validate(),
      list: (kind, cursor, size) => pagedInner.list(kind, cursor, size),
      apply: (change) => pagedInner.apply!(change),
      readBack: (change) => (asked.single++, pagedInner.readBack(change)),
      readBackMany: (changes) => (asked.pages++, Promise.all(changes.map((c) => pagedInner.readBack(c)))),
    };
    const replans: (readonly string[] | undefined)[] = [];
    before(async () => {
      store = await backend.open();
      workers = await startWorkers({
        store,
        connectorFor: (s) => (s === 'wiki' ? wiki : s === 'crm' ? crm : s === 'paged' ? paged : undefined),
        hooks: { replan: async (keys) => void replans.push(keys) },
        options: { schedules: true, scheduleSettings: { timezone: 'Europe/Berlin' }, pollingIntervalSeconds: 0.5 },
      });
    });
    after(async () => {
      await workers.stop(2_000);
      await store.close();
    });

    test('workers apply a submitted plan in the background, each change once', { timeout: 60_000 }, async () => {
      const p = plan(25);
      await submitPlan({ db: store.db, boss: workers.boss, actor: 'test' }, p);
      assert.equal(await settledStatus(store, p.id), 'applied');
      assert.equal(wiki.state.effects.create_account, 25);
      assert.equal(wiki.state.effects.add_grant, 25);
    });

    test('the workers read a batch back a page at a time from a connector that can, never one change at a time', { timeout: 60_000 }, async () => {
      const p = { ...plan(20), id: `pplan-${Date.now()}`, changes: plan(20).changes.map((c) => ({ ...c, system: 'paged' })) };
      await submitPlan({ db: store.db, boss: workers.boss, actor: 'test' }, p);
      assert.equal(await settledStatus(store, p.id), 'applied');
      assert.equal(pagedInner.state.effects.add_grant, 20);
      assert.equal(asked.single, 0);
      assert.ok(asked.pages >= 2 && asked.pages < 40, `pages read: ${asked.pages}`);
    });

    test('a quarantined system whose health check passes is released and its waiting changes run at once', { timeout: 60_000 }, async () => {
      const p = { ...plan(3), id: `hplan-${Date.now()}`, changes: plan(3).changes.map((c) => ({ ...c, system: 'crm' })) };
      for (let i = 0; i < 3; i++) await recordSystemFailure(store.db, 'crm', 'crm: connection refused', DEFAULT_QUARANTINE, new Date(), undefined, true);
      assert.equal(await isQuarantined(store.db, 'crm'), true);
      await submitPlan({ db: store.db, boss: workers.boss, actor: 'test' }, p);
      // The changes are taken up and deferred: the system is quarantined.
      for (let i = 0; i < 100; i++) {
        const deferred = await store.db.selectFrom('change_runs').select('next_at').where('plan_id', '=', p.id).where('next_at', 'is not', null).execute();
        if (deferred.length === 3) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await workers.boss.send(QUEUE.quarantineProbe, {});
      const status = await settledStatus(store, p.id);
      assert.equal(await isQuarantined(store.db, 'crm'), false);
      assert.equal(status, 'applied', 'not five minutes later');
      assert.equal(crm.state.effects.create_account, 3);
    });

    test('schedules are registered in the organisation’s time zone, and a replan request reaches the hook', { timeout: 30_000 }, async () => {
      const schedules = await workers.boss.getSchedules();
      const byName = new Map(schedules.map((s) => [s.name, s]));
      for (const name of [QUEUE.lifecycleDue, QUEUE.assignmentsExpire, QUEUE.reconcile, QUEUE.dormantScan, QUEUE.approvalsEscalate, QUEUE.leaverSla, QUEUE.applySweep, QUEUE.quarantineProbe, QUEUE.exceptionsReview]) {
        assert.equal(byName.get(name)?.timezone, 'Europe/Berlin', name);
      }
      assert.equal(byName.get(QUEUE.reconcile)?.cron, '0 2 * * *');
      await requestReplan(workers.boss, ['E1', 'E2'], 'import');
      for (let i = 0; i < 100 && replans.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(replans, [['E1', 'E2']]);
    });

    test('a full plan is scheduled every hour by default, and its job asks for a plan of every identity', { timeout: 30_000 }, async () => {
      const scheduled = (await workers.boss.getSchedules()).find((s) => s.name === QUEUE.replan);
      assert.deepEqual([scheduled?.cron, scheduled?.timezone, scheduled?.data], ['30 * * * *', 'Europe/Berlin', { reason: 'scheduled plan' }]);
      replans.length = 0;
      await workers.boss.send(QUEUE.replan, scheduled!.data as object);
      for (let i = 0; i < 100 && replans.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(replans, [undefined], 'no identity keys: every identity');
    });
  });
}
