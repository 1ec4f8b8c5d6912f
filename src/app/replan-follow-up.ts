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
