/**
 * Cron schedules, evaluated by pg-boss in the organisation's time zone. Each
 * schedule sends a job to its queue; the handlers below do the work. Hooks
 * are the use cases other parts of jml own (folding due lifecycle events,
 * computing and submitting a plan, reconciling a system); a hook that is not
 * given is skipped.
 */
import type { Kysely } from 'kysely';
import type { PgBoss } from 'pg-boss';
import type { Connector } from '../connectors/connector.ts';
import type { Database } from '../store/database.ts';
import type { PriorityLane } from '../store/priority-lane.ts';
import type { Policy } from '../domain/policy.ts';
import type { AlertSink } from '../app/alert.ts';
import { expireAssignments } from '../app/assignment-expiry.ts';
import { detectDormantAccounts } from '../app/dormant-accounts.ts';
import { scanRisks } from '../app/risk-detectors.ts';
import { escalateApprovals } from '../app/approval.ts';
import { checkLeaverSla, DEFAULT_LEAVER_SLA, type LeaverSlaTargets } from '../app/leaver-sla.ts';
import { checkExceptionReviews, DEFAULT_EXCEPTION_REVIEW, type ExceptionReviewSettings } from '../app/exception-review.ts';
import type { ReplanOptions } from '../app/replan-follow-up.ts';
import { LEAVER_PRIORITY, QUEUE, reconcileJobSchema, replanJobSchema } from './job-queues.ts';

export interface ScheduleHooks {
  /** Folds scheduled lifecycle events whose time has come (src/app/lifecycle-clock.ts); returns the identities it changed. */
  readonly applyDueEvents?: (now: Date) => Promise<readonly string[]>;
  /** Computes and submits a plan for these identities (all when omitted), e.g. after assignments expired. */
  readonly replan?: (identityKeys: readonly string[] | undefined, reason: string) => Promise<unknown>;
  /** Reconciles one system (reads what it holds into the store). */
  readonly reconcile?: (system: string) => Promise<unknown>;
  /** The systems in policy. */
  readonly systems?: () => readonly string[] | Promise<readonly string[]>;
  /** The policy in force (the risk scan reads each system's credential maximum age from it). */
  readonly policy?: () => Promise<Policy>;
  /** Signs the audit chain head and writes it outside the database (src/app/audit/audit-checkpoint.ts); skipped without an audit key. */
  readonly checkpoint?: (now: Date) => Promise<unknown>;
  /** Starts, reminds, closes and confirms access review campaigns (src/app/reviews/review-scheduler.ts). */
  readonly reviews?: (now: Date) => Promise<unknown>;
  /** Opens the month's end-user check once and sends its notices (src/app/assets/monthly-check-schedule.ts). */
  readonly monthlyCheck?: (now: Date) => Promise<unknown>;
}

/**
 * Asks the workers to plan and submit for these identities now (after an
 * import, an approval, a rescinded leaver), instead of waiting for a tick.
 */
export async function requestReplan(boss: Pick<PgBoss, 'send'>, identityKeys: readonly string[] | undefined, reason: string, options: ReplanOptions = {}): Promise<void> {
  await boss.send(QUEUE.replan, { ...(identityKeys ? { identityKeys: [...identityKeys] } : {}), reason }, options.leaver ? { priority: LEAVER_PRIORITY } : {});
}

export interface ScheduleSettings {
  readonly timezone: string;
  /** When each system is reconciled (default daily at 02:00). */
  readonly reconcileCron: string;
  readonly dormantCron: string;
  /** An account with no sign-in for this many days is dormant (PCI DSS 8.2.6: 90). */
  readonly dormantDays: number;
  /** Credentials not set for longer than this are stale findings where their system's policy names no maximum (risk scan, with the dormant scan's schedule; default 90). */
  readonly credentialMaxAgeDays?: number;
  readonly leaverSla: LeaverSlaTargets;
  /** When exceptions ending soon or past their review are reported (default daily at 06:00). */
  readonly exceptionReviewCron: string;
  readonly exceptionReview: ExceptionReviewSettings;
  /** When the audit chain head is signed into a checkpoint (default hourly). */
  readonly checkpointCron: string;
  /** When the monthly check is opened (if not yet this month) and its invitations, reminders and escalations sent (default hourly). */
  readonly monthlyCheckCron: string;
  /**
   * When the workers compute a full plan (default hourly, at half past): the safety net for an identity whose own
   * replan request was lost (a process stopped before sending it, the queue unreachable). Empty: never.
   */
  readonly planCron: string;
}

export const DEFAULT_SCHEDULES: ScheduleSettings = {
  timezone: 'UTC',
  reconcileCron: '0 2 * * *',
  dormantCron: '0 3 * * *',
  dormantDays: 90,
  leaverSla: DEFAULT_LEAVER_SLA,
  exceptionReviewCron: '0 6 * * *',
  exceptionReview: DEFAULT_EXCEPTION_REVIEW,
  checkpointCron: '0 * * * *',
  monthlyCheckCron: '20 * * * *',
  planCron: '30 * * * *',
};

export interface ScheduleDeps {
  readonly db: Kysely<Database>;
  readonly connectorFor: (system: string | null) => Connector | undefined;
  readonly hooks: ScheduleHooks;
  readonly alert?: AlertSink;
  readonly now?: () => Date;
  /** Where a leaver's replan runs as urgent work, which the rest of the process gives way to. */
  readonly lane?: Pick<PriorityLane, 'urgent'>;
}

