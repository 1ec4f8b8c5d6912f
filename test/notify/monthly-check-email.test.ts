/**
 * The monthly check by itself, through a real SMTP server: the scheduler opens
 * the month's check, invites everyone with items, reminds those who have not
 * answered, and escalates to their manager after the deadline — each notice once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { answerAttestation, attestationsOf } from '../../src/app/assets/monthly-check.ts';
import { runMonthlyCheckSchedule } from '../../src/app/assets/monthly-check-schedule.ts';
import { deliverEmails } from '../../src/notify/email-delivery.ts';
import type { Notification } from '../../src/notify/notification.ts';
import { createSmtpSender } from '../../src/notify/smtp-sender.ts';
import { person, seedIdentities } from '../support/jml-fixture.ts';
import { testBackends } from '../support/backends.ts';
import { smtpSkipReason, startSmtpServer, type SmtpPeer } from '../peers/smtp-server.ts';

const TZ = 'Europe/Paris';
const T0 = new Date('2026-12-01T07:00:00Z');
const DAY = 86_400_000;

describe('the monthly check by email through a real SMTP server', { skip: smtpSkipReason() }, () => {
  let smtp: SmtpPeer;
  before(async () => { smtp = await startSmtpServer({ tls: true }); });
  after(async () => { await smtp?.stop(); });

  for (const backend of testBackends()) {
    test(`the scheduler opens the month's check once, invites, reminds who has not answered and escalates to their manager (${backend.name})`, async () => {
      const store = await backend.open();
      const sender = createSmtpSender({ host: smtp.host, port: smtp.port, secure: false, requireTls: true, ca: smtp.tls!.caPem, from: 'jml@example.test' });
      try {
        await seedIdentities(store.db, [
          person('D1', { email: 'd1@example.test' }), person('M1', { email: 'm1@example.test', manager: 'D1' }),
          person('E1', { email: 'e1@example.test', manager: 'M1' }), person('E2', { email: 'e2@example.test', manager: 'M1' }), person('E3', { email: null, manager: 'M1' }),
        ]);
        await store.db.insertInto('assets').values([
          { tag: 'LAP-1', serial: 'S-1', kind: 'laptop', description: 'ThinkPad', holder_key: 'E1', status: 'assigned' },
          { tag: 'LAP-2', serial: 'S-2', kind: 'laptop', description: 'ThinkPad', holder_key: 'E2', status: 'assigned' },
          { tag: 'PHN-3', serial: 'S-3', kind: 'phone', description: 'Pixel', holder_key: 'E3', status: 'assigned' },
        ]).execute();
        const tick = async (at: Date) => {
          const queued: Notification[] = [];
          const result = await runMonthlyCheckSchedule({ db: store.db, timeZone: TZ, enqueue: async (_trx, notices) => { queued.push(...notices); } }, at);
          const report = await deliverEmails(sender, queued, { timeZone: TZ, baseUrl: 'https://jml.example.test' });
          return { ...result, queued, report };
        };
        const mailboxBefore = smtp.decoded().length;

        const first = await tick(T0);
        assert.equal(first.opened, true);
        assert.deepEqual(first.queued.map((n) => [n.recipient, n.title]), [
          ['E1', 'Monthly check 2026-12: 1 item(s) to confirm'], ['E2', 'Monthly check 2026-12: 1 item(s) to confirm'], ['E3', 'Monthly check 2026-12: 1 item(s) to confirm'],
        ]);
        assert.deepEqual(first.report.undeliverable.map((n) => n.recipient), ['E3'], 'someone without an address is reported, not lost');
        const invited = smtp.decoded().slice(mailboxBefore);
        assert.deepEqual(invited.map((m) => m.to).sort(), ['e1@example.test', 'e2@example.test']);
        assert.equal(invited[0]!.subject, '[jml] Monthly check 2026-12: 1 item(s) to confirm');
        assert.match(invited[0]!.text, /Answer by the end of 2026-12-08\./);
        assert.ok(invited[0]!.text.includes('https://jml.example.test/#/my-equipment'));

        const again = await tick(new Date(T0.getTime() + 60_000));
        assert.deepEqual([again.opened, again.notified, again.campaignId], [false, 0, first.campaignId], 'the same month is opened once and nobody is invited twice');

        const [item] = await attestationsOf(store.db, 'E1');
        await answerAttestation({ db: store.db, custodian: 'it-desk' }, { itemId: item!.id, by: 'E1', answer: 'confirmed' }, new Date(T0.getTime() + DAY));

        const midpoint = await tick(new Date(T0.getTime() + 3.5 * DAY + 60_000));
        assert.deepEqual(midpoint.queued.map((n) => [n.recipient, n.title]), [['E2', 'Reminder: monthly check 2026-12: 1 item(s) to confirm'], ['E3', 'Reminder: monthly check 2026-12: 1 item(s) to confirm']], 'who has answered is not reminded');
        assert.equal(smtp.decoded().at(-1)!.to, 'e2@example.test');
        assert.equal((await tick(new Date(T0.getTime() + 4 * DAY))).notified, 0, 'a reminder is sent once');
        assert.deepEqual((await tick(new Date(T0.getTime() + 6 * DAY + 60_000))).queued.map((n) => n.recipient), ['E2', 'E3'], 'and again a day before the deadline');

        const late = await tick(new Date(T0.getTime() + 7 * DAY + 60_000));
        assert.deepEqual(late.queued.map((n) => [n.recipient, n.urgent, n.title]), [['M1', true, 'Escalated: 2 of your team have not answered the monthly check 2026-12']]);
        const escalation = smtp.decoded().at(-1)!;
        assert.equal(escalation.to, 'm1@example.test');
        assert.match(escalation.text, /Still to answer: E2, E3\./);
        assert.equal((await tick(new Date(T0.getTime() + 8 * DAY))).notified, 0, 'the escalation is sent once');
      } finally {
        sender.close();
        await store.close();
      }
    });
  }
});
