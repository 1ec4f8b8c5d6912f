/**
 * `jml plan --at DATE`: the plan as it will be on a future date — identities
 * re-folded with the lifecycle events that take effect by the end of that day
 * (organisation time zone), assignments and exceptions valid then — computed
 * inside a transaction that is always rolled back, so nothing is written: no
 * identity, event state, policy version or audit entry.
 */
import { JmlError } from '../domain/errors.ts';
import { dateIn, lastInstantOf } from '../engine/org-calendar.ts';
import { loadPolicy } from '../policy/index.ts';
import { createPlanner, type ComputedPlan, type PlannerDeps, type PlanScope } from './compute-plan.ts';
import { foldDueEvents } from './lifecycle-clock.ts';

/** Thrown to end the preview's transaction; never escapes. */
class PreviewDone extends Error {}

/**
 * The instant a preview of `date` (YYYY-MM-DD) is computed at: the last
 * instant of that day in `timeZone`, as `jml import --as-of` reads a date.
 * A date before today is refused: a preview looks forward only.
 */
export function previewInstant(date: string, timeZone: string, now: Date): Date {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
    throw new JmlError('invalid_input', `--at must be a date YYYY-MM-DD, got "${date}"`, { details: { at: date } });
  }
  const today = dateIn(now, timeZone);
  if (date < today) throw new JmlError('invalid_input', `--at ${date} is before today (${today} in ${timeZone}): a preview shows a coming date`, { details: { at: date, today } });
  return new Date(lastInstantOf(date, timeZone));
}

/**
 * Computes the plan of `scope` as of `at` without writing anything.
 * @example
 * const { plan } = await previewPlan({ db: store.db, config, actor }, previewInstant('2027-01-31', config.timezone, new Date()));
 */
export async function previewPlan(deps: Pick<PlannerDeps, 'db' | 'config' | 'actor'>, at: Date, scope: PlanScope = {}): Promise<ComputedPlan> {
  let result: ComputedPlan | undefined;
  try {
    await deps.db.transaction().execute(async (trx) => {
      await foldDueEvents(trx, at.toISOString());
      const planner = createPlanner({ db: trx, config: deps.config, actor: deps.actor, now: () => at, policySource: () => loadPolicy(deps.config.policy_dir) });
      result = await planner.compute(scope);
      throw new PreviewDone();
    });
  } catch (error) {
    if (!(error instanceof PreviewDone)) throw error;
  }
  return result!;
}