/**
 * Registers the worker of every scheduled queue and, with `cron`, the
 * schedules themselves (idempotent: pg-boss keys schedules by name). A
 * process without cron still answers jobs sent to these queues (replan).
 * Returns each queue's pg-boss worker id (to wake it).
 */
export async function registerSchedules(boss: PgBoss, deps: ScheduleDeps, partial: Partial<ScheduleSettings>, polling: { pollingIntervalSeconds: number }, cron = true): Promise<ReadonlyMap<string, string>> {
  const workerIds = new Map<string, string>();
  const settings = { ...DEFAULT_SCHEDULES, ...partial };
  const tz = settings.timezone;
  const now = deps.now ?? (() => new Date());
  const every = (cron: string) => ({ tz, key: 'jml' as const, cron });
  const table: readonly { readonly queue: string; readonly cron: string; readonly data?: object; readonly run: (data: unknown) => Promise<unknown> }[] = [
    { queue: QUEUE.applySweep, cron: '* * * * *', run: async () => undefined },
    { queue: QUEUE.quarantineProbe, cron: '* * * * *', run: async () => undefined },
    {
      queue: QUEUE.lifecycleDue,
      cron: '* * * * *',
      run: async () => {
        const changed = (await deps.hooks.applyDueEvents?.(now())) ?? [];
        if (changed.length > 0) await deps.hooks.replan?.(changed, 'lifecycle events due');
      },
    },
    {
      queue: QUEUE.assignmentsExpire,
      cron: '* * * * *',
      run: async () => {
        const expired = await expireAssignments(deps.db, now());
        if (expired.length > 0) await deps.hooks.replan?.([...new Set(expired.map((a) => a.identityKey))], 'time-bound assignments expired');
      },
    },
    {
      queue: QUEUE.reconcile,
      cron: settings.reconcileCron,
      run: async (data) => {
        const { system } = reconcileJobSchema.parse(data ?? {});
        const systems = system ? [system] : await (deps.hooks.systems?.() ?? []);
        for (const name of systems) await deps.hooks.reconcile?.(name);
      },
    },
    {
      queue: QUEUE.replan,
      // The scheduled full plan; requests for a few identities are sent to this queue by imports, pushes and edits.
      cron: settings.planCron,
      data: { reason: 'scheduled plan' },
      run: async (data) => {
        const { identityKeys, reason } = replanJobSchema.parse(data ?? {});
        await deps.hooks.replan?.(identityKeys, reason);
      },
    },
    { queue: QUEUE.dormantScan, cron: settings.dormantCron, run: async () => detectDormantAccounts(deps.db, now(), settings.dormantDays, deps.alert) },
    {
      queue: QUEUE.riskScan,
      cron: settings.dormantCron,
      run: async () => {
        const policy = await deps.hooks.policy?.();
        return scanRisks(deps.db, now(), { ...(settings.credentialMaxAgeDays !== undefined ? { credentialMaxAgeDays: settings.credentialMaxAgeDays } : {}), ...(policy ? { systems: policy.systems } : {}) }, deps.alert);
      },
    },
    { queue: QUEUE.approvalsEscalate, cron: '*/15 * * * *', run: async () => escalateApprovals(deps.db, now()) },
    { queue: QUEUE.leaverSla, cron: '*/5 * * * *', run: async () => checkLeaverSla(deps.db, now(), settings.leaverSla, deps.alert) },
    { queue: QUEUE.exceptionsReview, cron: settings.exceptionReviewCron, run: async () => checkExceptionReviews(deps.db, now(), settings.exceptionReview, deps.alert) },
    { queue: QUEUE.auditCheckpoint, cron: deps.hooks.checkpoint ? settings.checkpointCron : '', run: async () => deps.hooks.checkpoint?.(now()) },
    // Reminders fall at midnight in the organisation's zone; five minutes late is soon enough.
    { queue: QUEUE.reviewsSchedule, cron: deps.hooks.reviews ? '*/5 * * * *' : '', run: async () => deps.hooks.reviews?.(now()) },
    { queue: QUEUE.monthlyCheck, cron: deps.hooks.monthlyCheck ? settings.monthlyCheckCron : '', run: async () => deps.hooks.monthlyCheck?.(now()) },
  ];
  for (const entry of table) {
    const { cron: expression, ...options } = every(entry.cron);
    // An empty expression: the queue has a worker but runs only when someone sends to it.
    if (cron && expression) await boss.schedule(entry.queue, expression, entry.data ?? {}, options);
    if (entry.queue === QUEUE.applySweep || entry.queue === QUEUE.quarantineProbe) continue; // workers.ts handles these
    const id = await boss.work(entry.queue, { ...polling, includeMetadata: true }, async (jobs) => {
      for (const job of jobs) {
        const run = () => entry.run(job.data);
        // A replan asked for with a leaver's priority (requestReplan) plans that leaver as urgent work.
        await (deps.lane && job.priority >= LEAVER_PRIORITY ? deps.lane.urgent(run) : run());
      }
    });
    workerIds.set(entry.queue, id);
  }
  return workerIds;
}
