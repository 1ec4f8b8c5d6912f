/**
 * What follows an import or an approval decision: the identities it touched
 * are planned again by the workers, through the job queue, so their access
 * follows within seconds instead of at the next `jml apply`. The caller does
 * not wait for a worker, and none need be running: the request waits in the
 * queue. One function per trigger, shared by the CLI and the API.
 */
import type { Kysely } from 'kysely';
import type { Policy } from '../domain/policy.ts';
import type { Database } from '../store/database.ts';
import type { AccessRequest } from './access-request.ts';
import type { ImportResult } from './import-source.ts';
import { requestJoinerApprovals } from './joiner-approval.ts';

export interface ReplanOptions {
  /** A leaver is among the identities: the request overtakes other replans in the queue. */
  readonly leaver?: boolean;
}

/** Where replan requests go; src/jobs/replan-queue.ts implements it over pg-boss. */
export interface ReplanQueue {
  /** Asks for a plan of these identities (all when undefined) to be computed and submitted. */
  requestReplan(identityKeys: readonly string[] | undefined, reason: string, options?: ReplanOptions): Promise<void>;
}

export interface FollowUpDeps {
  readonly db: Kysely<Database>;
  readonly queue: ReplanQueue;
  /** The current policy; read only when joiner approvals may need opening. */
  readonly policy: () => Promise<Pick<Policy, 'approvals' | 'systems' | 'entitlements' | 'roles'>>;
  readonly timezone?: string;
  readonly now?: () => Date;
}

export interface FollowUp {
  /** The identities a replan was asked for, 'all', or null when nothing needed one. */
  readonly replan: readonly string[] | 'all' | null;
  /** Joiners for whom an approval was opened first (so the replan holds them). */
  readonly joinerApprovals: readonly string[];
  readonly warnings: readonly string[];
}

/** Past this many identities one whole replan is cheaper than a payload of keys and the scoped loads it asks for (src/app/scoped-plan-inputs.ts). */
export const MAX_REPLAN_KEYS = 1000;

/**
 * After an import that applied events: opens joiner approvals where policy
 * asks for them (before any plan could activate those joiners), then asks
 * for a replan of every identity an event touched.
 * @example
 * const result = await importSource(deps, options);
 * const followUp = await followUpImport({ db, queue, policy }, result);
 */
export async function followUpImport(deps: FollowUpDeps, result: Pick<ImportResult, 'status' | 'events' | 'effective' | 'source' | 'importId'>): Promise<FollowUp> {
  const keys = [...new Set([...result.events.map((e) => e.identity), ...result.effective.map((e) => e.identity)])].sort();
  if (result.status !== 'applied' || keys.length === 0) return { replan: null, joinerApprovals: [], warnings: [] };
  const warnings: string[] = [];
  let joinerApprovals: string[] = [];
  try {
    const policy = await deps.policy();
    joinerApprovals = await requestJoinerApprovals({ db: deps.db, policy, ...(deps.timezone ? { timezone: deps.timezone } : {}), ...(deps.now ? { now: deps.now } : {}) });
  } catch (error) {
    // The workers open joiner approvals again before they plan; the import itself stands.
    warnings.push(`joiner approvals not opened here: ${(error as Error).message.split('\n')[0]}`);
  }
  const replan = keys.length > MAX_REPLAN_KEYS ? undefined : keys;
  const leaver = [...result.events, ...result.effective].some((e) => e.type === 'leaver');
  await deps.queue.requestReplan(replan, `import ${result.source} ${result.importId}`, { leaver });
  return { replan: replan ?? 'all', joinerApprovals, warnings };
}

/**
 * After an approval decision: a request that is now approved (its last
 * stage) changes what its identity should hold, so that identity is planned
 * again. A stage in between, or a denial, changes nothing downstream.
 */
export async function followUpDecision(deps: Pick<FollowUpDeps, 'queue'>, request: Pick<AccessRequest, 'id' | 'kind' | 'state' | 'identityKey'>): Promise<FollowUp> {
  if (request.state !== 'approved') return { replan: null, joinerApprovals: [], warnings: [] };
  await deps.queue.requestReplan([request.identityKey], `${request.kind} ${request.id} approved`);
  return { replan: [request.identityKey], joinerApprovals: [], warnings: [] };
}

