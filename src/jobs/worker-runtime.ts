/**
 * Wires the workers of a process from configuration: the policy's systems and
 * their connectors, and the hooks the schedules call (due lifecycle events,
 * leaver cancellations, joiner approvals, re-planning, reconcile). `jml worker`
 * runs it alone; `jml serve` can run it beside the API. A policy changed on
 * disk is picked up on the next tick, without a restart.
 */
import type { JmlConfig } from '../app/config.ts';
import { createPlanner } from '../app/compute-plan.ts';
import { openPolicyConnectors, type PolicyConnectors } from '../app/connectors-from-policy.ts';
import { applyDueEvents } from '../app/lifecycle-clock.ts';
import { reconcileSystem } from '../app/reconcile.ts';
import { cancelForLeavers } from '../app/approval.ts';
import { requestJoinerApprovals } from '../app/joiner-approval.ts';
import { createPolicyWatch } from '../app/policy-watch.ts';
import { takeCheckpoint } from '../app/audit/audit-checkpoint.ts';
import { loadSigningKey } from '../app/audit/checkpoint-key.ts';
import { runMonthlyCheckSchedule } from '../app/assets/monthly-check-schedule.ts';
import type { Policy } from '../domain/policy.ts';
import type { Notification } from '../notify/notification.ts';
import type { LoadedPolicy } from '../policy/index.ts';
import type { Store } from '../store/open-store.ts';
import type { AlertSink } from '../app/alert.ts';
import type { Keyring } from '../connectors/secrets/index.ts';
import { readFileSync } from 'node:fs';
import { runReviewSchedule } from '../app/reviews/review-scheduler.ts';
import { createSmtpSender, type EmailSender } from '../notify/smtp-sender.ts';
import { submitPlan } from './change-job.ts';
import { inTransaction } from './job-boss.ts';
import { QUEUE } from './job-queues.ts';
import { enqueueNotifications, registerNotificationWorkers, type NotificationSettings } from './notification-jobs.ts';
import { startWorkers, type WorkerOptions, type Workers } from './workers.ts';
import { pushUsers, type PushInput } from '../app/inbound/scim-push.ts';
import { followUpImport } from '../app/replan-follow-up.ts';
import { replanQueueOn } from './replan-queue.ts';
import { registerScimBatchJobs } from './scim-batch-job.ts';

export interface WorkerRuntimeDeps {
  readonly store: Store;
  /** The whole configuration (as `jml worker` and `jml serve` pass it) also runs asynchronous SCIM Bulks of its scim sources. */
  readonly config: Pick<JmlConfig, 'policy_dir' | 'timezone'> & Partial<JmlConfig>;
  readonly actor: string;
  readonly options?: WorkerOptions;
  readonly alert?: AlertSink;
  readonly now?: () => Date;
  /** The master keyring for connector secrets; read from the environment by default. */
  readonly keyring?: () => Keyring;
  /** Delivers notices (the monthly check's) once they are recorded as sent, e.g. by email; by default each is written to the worker's output. */
  readonly notify?: (notifications: readonly Notification[]) => Promise<unknown>;
}

/** Without a delivery configured, a notice is one line of the worker's output, so none is silently dropped. */
async function printNotices(notifications: readonly Notification[]): Promise<void> {
  for (const n of notifications) process.stdout.write(`jml worker: notice for ${n.recipient}${n.email ? ` <${n.email}>` : ''}: ${n.title}\n`);
}

/** How long connectors of a replaced policy stay open for jobs still using them. */
const RETIRE_AFTER_MS = 60_000;

/**
 * Starts this process's workers for the configured policy. The policy
 * directory is checked on each replan and schedule tick (a digest of its
 * files); when it changed, the new policy and its connectors take over.
 * @example
 * const workers = await startWorkerRuntime({ store, config, actor: 'worker' });
 */
