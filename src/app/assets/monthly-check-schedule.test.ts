import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Notification } from '../../notify/notification.ts';
import { QUEUE } from '../../jobs/job-queues.ts';
import { startWorkerRuntime } from '../../jobs/worker-runtime.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../../../test/support/jml-fixture.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { noticesDue, runMonthlyCheckSchedule } from './monthly-check-schedule.ts';

const OPENED = Date.parse('2026-12-01T07:00:00Z');
const DUE = Date.parse('2026-12-08T07:00:00Z');
const HOUR = 3_600_000;

describe('monthly check notices', () => {
  const cases: { name: string; now: number; expect: string[] }[] = [
    { name: 'the invitation is due as soon as the check opens', now: OPENED, expect: ['invited'] },
    { name: 'the first reminder comes at the midpoint', now: OPENED + 84 * HOUR, expect: ['invited', 'reminder:2026-12-04T19:00:00.000Z'] },
    { name: 'the second a day before the deadline', now: DUE - 24 * HOUR, expect: ['invited', 'reminder:2026-12-04T19:00:00.000Z', 'reminder:2026-12-07T07:00:00.000Z'] },
    { name: 'the escalation only once the deadline has passed', now: DUE + 1, expect: ['invited', 'reminder:2026-12-04T19:00:00.000Z', 'reminder:2026-12-07T07:00:00.000Z', 'escalation'] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(noticesDue(OPENED, DUE, c.now), c.expect));

  test('a check with one day to answer has a single reminder, at its midpoint', () => {
    assert.deepEqual(noticesDue(OPENED, OPENED + 24 * HOUR, OPENED + 23 * HOUR), ['invited', 'reminder:2026-12-01T19:00:00.000Z']);
  });
});

for (const backend of testBackends()) {
  describe(`the monthly check schedule (${backend.name})`, () => {
    test('two workers ticking at once open the month\'s check once and invite each person once', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1', { email: 'e1@example.test' }), person('E2', { email: 'e2@example.test' })]);
        await store.db.insertInto('assets').values([
          { tag: 'LAP-1', serial: 'S-1', kind: 'laptop', holder_key: 'E1', status: 'assigned' },
          { tag: 'LAP-2', serial: 'S-2', kind: 'laptop', holder_key: 'E2', status: 'assigned' },
        ]).execute();
        const queued: Notification[] = [];
        const deps = { db: store.db, timeZone: 'Europe/Paris', enqueue: async (_trx: unknown, notices: readonly Notification[]) => { queued.push(...notices); } };
        // 23:30 UTC on 30 November is already December in Paris.
        const at = new Date('2026-11-30T23:30:00Z');
        const ticks = await Promise.all([runMonthlyCheckSchedule(deps, at), runMonthlyCheckSchedule(deps, at), runMonthlyCheckSchedule(deps, at)]);
        assert.deepEqual(ticks.map((t) => t.campaignId), ['chk-2026-12', 'chk-2026-12', 'chk-2026-12']);
        assert.equal(ticks.filter((t) => t.opened).length, 1);
        assert.deepEqual(queued.map((n) => n.recipient).sort(), ['E1', 'E2']);
        assert.equal((await store.db.selectFrom('attestation_items').select('id').execute()).length, 2);
      } finally {
        await store.close();
      }
    });
  });
}

test('the worker schedules the monthly check hourly, and a tick opens the month\'s check and hands the invitations to its notifier', { timeout: 60_000 }, async () => {
  const store = await testBackends()[0]!.open();
  const delivered: Notification[] = [];
  await seedIdentities(store.db, [person('E1', { email: 'e1@example.test' })]);
  await store.db.insertInto('assets').values({ tag: 'LAP-1', serial: 'S-1', kind: 'laptop', holder_key: 'E1', status: 'assigned' }).execute();
  const workers = await startWorkerRuntime({
    store, actor: 'worker', config: { policy_dir: writePolicyDir(FAKE_WIKI_POLICY), timezone: 'Europe/Paris' }, now: () => new Date('2026-12-02T08:00:00Z'),
    notify: async (notices) => { delivered.push(...notices); },
    options: { schedules: true, pollingIntervalSeconds: 0.5 },
  });
  try {
    assert.equal((await workers.boss.getSchedules()).find((s) => s.name === QUEUE.monthlyCheck)?.cron, '20 * * * *');
    await workers.boss.send(QUEUE.monthlyCheck, {});
    for (let i = 0; i < 100 && delivered.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(delivered.map((n) => [n.recipient, n.title]), [['E1', 'Monthly check 2026-12: 1 item(s) to confirm']]);
    assert.equal((await store.db.selectFrom('attestation_campaigns').select('period').executeTakeFirst())?.period, '2026-12');
  } finally {
    await workers.stop(2_000);
    await store.close();
  }
});
