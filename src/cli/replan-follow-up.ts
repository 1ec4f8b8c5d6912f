/**
 * The CLI's side of a follow-up replan (src/app/replan-follow-up.ts): the
 * queue is opened on the command's store and closed after. A follow-up that
 * fails does not fail the command: what it followed (an import, a decision)
 * is committed, and the workers' next tick plans it anyway.
 */
import { createPlanner } from '../app/compute-plan.ts';
import type { JmlConfig } from '../app/config.ts';
import type { FollowUp, FollowUpDeps } from '../app/replan-follow-up.ts';
import { openReplanQueue } from '../jobs/replan-queue.ts';
import type { Store } from '../store/open-store.ts';
import type { CliContext } from './cli-context.ts';

/** Runs `follow` with a replan queue on `store`; warnings and failures go to stderr unless `quiet`. */
export async function runFollowUp(ctx: CliContext, store: Store, config: JmlConfig, follow: (deps: FollowUpDeps) => Promise<FollowUp>, quiet = false): Promise<FollowUp | null> {
  const queue = openReplanQueue(store);
  try {
    const followUp = await follow({
      db: store.db,
      queue,
      policy: async () => (await createPlanner({ db: store.db, config, actor: ctx.actor }).loadPolicy()).policy,
      timezone: config.timezone,
    });
    if (!quiet) for (const warning of followUp.warnings) ctx.stderr.write(`warning: ${warning}\n`);
    return followUp;
  } catch (error) {
    if (!quiet) ctx.stderr.write(`warning: could not ask the workers to plan again (${(error as Error).message}); run jml apply, or the workers' next tick will\n`);
    return null;
  } finally {
    await queue.close().catch(() => undefined);
  }
}

/** One line for people: what was asked of the workers. */
export function followUpLine(followUp: FollowUp | null): string | null {
  if (!followUp || followUp.replan === null) return null;
  const who = followUp.replan === 'all' ? 'every identity' : `${followUp.replan.length} identit${followUp.replan.length === 1 ? 'y' : 'ies'}`;
  const held = followUp.joinerApprovals.length > 0 ? `; joiner approval opened for ${followUp.joinerApprovals.join(', ')}` : '';
  return `replan requested for ${who}: running workers carry it out (jml worker)${held}`;
}
