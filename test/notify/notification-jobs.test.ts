import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startJobBoss } from '../../src/jobs/job-boss.ts';
import { QUEUE } from '../../src/jobs/job-queues.ts';
import { enqueueNotifications, registerNotificationWorkers, type NotificationSettings } from '../../src/jobs/notification-jobs.ts';
import type { Notification } from '../../src/notify/notification.ts';
import { verifyWebhook } from '../../src/notify/webhook-signing.ts';
import { createSmtpSender } from '../../src/notify/smtp-sender.ts';
import { testBackends } from '../support/backends.ts';
import { smtpSkipReason, startSmtpServer, type SmtpPeer } from '../peers/smtp-server.ts';

/** A real HTTP receiver on loopback answering each request with the next status of `answers` (the last one repeats). */
async function receiver(answers: readonly number[]): Promise<{ url: string; hits: { at: number; body: string; signature: string }[]; server: Server }> {
  const hits: { at: number; body: string; signature: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hits.push({ at: Date.now(), body, signature: String(req.headers['x-jml-signature']) });
      res.writeHead(answers[Math.min(hits.length - 1, answers.length - 1)]!).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, hits, server };
}

const notification: Notification = { recipient: 'M1', email: 'm1@example.test', topic: 'review', title: 'Access review "quarterly": 2 item(s) waiting for your decision', lines: ['Due by the end of 2027-01-17.'], link: '/reviews?campaign=rc_1', at: '2027-01-08T00:00:00.000Z', urgent: false };

async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

for (const backend of testBackends()) {
  describe(`webhook deliveries on the job queue (${backend.name})`, () => {
    test('a receiver that fails twice with 503 gets the notification on the third attempt, after growing waits, signed each time', async (t) => {
      const store = await backend.open();
      const hook = await receiver([503, 503, 200]);
      const boss = await startJobBoss(store.db, store.backend, { schedule: false, notifyRetry: { limit: 4, delaySeconds: 1 } });
      try {
        const settings: NotificationSettings = { timeZone: 'Europe/Paris', baseUrl: 'https://jml.example.test', email: false, webhooks: [{ name: 'chatops', url: hook.url, secretEnv: 'HOOK_SECRET', topics: ['review'] }] };
        await registerNotificationWorkers(boss, { db: store.db, settings, env: { HOOK_SECRET: 's3cret' }, now: () => new Date() }, { pollingIntervalSeconds: 0.5 });
        assert.deepEqual(await enqueueNotifications(boss, [notification], settings), { emails: 0, webhooks: 1 });
        await until('three attempts', () => hook.hits.length >= 3);
        await sleep(500);
        assert.equal(hook.hits.length, 3, 'delivered once accepted: no further attempt');
        const [first, second, third] = hook.hits.map((h) => h.at);
        const waits = [second! - first!, third! - second!];
        t.diagnostic(`waits between attempts: ${waits.join(' ms, ')} ms`);
        // A 1 s base doubling with jitter: the first wait is 1–2 s, the second 2–4 s (plus a polling interval).
        assert.ok(waits[0]! >= 900 && waits[1]! >= 1900, `waits grow: ${waits.join(' ms, ')} ms`);
        for (const hit of hook.hits) assert.equal(verifyWebhook('s3cret', hit.body, hit.signature, new Date(hit.at)), true, 'each attempt is signed when sent');
        assert.deepEqual(JSON.parse(hook.hits[2]!.body), { event: 'review.notification', recipient: 'M1', title: notification.title, lines: notification.lines, link: '/reviews?campaign=rc_1', at: notification.at, urgent: false });
        assert.ok(!hook.hits[2]!.body.includes('m1@example.test'), 'a system is not sent the person\'s email address');
        const dead = await store.db.selectFrom('audit_log').select('action').where('action', '=', 'notification.dead_lettered').execute();
        assert.deepEqual(dead, []);
      } finally {
        await boss.stop({ graceful: false, close: true });
        hook.server.close();
        await store.close();
      }
    });

    test('a 404 is not retried and a receiver that keeps failing is given up after the last attempt; both are dead-lettered with an audit entry', async () => {
      const store = await backend.open();
      const gone = await receiver([404]);
      const down = await receiver([500]);
      const boss = await startJobBoss(store.db, store.backend, { schedule: false, notifyRetry: { limit: 2, delaySeconds: 1 } });
      try {
        const settings: NotificationSettings = {
          timeZone: 'UTC', baseUrl: 'https://jml.example.test', email: false,
          webhooks: [{ name: 'gone', url: gone.url, secretEnv: 'S', topics: ['review'] }, { name: 'down', url: down.url, secretEnv: 'S', topics: ['review', 'alert'] }, { name: 'alerts-only', url: gone.url, secretEnv: 'S', topics: ['alert'] }],
        };
        await registerNotificationWorkers(boss, { db: store.db, settings, env: { S: 'k' }, now: () => new Date() }, { pollingIntervalSeconds: 0.5 });
        assert.deepEqual(await enqueueNotifications(boss, [notification], settings), { emails: 0, webhooks: 2 }, 'only targets that take the topic');
        const audit = await until('two dead letters', async () => {
          const rows = await store.db.selectFrom('audit_log').select(['subject', 'details']).where('action', '=', 'notification.dead_lettered').execute();
          return rows.length === 2 ? rows : null;
        });
        await sleep(2500);
        assert.equal(gone.hits.length, 1, 'a 404 is tried once');
        assert.equal(down.hits.length, 3, 'a 500 is tried once and retried twice');
        const why = Object.fromEntries(audit.map((a) => { const d = a.details as { target: string; attempts: number; why: string; error: string }; return [d.target, [d.attempts, d.why, d.error]]; }));
        assert.deepEqual(why, {
          gone: [1, 'refused by the receiver (not retried)', `webhook ${new URL(gone.url).origin} answered 404`],
          down: [3, 'gave up after 3 attempts', `webhook ${new URL(down.url).origin} answered 500`],
        });
        const letters = await boss.fetch(QUEUE.notifyDead, { batchSize: 10 });
        assert.deepEqual(letters.map((j) => (j.data as { endpoint: string }).endpoint).sort(), ['down', 'gone'], 'both wait in the dead-letter queue');
      } finally {
        await boss.stop({ graceful: false, close: true });
        gone.server.close();
        down.server.close();
        await store.close();
      }
    });
  });
}