/**
 * After a rescinded termination: the identity is active again, so it is
 * planned again (what it should hold now; removed access does not come back
 * by itself, the plan decides).
 */
export async function followUpRescind(deps: Pick<FollowUpDeps, 'queue'>, rescinded: { readonly identityKey: string; readonly eventId: string }): Promise<FollowUp> {
  await deps.queue.requestReplan([rescinded.identityKey], `leaver ${rescinded.eventId} rescinded`);
  return { replan: [rescinded.identityKey], joinerApprovals: [], warnings: [] };
}

/**
 * A queue whose failures are reported and swallowed: the action that asked for the replan
 * (a lost report, an answer) stands either way, and the workers' next scheduled plan picks it up.
 * @example const replan = tolerantReplan(queue, (m) => process.stderr.write(`${m}\n`));
 */
export function tolerantReplan(queue: ReplanQueue, warn: (message: string) => void): ReplanQueue {
  return {
    async requestReplan(identityKeys, reason, options) {
      try {
        await queue.requestReplan(identityKeys, reason, options);
      } catch (error) {
        warn(`replan (${reason}) not requested: ${(error as Error).message}; the workers' next scheduled plan picks it up`);
      }
    },
  };
}

/** What a follow-up reads of an applied import or push. */
export type FollowedImport = Pick<ImportResult, 'status' | 'events' | 'effective' | 'source' | 'importId'>;

export interface CoalescedFollowUps {
  /** Queues the follow-up of an applied import or push; returns at once. */
  add(result: FollowedImport): void;
  /** Runs every queued follow-up now and waits for those under way (at shutdown, and in tests). */
  flush(): Promise<void>;
}

/**
 * Follow-ups of pushes that come close together, run as one per source. A
 * provisioning client sends a Bulk of 50 records every few hundred
 * milliseconds; each would otherwise pay its own joiner-approval query and
 * replan job before its answer. Here the first push of a source waits up to
 * `windowMs`, every push of that source arriving meanwhile joins it, and one
 * follow-up covers all their events — the answer does not wait for it. A
 * push with a leaver starts its source's follow-up at once. `run`
 * handles its own failures (the workers' next scheduled plan picks the
 * identities up), as after an import; a follow-up still queued when the
 * process dies is lost the same way.
 * @example
 * const followUps = coalescedFollowUps((merged) => followUpImport(deps, merged).then(() => undefined), 1000);
 * followUps.add(pushResult);
 */
export function coalescedFollowUps(run: (merged: FollowedImport) => Promise<void>, windowMs: number): CoalescedFollowUps {
  const queued = new Map<string, { results: FollowedImport[]; timer: ReturnType<typeof setTimeout> }>();
  const running = new Set<Promise<void>>();
  const start = (source: string) => {
    const entry = queued.get(source);
    if (!entry) return;
    queued.delete(source);
    clearTimeout(entry.timer);
    const [first, ...others] = entry.results;
    const merged: FollowedImport = {
      status: 'applied',
      source,
      importId: others.length === 0 ? first!.importId : `${first!.importId} and ${others.length} more`,
      events: entry.results.flatMap((r) => r.events),
      effective: entry.results.flatMap((r) => r.effective),
    };
    const done: Promise<void> = run(merged).finally(() => running.delete(done));
    running.add(done);
  };
  return {
    add(result) {
      if (result.status !== 'applied') return;
      const entry = queued.get(result.source);
      if (entry) entry.results.push(result);
      else {
        const timer = setTimeout(() => start(result.source), windowMs);
        // A queued follow-up does not keep the process alive: the workers' scheduled plan covers one lost at exit.
        timer.unref();
        queued.set(result.source, { results: [result], timer });
      }
      // A leaver is not kept waiting for the window (its replan overtakes others in the queue, as after an import).
      if ([...result.events, ...result.effective].some((e) => e.type === 'leaver')) start(result.source);
    },
    async flush() {
      for (const source of [...queued.keys()]) start(source);
      await Promise.allSettled([...running]);
    },
  };
}
