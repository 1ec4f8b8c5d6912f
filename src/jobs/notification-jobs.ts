/**
 * Notifications on the durable job queue. Each email (a digest or an urgent
 * notice) and each webhook delivery is one job, queued in the transaction that
 * decided it was due. A failure the receiver may recover from (network error,
 * timeout, 429, 5xx, an SMTP server unreachable) is retried with growing waits;
 * another 4xx is not retried. A delivery that gives up goes to the dead-letter
 * queue with an audit entry (`notification.dead_lettered`) saying why.
 */
import type { Kysely } from 'kysely';
import type { Db, Job, JobResult, PgBoss } from 'pg-boss';
import { createHash } from 'node:crypto';
import { isJmlError, JmlError } from '../domain/errors.ts';
import { planEmails } from '../notify/email-digest.ts';
import type { Notification, WebhookTarget } from '../notify/notification.ts';
import type { EmailSender } from '../notify/smtp-sender.ts';
import { deliverWebhook } from '../notify/webhook-sender.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Database } from '../store/database.ts';
import type { JobSender } from './job-boss.ts';
import { deterministicJobId, notifyEmailJobSchema, notifyWebhookJobSchema, QUEUE } from './job-queues.ts';

export interface NotificationSettings {
  /** The organisation's zone: a digest is one per person per day in it. */
  readonly timeZone: string;
  /** The console's address, for links in emails. */
  readonly baseUrl: string;
  /** Whether email is configured (no jobs are queued for email otherwise). */
  readonly email: boolean;
  readonly webhooks: readonly WebhookTarget[];
}

/**
 * Queues `notifications`: one email job per digest, one webhook job per target
 * whose topics include the notification's. Pass the caller's transaction as
 * `sender`'s `db` so the jobs commit with what made them due.
 * @example await enqueueNotifications(boss, notifications, settings, inTransaction(trx));
 */
export async function enqueueNotifications(sender: JobSender, notifications: readonly Notification[], settings: NotificationSettings, connection: { db?: Db } = {}): Promise<{ emails: number; webhooks: number }> {
  const emails = settings.email ? planEmails(notifications, settings.timeZone, settings.baseUrl).emails : [];
  const emailJobs = emails.map((e) => {
    const data = { key: e.key, to: e.to, subject: e.subject, text: e.text, html: e.html };
    return { id: deterministicJobId('email', e.key, digest(data)), data };
  });
  const webhookJobs = settings.webhooks.flatMap((target) =>
    notifications.filter((n) => target.topics.includes(n.topic)).map((n) => {
      // The recipient's address stays out of a system's payload; their identity key names them.
      const body = { event: `${n.topic}.notification`, recipient: n.recipient, title: n.title, lines: [...n.lines], link: n.link, at: n.at, urgent: n.urgent };
      return { id: deterministicJobId('webhook', target.name, digest(body)), data: { endpoint: target.name, body } };
    }),
  );
  if (emailJobs.length > 0) await sender.insert(QUEUE.notifyEmail, emailJobs, connection);
  if (webhookJobs.length > 0) await sender.insert(QUEUE.notifyWebhook, webhookJobs, connection);
  return { emails: emailJobs.length, webhooks: webhookJobs.length };
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

export interface NotificationWorkerDeps {
  readonly db: Kysely<Database>;
  readonly settings: NotificationSettings;
  /** The SMTP sender; absent when email is not configured. */
  readonly emailSender?: () => EmailSender;
  readonly env?: NodeJS.ProcessEnv;
  readonly now: () => Date;
}

/**
 * Registers the workers of the email and webhook queues; returns their pg-boss worker ids.
 * @example await registerNotificationWorkers(boss, { db, settings, emailSender, now: () => new Date() }, { pollingIntervalSeconds: 0.5 });
 */
export async function registerNotificationWorkers(boss: PgBoss, deps: NotificationWorkerDeps, polling: { pollingIntervalSeconds: number }): Promise<Map<string, string>> {
  const env = deps.env ?? process.env;
  const targets = new Map(deps.settings.webhooks.map((t) => [t.name, t]));
  const ids = new Map<string, string>();
  const handle = (channel: 'email' | 'webhook', deliver: (data: unknown) => Promise<void>) =>
    async (jobs: Job<unknown>[]): Promise<JobResult[]> => {
      const results: JobResult[] = [];
      for (const job of jobs as (Job<unknown> & { retryLimit: number })[]) {
        try {
          await deliver(job.data);
          results.push({ id: job.id, status: 'completed' });
        } catch (error) {
          const retryable = isJmlError(error) && error.retryable === true;
          const attempts = job.retryCount + 1;
          if (retryable && job.retryCount < job.retryLimit) {
            results.push({ id: job.id, status: 'failed', output: { error: (error as Error).message } });
            continue;
          }
          const why = retryable ? `gave up after ${attempts} attempts` : 'refused by the receiver (not retried)';
          await appendAudit(deps.db, { actor: 'worker', action: 'notification.dead_lettered', subject: `notification:${job.id}`, trigger: 'job', details: { channel, target: targetOf(channel, job.data), attempts, why, error: (error as Error).message } }, deps.now());
          results.push({ id: job.id, status: 'deadletter', output: { error: (error as Error).message } });
        }
      }
      return results;
    };
  const options = { ...polling, batchSize: 10, includeMetadata: true, perJobResults: true } as const;
  ids.set(QUEUE.notifyWebhook, await boss.work(QUEUE.notifyWebhook, options, handle('webhook', async (data) => {
    const job = notifyWebhookJobSchema.parse(data);
    const target = targets.get(job.endpoint);
    // Not retried: configuration does not change under a running worker.
    if (!target) throw new JmlError('invalid_input', `no webhook named "${job.endpoint}" is configured`);
    const secret = env[target.secretEnv];
    if (!secret) throw new JmlError('invalid_input', `webhook "${target.name}": its secret variable ${target.secretEnv} is not set`);
    await deliverWebhook({ url: target.url, secret }, job.body, deps.now());
  })));
  if (deps.emailSender) {
    const sender = deps.emailSender;
    ids.set(QUEUE.notifyEmail, await boss.work(QUEUE.notifyEmail, options, handle('email', async (data) => {
      const email = notifyEmailJobSchema.parse(data);
      await sender().send(email);
    })));
  }
  return ids;
}

function targetOf(channel: 'email' | 'webhook', data: unknown): string {
  const value = (data ?? {}) as { endpoint?: unknown; to?: unknown };
  return String((channel === 'webhook' ? value.endpoint : value.to) ?? '');
}