describe('email deliveries on the job queue through a real SMTP server', { skip: smtpSkipReason() }, () => {
  let smtp: SmtpPeer;
  before(async () => { smtp = await startSmtpServer({ tls: true }); });
  after(async () => { await smtp?.stop(); });

  test('a queued digest arrives over verified STARTTLS; a server that cannot be reached is retried, then dead-lettered with an audit entry', async () => {
    const store = await testBackends()[0]!.open();
    const boss = await startJobBoss(store.db, store.backend, { schedule: false, notifyRetry: { limit: 1, delaySeconds: 1 } });
    const good = createSmtpSender({ host: smtp.host, port: smtp.port, secure: false, requireTls: true, ca: smtp.tls!.caPem, from: 'jml@example.test' });
    // Nothing listens on port 1 of loopback: every attempt fails to connect.
    const unreachable = createSmtpSender({ host: '127.0.0.1', port: 1, secure: false, requireTls: true, from: 'jml@example.test' });
    let sender = good;
    try {
      const settings: NotificationSettings = { timeZone: 'Europe/Paris', baseUrl: 'https://jml.example.test', email: true, webhooks: [] };
      await registerNotificationWorkers(boss, { db: store.db, settings, emailSender: () => sender, now: () => new Date() }, { pollingIntervalSeconds: 0.5 });
      const before = smtp.decoded().length;
      assert.deepEqual(await enqueueNotifications(boss, [notification, { ...notification, title: 'Access review "privileged": 1 item(s) waiting for your decision' }], settings), { emails: 1, webhooks: 0 }, 'one digest for the day');
      await until('the digest', () => smtp.decoded().length > before);
      const mail = smtp.decoded().at(-1)!;
      assert.equal(mail.to, 'm1@example.test');
      assert.match(mail.subject, /^\[jml\] 2 things waiting for you/);

      sender = unreachable;
      await enqueueNotifications(boss, [{ ...notification, at: '2027-01-09T00:00:00.000Z' }], settings);
      const audit = await until('the dead letter', () => store.db.selectFrom('audit_log').select('details').where('action', '=', 'notification.dead_lettered').executeTakeFirst());
      const details = audit.details as { channel: string; target: string; attempts: number; why: string };
      assert.deepEqual([details.channel, details.target, details.attempts, details.why], ['email', 'm1@example.test', 2, 'gave up after 2 attempts']);
    } finally {
      good.close();
      unreachable.close();
      await boss.stop({ graceful: false, close: true });
      await store.close();
    }
  });
});
