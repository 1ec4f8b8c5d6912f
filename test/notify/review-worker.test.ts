import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { QUEUE } from '../../src/jobs/job-queues.ts';
import { startWorkerRuntime } from '../../src/jobs/worker-runtime.ts';
import { verifyWebhook } from '../../src/notify/webhook-signing.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';
import { testBackends } from '../support/backends.ts';

const policyDir = writePolicyDir({
  ...FAKE_WIKI_POLICY,
  'reviews.yaml': `reviews:
  - name: quarterly-admins
    scope: { entitlements: ["wiki:admins"] }
    stages: [manager]
    recurrence: { every_months: 3, from: 2027-01-01 }
    duration_days: 14
`,
});

async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('jml worker starts the quarter\'s campaign on its own and delivers the midpoint reminder to a configured webhook, signed', { timeout: 120_000 }, async () => {
  const hits: { body: string; signature: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => { hits.push({ body, signature: String(req.headers['x-jml-signature']) }); res.writeHead(204).end(); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/jml`;
  process.env.JML_TEST_REVIEW_HOOK_SECRET = 'hook-secret';
  const store = await testBackends()[0]!.open();
  let now = new Date('2026-12-31T23:00:00Z'); // 1 January, 00:00 in Paris
  await seedIdentities(store.db, [person('M1'), person('E1', { manager: 'M1' })]);
  await store.db.insertInto('assignments').values({ id: 'A1', identity_key: 'E1', system: 'wiki', entitlement: 'admins', reason_type: 'exception', reason: JSON.stringify({ type: 'exception', exceptionId: 'X1', justification: 'migration' }), created_by: 'cli:alice' }).execute();
  const workers = await startWorkerRuntime({
    store,
    config: { policy_dir: policyDir, timezone: 'Europe/Paris', notifications: { base_url: 'https://jml.example.test', webhooks: [{ name: 'chatops', url, secret_env: 'JML_TEST_REVIEW_HOOK_SECRET', topics: ['review'] }] } },
    actor: 'worker:test',
    now: () => now,
    options: { schedules: false, pollingIntervalSeconds: 0.5 },
  });
  try {
    await workers.boss.send(QUEUE.reviewsSchedule, {});
    const campaign = await until('the scheduled campaign', () => store.db.selectFrom('review_campaigns').select(['id', 'period', 'started_by']).executeTakeFirst());
    assert.deepEqual([campaign.period, campaign.started_by], ['2027-01-01', 'scheduler']);

    now = new Date('2027-01-07T23:00:00Z'); // the midpoint
    await workers.boss.send(QUEUE.reviewsSchedule, {});
    await until('the reminder webhook', () => hits.length > 0);
    assert.equal(verifyWebhook('hook-secret', hits[0]!.body, hits[0]!.signature, now), true);
    const body = JSON.parse(hits[0]!.body) as { event: string; recipient: string; title: string; link: string };
    assert.deepEqual([body.event, body.recipient, body.title, body.link], ['review.notification', 'M1', 'Access review "quarterly-admins": 1 item(s) waiting for your decision', `/reviews?campaign=${encodeURIComponent(campaign.id)}`]);

    await workers.boss.send(QUEUE.reviewsSchedule, {});
    await sleep(1500);
    assert.equal(hits.length, 1, 'a second tick sends nothing new');
  } finally {
    await workers.stop(2_000);
    server.close();
    await store.close();
    delete process.env.JML_TEST_REVIEW_HOOK_SECRET;
  }
});
