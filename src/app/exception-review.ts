/**
 * Exception review. An exception (access policy would not give) is
 * time-bound and reviewed: every `reviewEveryDays` after its approval, or
 * after its last recorded review, someone other than its requester and its
 * holder confirms it is still needed. A schedule raises a finding (and an
 * alert) for each exception ending within `warnDays` and each one past its
 * review date, and resolves those findings once the exception ended or was
 * reviewed: level-triggered, safe on every tick.
 */
import type { Kysely, Selectable } from 'kysely';
import { JmlError } from '../domain/errors.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { AccessRequestsTable, Database } from '../store/database.ts';
import { toRequest, type AccessRequest } from './access-request.ts';
import { raiseFinding, resolveFinding, type AlertSink } from './alert.ts';

export interface ExceptionReviewSettings {
  /** An exception ending within this many days is reported (default 14). */
  readonly warnDays: number;
  /** An exception is due for review this many days after approval or its last review (default 90). */
  readonly reviewEveryDays: number;
}

export const DEFAULT_EXCEPTION_REVIEW: ExceptionReviewSettings = { warnDays: 14, reviewEveryDays: 90 };

/** `review_overdue` wins over `ending_soon`: an overdue review is the stronger signal. */
export type ExceptionState = 'in_force' | 'ending_soon' | 'review_overdue';

export interface ExceptionInForce extends AccessRequest {
  readonly reviewState: ExceptionState;
  /** Whole days until it ends, rounded up. */
  readonly daysLeft: number;
  readonly reviewDue: string;
}

const DAY = 86_400_000;

function inForce(row: Selectable<AccessRequestsTable>, now: Date, settings: ExceptionReviewSettings): ExceptionInForce {
  const since = row.decided_at ?? row.created_at;
  const reviewDue = row.review_due ?? new Date(since.getTime() + settings.reviewEveryDays * DAY);
  const left = row.valid_to!.getTime() - now.getTime();
  const reviewState: ExceptionState = reviewDue.getTime() <= now.getTime() ? 'review_overdue' : left <= settings.warnDays * DAY ? 'ending_soon' : 'in_force';
  return { ...toRequest(row), reviewState, daysLeft: Math.ceil(left / DAY), reviewDue: reviewDue.toISOString() };
}

/**
 * Exceptions in force (approved, not yet ended), soonest to end first, each
 * with its review state.
 * @example
 * const list = await listExceptions(db, new Date(), DEFAULT_EXCEPTION_REVIEW);
 */
export async function listExceptions(db: Kysely<Database>, now: Date, settings: ExceptionReviewSettings = DEFAULT_EXCEPTION_REVIEW): Promise<ExceptionInForce[]> {
  const rows = await db.selectFrom('access_requests').selectAll().where('kind', '=', 'exception').where('state', '=', 'approved').where('valid_to', '>', now).orderBy('valid_to').orderBy('id').execute();
  return rows.map((r) => inForce(r, now, settings));
}

/**
 * The schedule's pass: a finding per exception ending soon (`<id>:ending`)
 * or past its review (`<id>:review`); findings of exceptions no longer in
 * that state are resolved. Returns the finding subjects open after the pass.
 */
export async function checkExceptionReviews(db: Kysely<Database>, now: Date, settings: ExceptionReviewSettings = DEFAULT_EXCEPTION_REVIEW, sink?: AlertSink): Promise<string[]> {
  const open: string[] = [];
  for (const x of await listExceptions(db, now, settings)) {
    const what = x.entitlements.map((e) => `${e.system}:${e.entitlement}`).join(', ');
    if (x.reviewState === 'review_overdue') {
      open.push(`${x.id}:review`);
      await raiseFinding(db, { kind: 'exception_review', subject: `${x.id}:review`, identityKey: x.identityKey, detail: `exception ${x.id} (${what} for ${x.identityKey}) was due for review on ${x.reviewDue.slice(0, 10)}` }, now, sink);
    }
    if (x.daysLeft <= settings.warnDays) {
      open.push(`${x.id}:ending`);
      await raiseFinding(db, { kind: 'exception_review', subject: `${x.id}:ending`, identityKey: x.identityKey, detail: `exception ${x.id} (${what} for ${x.identityKey}) ends on ${x.validTo!.slice(0, 10)}, in ${x.daysLeft} day(s): renew it as a new exception or let it end` }, now, sink);
    }
  }
  const stale = await db.selectFrom('findings').select('id').where('kind', '=', 'exception_review').where('state', '=', 'open').execute();
  const prefix = 'exception_review:';
  for (const { id } of stale) {
    const subject = id.slice(prefix.length);
    if (!open.includes(subject)) await resolveFinding(db, 'exception_review', subject, now);
  }
  return open;
}

export interface ExceptionReviewInput {
  readonly requestId: string;
  /** Identity key of who reviewed it. */
  readonly reviewer: string;
  readonly comment?: string;
}

/**
 * Records that an exception was reviewed and is still needed: its next
 * review falls `reviewEveryDays` from now. Nobody reviews an exception they
 * asked for or hold.
 */
export async function recordExceptionReview(db: Kysely<Database>, input: ExceptionReviewInput, now: Date, settings: ExceptionReviewSettings = DEFAULT_EXCEPTION_REVIEW): Promise<ExceptionInForce> {
  const row = await db.transaction().execute(async (trx) => {
    const found = await trx.selectFrom('access_requests').selectAll().where('id', '=', input.requestId).forUpdate().executeTakeFirst();
    if (!found || found.kind !== 'exception') throw new JmlError('not_found', `no exception ${input.requestId}`);
    if (found.state !== 'approved' || !found.valid_to || found.valid_to <= now) throw new JmlError('conflict', `exception ${found.id} is not in force`);
    if (input.reviewer === found.requester || input.reviewer === found.identity_key) {
      throw new JmlError('forbidden', `${input.reviewer} may not review exception ${found.id}: nobody reviews an exception they asked for or hold`);
    }
    const reviewDue = new Date(now.getTime() + settings.reviewEveryDays * DAY).toISOString();
    const updated = await trx.updateTable('access_requests').set({ review_due: reviewDue }).where('id', '=', found.id).returningAll().executeTakeFirstOrThrow();
    await appendAudit(trx, { actor: input.reviewer, action: 'exception.reviewed', subject: found.identity_key, trigger: `request:${found.id}`, details: { nextReview: reviewDue, comment: input.comment ?? null } }, now);
    return updated;
  });
  await resolveFinding(db, 'exception_review', `${row.id}:review`, now);
  return inForce(row, now, settings);
}
