import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServer } from 'node:http';
import { createFakeConnector } from '../../src/connectors/fake/fake-connector.ts';
import { addAccount } from '../../src/connectors/fake/fake-system.ts';
import { createPlanner } from '../../src/app/compute-plan.ts';
import { reconcileSystem } from '../../src/app/reconcile.ts';
import { startReviewCampaign } from '../../src/app/reviews/review-campaigns.ts';
import { dueReviewNotifications } from '../../src/app/reviews/review-reminders.ts';
import { reviewInbox } from '../../src/app/reviews/review-queries.ts';
import { deliverEmails } from '../../src/notify/email-delivery.ts';
import { createSmtpSender } from '../../src/notify/smtp-sender.ts';
import { deliverWebhook } from '../../src/notify/webhook-sender.ts';
import { verifyWebhook } from '../../src/notify/webhook-signing.ts';
import { isJmlError } from '../../src/domain/errors.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';
import { testBackends } from '../support/backends.ts';
import { smtpSkipReason, startSmtpServer, type SmtpPeer } from '../peers/smtp-server.ts';

const T0 = new Date('2027-01-04T09:00:00Z');
const DAY = 86_400_000;
const policyDir = writePolicyDir({
  ...FAKE_WIKI_POLICY,
  'reviews.yaml': `reviews:
  - name: quarterly-managers
    stages: [manager]
    recurrence: { every_months: 3, from: 2027-01-01 }
    duration_days: 14
    reminders: { midpoint: true, days_before: [1] }
    escalate_after_days: 10
`,
});

describe('review reminders by email through a real SMTP server', { skip: smtpSkipReason() }, () => {
  let smtp: SmtpPeer;
  before(async () => { smtp = await startSmtpServer({ tls: true }); });
  after(async () => { await smtp?.stop(); });

  for (const backend of testBackends()) {
    test(`reviewers get one digest at the midpoint over verified STARTTLS, and their manager an escalation (${backend.name})`, async () => {
      const store = await backend.open();
      const sender = createSmtpSender({ host: smtp.host, port: smtp.port, secure: false, requireTls: true, ca: smtp.tls!.caPem, from: 'jml@example.test' });
      try {
        await seedIdentities(store.db, [person('D1', { email: 'd1@example.test' }), person('M1', { email: 'm1@example.test', manager: 'D1' }), person('E1', { manager: 'M1' }), person('E2', { manager: 'M1' })]);
        const wiki = createFakeConnector({ groups: ['staff', 'eng', 'admins'] }, { system: 'wiki' });
        for (const key of ['E1', 'E2']) wiki.state.grants.get(addAccount(wiki.state, key, { user_name: key }).accountId)!.add('staff');
        const planner = createPlanner({ db: store.db, config: { policy_dir: policyDir, timezone: 'Europe/Paris' }, actor: 'test', now: () => T0 });
        await reconcileSystem({ db: store.db, policy: (await planner.loadPolicy()).policy, connectorFor: () => wiki, actor: 'test', now: () => T0 }, 'wiki');
        const { id } = await startReviewCampaign({ db: store.db, planner, timeZone: 'Europe/Paris' }, 'quarterly-managers', 'cli:alice', T0);
        const before = smtp.decoded().length;

        assert.deepEqual(await dueReviewNotifications(store.db, new Date(T0.getTime() + DAY), 'Europe/Paris'), [], 'nothing is due on day one');
        const midpoint = await dueReviewNotifications(store.db, new Date(T0.getTime() + 7 * DAY), 'Europe/Paris');
        assert.deepEqual(midpoint.map((n) => [n.recipient, n.title]), [['M1', 'Access review "quarterly-managers": 2 item(s) waiting for your decision']]);
        assert.deepEqual(await dueReviewNotifications(store.db, new Date(T0.getTime() + 7 * DAY + 60_000), 'Europe/Paris'), [], 'a reminder is sent once');
        const report = await deliverEmails(sender, midpoint, { timeZone: 'Europe/Paris', baseUrl: 'https://jml.example.test/' });
        assert.deepEqual([report.sent.length, report.failed], [1, []]);
        const received = smtp.decoded().slice(before);
        assert.equal(received.length, 1);
        assert.equal(received[0]!.to, 'm1@example.test');
        assert.equal(received[0]!.subject, '[jml] Access review "quarterly-managers": 2 item(s) waiting for your decision');
        assert.match(received[0]!.text, /Due by the end of 2027-01-17\./);
        assert.ok(received[0]!.text.includes(`https://jml.example.test/reviews?campaign=${id}`));
        assert.ok(received[0]!.html.includes('Access review &quot;quarterly-managers&quot;'), 'the HTML part escapes data');

        const escalation = await dueReviewNotifications(store.db, new Date(T0.getTime() + 11 * DAY), 'Europe/Paris');
        assert.deepEqual(escalation.map((n) => [n.recipient, n.urgent]), [['D1', true]]);
        assert.deepEqual((await reviewInbox(store.db, 'D1')).map((i) => i.identityKey), ['E1', 'E2'], 'the manager of the reviewer may now decide');
        await deliverEmails(sender, escalation, { timeZone: 'Europe/Paris', baseUrl: 'https://jml.example.test' });
        assert.equal(smtp.decoded().at(-1)!.to, 'd1@example.test');
        assert.match(smtp.decoded().at(-1)!.subject, /^\[jml\] Escalated: access review "quarterly-managers" has 2 overdue item\(s\)/);
      } finally {
        sender.close();
        await store.close();
      }
    });
  }

  test('an SMTP server whose certificate is not trusted gets no mail: the error says so and is retryable', async () => {
    const sender = createSmtpSender({ host: smtp.host, port: smtp.port, secure: false, requireTls: true, from: 'jml@example.test' });
    try {
      await assert.rejects(sender.send({ to: 'x@example.test', subject: 's', text: 't', html: '<p>t</p>' }), (e) => isJmlError(e, 'unavailable') && e.retryable && /certificate/i.test(e.message));
    } finally {
      sender.close();
    }
  });
});

test('a webhook carries an HMAC signature the receiver verifies; a 5xx answer is retryable and a 4xx is not', async () => {
  const received: { body: string; signature: string | undefined }[] = [];
  let status = 200;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => { received.push({ body, signature: req.headers['x-jml-signature'] as string | undefined }); res.writeHead(status).end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  try {
    const now = new Date();
    assert.equal(await deliverWebhook({ url, secret: 's3cret' }, { event: 'review.reminder', campaign: 'rc_1' }, now), 200);
    assert.equal(verifyWebhook('s3cret', received[0]!.body, received[0]!.signature, now), true);
    assert.equal(verifyWebhook('other', received[0]!.body, received[0]!.signature, now), false, 'another secret does not verify');
    assert.equal(verifyWebhook('s3cret', received[0]!.body.replace('rc_1', 'rc_2'), received[0]!.signature, now), false, 'a changed body does not verify');
    assert.equal(verifyWebhook('s3cret', received[0]!.body, received[0]!.signature, new Date(now.getTime() + 600_000)), false, 'an old signature is a replay');
    status = 503;
    await assert.rejects(deliverWebhook({ url, secret: 's3cret' }, {}, now), (e) => isJmlError(e, 'unavailable') && e.retryable && !e.message.includes('s3cret'));
    status = 404;
    await assert.rejects(deliverWebhook({ url, secret: 's3cret' }, {}, now), (e) => isJmlError(e, 'invalid_input') && !e.retryable);
  } finally {
    server.close();
  }
});