export async function startWorkerRuntime(deps: WorkerRuntimeDeps): Promise<Workers> {
  const now = deps.now ?? (() => new Date());
  const db = deps.store.db;
  // Loaded at start so an unsafe or unreadable key stops the worker now, not at the first checkpoint.
  const audit = deps.config.audit;
  const checkpointKey = audit?.key_file && (audit.checkpoint_file || audit.checkpoint_url) ? loadSigningKey(audit.key_file) : null;
  const watch = createPolicyWatch({
    dir: deps.config.policy_dir,
    db,
    actor: deps.actor,
    now,
    onInvalid: (error) => process.stderr.write(`jml worker: the policy in ${deps.config.policy_dir} does not load; the last good policy stays in force.\n${error.message}\n`),
  });
  const open = (policy: Policy) => openPolicyConnectors({ db, policy, now, actor: deps.actor, timezone: deps.config.timezone, ...(deps.keyring ? { keyring: deps.keyring } : {}) });
  const first = (await watch.check()).loaded;
  let state: { readonly loaded: LoadedPolicy; readonly connectors: PolicyConnectors } = { loaded: first, connectors: await open(first.policy) };
  const retiring = new Set<PolicyConnectors>();
  const retire = (connectors: PolicyConnectors) => {
    retiring.add(connectors);
    setTimeout(() => {
      if (retiring.delete(connectors)) void connectors.close();
    }, RETIRE_AFTER_MS).unref();
  };

  /** The policy and connectors in force, after taking over a changed policy directory. */
  async function current(): Promise<typeof state> {
    const { loaded, changed } = await watch.check();
    if (!changed || loaded.hash === state.loaded.hash) return state;
    try {
      const connectors = await open(loaded.policy);
      retire(state.connectors);
      state = { loaded, connectors };
      process.stderr.write(`jml worker: policy ${loaded.hash.slice(0, 12)} in force (${loaded.policy.systems.length} systems)\n`);
    } catch (error) {
      // Plan and connectors move together: a plan for a system without its connector would park.
      process.stderr.write(`jml worker: policy ${loaded.hash.slice(0, 12)} loaded but its connectors did not open; the last good policy stays in force.\n${(error as Error).message}\n`);
    }
    return state;
  }

  const planner = createPlanner({ db, config: deps.config, actor: deps.actor, now, policySource: async () => (await current()).loaded });
  const openJoinerApprovals = (policy: Policy) => requestJoinerApprovals({ db, policy, timezone: deps.config.timezone, now });
  const replan = async (identityKeys: readonly string[] | undefined) => {
    // Joiners that need approval get their request before any plan could activate them;
    // the planner then holds them, as it does for `jml plan` and the API.
    await openJoinerApprovals((await current()).loaded.policy);
    const { plan } = await planner.compute(identityKeys ? { identityKeys } : {});
    if (plan.changes.length === 0) return;
    await submitPlan({ db, boss: workers.boss, actor: deps.actor, now }, plan);
    workers.wake(QUEUE.applyChange);
  };
  const notifications = deps.config.notifications;
  const notifySettings: NotificationSettings = {
    timeZone: deps.config.timezone,
    baseUrl: notifications?.base_url ?? 'http://127.0.0.1:8080',
    email: !!notifications?.smtp,
    webhooks: (notifications?.webhooks ?? []).map((w) => ({ name: w.name, url: w.url, secretEnv: w.secret_env, topics: w.topics })),
  };
  let emailSender: EmailSender | null = null;
  const smtp = notifications?.smtp;
  const senderOf = smtp
    ? () => (emailSender ??= createSmtpSender({ host: smtp.host, port: smtp.port, secure: smtp.secure, requireTls: smtp.require_tls, from: smtp.from, ...(smtp.ca_file ? { ca: readFileSync(smtp.ca_file, 'utf8') } : {}), ...(smtp.user ? { user: smtp.user } : {}), ...(smtp.password_env ? { passwordEnv: smtp.password_env } : {}) }))
    : undefined;
  const workers = await startWorkers({
    store: deps.store,
    connectorFor: (system) => state.connectors.connectorFor(system),
    tasksFor: (system) => state.connectors.tasksFor(system),
    policy: () => state.loaded.policy,
    actor: deps.actor,
    now,
    ...(deps.alert ? { alert: deps.alert } : {}),
    options: {
      ...(deps.config.audit?.streams ? { auditStreams: deps.config.audit.streams } : {}),
      ...deps.options,
      scheduleSettings: {
        timezone: deps.config.timezone,
        ...(deps.config.exceptions ? { exceptionReview: { warnDays: deps.config.exceptions.warn_days, reviewEveryDays: deps.config.exceptions.review_every_days } } : {}),
        ...(deps.config.audit ? { checkpointCron: deps.config.audit.checkpoint_cron } : {}),
        ...deps.options?.scheduleSettings,
      },
    },
    hooks: {
      applyDueEvents: async (at) => {
        const { loaded } = await current();
        const { identities } = await applyDueEvents({ db, actor: 'scheduler' }, at);
        await cancelForLeavers(db, at);
        const joiners = await openJoinerApprovals(loaded.policy);
        return [...new Set([...identities.map((o) => o.key), ...joiners])];
      },
      replan: (keys) => replan(keys),
      reconcile: async (system) => {
        const { loaded, connectors } = await current();
        return reconcileSystem({ db, policy: loaded.policy, connectorFor: (s) => connectors.get(s), actor: 'scheduler', timeZone: deps.config.timezone, now }, system);
      },
      systems: async () => (await current()).loaded.policy.systems.map((s) => s.name),
      reviews: (at) =>
        runReviewSchedule({
          db,
          planner,
          timeZone: deps.config.timezone,
          enqueue: async (trx, due) => void (await enqueueNotifications(workers.boss, due, notifySettings, inTransaction(trx))),
          replan: (keys) => replan(keys),
        }, at),
      monthlyCheck: async (at) => {
        const notices: Notification[] = [];
        // With notifications configured (and no delivery given by the caller), the notices go on the durable
        // notification queue in the transaction that marks them sent, like review reminders; otherwise after it.
        const durable = !deps.notify && (notifySettings.email || notifySettings.webhooks.length > 0);
        const tick = await runMonthlyCheckSchedule({
          db,
          timeZone: deps.config.timezone,
          enqueue: async (trx, list) => {
            if (durable) await enqueueNotifications(workers.boss, list, notifySettings, inTransaction(trx));
            else notices.push(...list);
          },
        }, at);
        if (notices.length > 0) await (deps.notify ?? printNotices)(notices);
        return tick;
      },
      policy: async () => (await current()).loaded.policy,
      ...(checkpointKey ? { checkpoint: (at: Date) => takeCheckpoint(db, checkpointKey, { file: audit?.checkpoint_file, url: audit?.checkpoint_url }, at) } : {}),
    },
  });
  if (!deps.options?.applyOnly) {
    await registerNotificationWorkers(workers.boss, { db, settings: notifySettings, ...(senderOf ? { emailSender: senderOf } : {}), now }, { pollingIntervalSeconds: deps.options?.pollingIntervalSeconds ?? 0.5 });
    const config = deps.config;
    if (config.sources && config.correlation && config.mass_change && Object.values(config.sources).some((s) => s.type === 'scim')) {
      const full = config as JmlConfig;
      const queue = replanQueueOn(workers);
      const push = async (input: PushInput) => {
        const result = await pushUsers({ db, config: full }, input);
        if (result.status === 'applied') await followUpImport({ db, queue, policy: async () => (await current()).loaded.policy, timezone: full.timezone, now }, result);
        return result;
      };
      await registerScimBatchJobs(workers.boss, { db, push, now, owner: workers.workerId }, { pollingIntervalSeconds: deps.options?.pollingIntervalSeconds ?? 0.5 }, deps.options?.schedules ?? true);
    }
  }
  return {
    ...workers,
    stop: async (timeoutMs) => {
      await workers.stop(timeoutMs);
      emailSender?.close();
      for (const connectors of [...retiring, state.connectors]) await connectors.close();
      retiring.clear();
    },
  };
}
