/**
 * Access reviews over HTTP: campaigns with progress per reviewer (security and
 * admins), the caller's review inbox and decisions (any signed-in reviewer:
 * only items they review, never their own access), start, close preview,
 * close/release and the evidence export.
 */
import { z } from 'zod';
import { isJmlError, JmlError } from '../../domain/errors.ts';
import { REVIEW_DECISIONS } from '../../engine/review-decisions.ts';
import { rubberStampReport } from '../../engine/review-independence.ts';
import { closeReviewCampaign, decideReviewItems, delegateReviewItems, previewClose, startReviewCampaign, type ReviewDeps } from '../../app/reviews/review-campaigns.ts';
import { exportCampaign } from '../../app/reviews/review-export.ts';
import { campaignDecisions, getCampaign, listCampaigns, reviewerProgress, reviewInbox } from '../../app/reviews/review-queries.ts';
import type { ApiDeps } from '../api-deps.ts';
import { defineRoute, type RouteDefinition } from '../route-definition.ts';
import { boundedArray, boundedString, calendarDay } from '../request-limits.ts';

/** The most items one bulk decision may carry: the benchmark's 10,000-item case fits. */
const MAX_BULK = 10_000;

const campaignOut = z.object({
  id: z.string(), review: z.string(), state: z.string(), snapshotHash: z.string(), startedAt: z.string(), dueAt: z.string(),
  items: z.number(), decided: z.number(), reviewers: z.array(z.object({ reviewer: z.string(), open: z.number(), decided: z.number() })),
});
const itemOut = z.object({
  id: z.string(), campaignId: z.string(), stage: z.number(), identityKey: z.string(), system: z.string(), entitlement: z.string().nullable(), privileged: z.boolean(),
  recommendation: z.enum(['keep', 'remove']), recommendationWhy: z.string(), reasons: z.array(z.record(z.string(), z.unknown())), lastSignInAt: z.string().nullable(),
  grantedAt: z.string().nullable(), grantedBy: z.string().nullable(), peers: z.object({ department: z.string().nullable(), holding: z.number(), of: z.number() }),
  conflictedReviewers: z.array(z.string()),
});
const outcomeOut = z.object({ state: z.string(), held: z.boolean(), heldBecause: z.array(z.string()), preview: z.record(z.string(), z.unknown()) });

export function reviewRoutes(deps: ApiDeps): RouteDefinition[] {
  const reviews = (): ReviewDeps => deps.services.reviews?.() ?? (() => { throw new JmlError('not_found', 'reviews are not available in this build'); })();
  const refused = async (error: unknown, deny: (as: 'forbidden' | 'not_found', subject: string, reason: string) => Promise<never>, subject: string) => {
    if (isJmlError(error, 'forbidden')) return deny('forbidden', subject, error.message);
    throw error;
  };
  return [
    defineRoute({
      method: 'GET', url: '/api/reviews', summary: 'Review campaigns, newest first, with completion per reviewer.', tag: 'reviews', access: ['admin', 'security'],
      response: z.object({ items: z.array(campaignOut) }),
      async handler() {
        const list = await listCampaigns(deps.db);
        const items = await Promise.all(list.map(async (c) => ({
          id: c.id, review: c.review, state: c.state, snapshotHash: c.snapshot_hash, startedAt: c.started_at.toISOString(), dueAt: c.due_at.toISOString(),
          items: c.items, decided: c.decided, reviewers: await reviewerProgress(deps.db, c.id),
        })));
        return { items };
      },
    }),
    defineRoute({
      method: 'POST', url: '/api/reviews', summary: 'Starts a campaign of a review defined in policy.', tag: 'reviews', access: ['admin', 'security'], status: 201,
      body: z.object({ review: boundedString('key').min(1) }).strict(),
      response: z.object({ id: z.string(), items: z.number(), unassigned: z.number(), snapshotHash: z.string() }),
      handler: async ({ body, actor }) => startReviewCampaign(reviews(), body.review, actor, deps.now()),
    }),
    defineRoute({
      method: 'GET', url: '/api/reviews/inbox', summary: 'The caller’s open review items, with context, across open campaigns.', tag: 'reviews', access: 'signed_in',
      query: z.object({ campaign: boundedString('key').optional() }),
      response: z.object({ items: z.array(itemOut) }),
      async handler({ principal, query }) {
        if (principal.identityKey === null) return { items: [] };
        const items = await reviewInbox(deps.db, principal.identityKey, query.campaign);
        return { items: items.map((i) => ({ ...i, reasons: i.reasons.map((r) => ({ ...r })), peers: { ...i.peers }, conflictedReviewers: [...i.conflictedReviewers] })) };
      },
    }),
    defineRoute({
      method: 'POST', url: '/api/reviews/:id/decisions',
      summary: 'Decides items as the caller: keep, remove or reduce (until a date). Several items need confirmed: true (409 otherwise). Not the caller’s items, or their own access: 403, audited.',
      tag: 'reviews', access: 'signed_in',
      params: z.object({ id: boundedString('key') }),
      body: z.object({ itemIds: boundedArray(boundedString('key'), MAX_BULK).min(1), decision: z.enum(REVIEW_DECISIONS), comment: boundedString('text').optional(), until: calendarDay().optional(), confirmed: z.boolean().default(false) }).strict(),
      response: z.object({ decided: z.number() }),
      async handler({ params, body, principal, deny }) {
        if (principal.identityKey === null) return deny('not_found', `review:${params.id}`, 'only a person with an identity reviews');
        try {
          return await decideReviewItems(reviews(), params.id, { reviewer: principal.identityKey, itemIds: body.itemIds, decision: body.decision, confirmed: body.confirmed, ...(body.comment ? { comment: body.comment } : {}), ...(body.until ? { until: body.until } : {}) }, deps.now());
        } catch (error) {
          return refused(error, deny, `review:${params.id}`);
        }
      },
    }),
    defineRoute({
      method: 'POST', url: '/api/reviews/:id/delegation', summary: 'Hands the caller’s open items to another reviewer (audited).', tag: 'reviews', access: 'signed_in',
      params: z.object({ id: boundedString('key') }),
      body: z.object({ to: boundedString('key').min(1), itemIds: boundedArray(boundedString('key'), MAX_BULK).min(1) }).strict(),
      response: z.object({ ok: z.literal(true) }),
      async handler({ params, body, principal, deny, actor }) {
        if (principal.identityKey === null) return deny('not_found', `review:${params.id}`, 'only a person with an identity reviews');
        try {
          await delegateReviewItems(reviews(), params.id, { from: principal.identityKey, to: body.to, itemIds: body.itemIds, actor }, deps.now());
        } catch (error) {
          return refused(error, deny, `review:${params.id}`);
        }
        return { ok: true as const };
      },
    }),
    defineRoute({
      method: 'GET', url: '/api/reviews/:id/preview', summary: 'Blast radius of closing now: removals by kind and system, and whether the cap would hold them. Changes nothing.', tag: 'reviews', access: ['admin', 'security'],
      params: z.object({ id: boundedString('key') }),
      response: outcomeOut.extend({ pace: z.array(z.record(z.string(), z.unknown())) }),
      async handler({ params }) {
        const campaign = await getCampaign(deps.db, params.id);
        const outcome = await previewClose(deps.db, params.id);
        const pace = rubberStampReport(await campaignDecisions(deps.db, params.id)).map((p) => ({ ...p }));
        return { state: campaign.state, held: outcome.held, heldBecause: [...outcome.heldBecause], preview: { ...outcome.preview }, pace };
      },
    }),
    defineRoute({
      method: 'POST', url: '/api/reviews/:id/close', summary: 'Closes a campaign under its no-response policy; held by the cap unless release is true (a person’s decision, audited).', tag: 'reviews', access: ['admin', 'security'],
      params: z.object({ id: boundedString('key') }),
      body: z.object({ release: z.boolean().default(false) }).strict(),
      response: outcomeOut,
      async handler({ params, body, actor }) {
        const result = await closeReviewCampaign(reviews(), params.id, actor, deps.now(), { release: body.release });
        return { state: result.state, held: result.outcome.held, heldBecause: [...result.outcome.heldBecause], preview: { ...result.outcome.preview } };
      },
    }),
    defineRoute({
      method: 'GET', url: '/api/reviews/:id/export', summary: 'Evidence: every item with decisions (reviewer, time, comment, audit sequence number) and removal confirmation, under the snapshot hash.', tag: 'reviews', access: ['admin', 'security'],
      params: z.object({ id: boundedString('key') }),
      response: z.object({ campaign: z.record(z.string(), z.unknown()), items: z.array(z.record(z.string(), z.unknown())) }),
      async handler({ params }) {
        const { json } = await exportCampaign(deps.db, params.id);
        return { campaign: { ...json.campaign }, items: json.items.map((i) => ({ ...i, decisions: i.decisions.map((d) => ({ ...d })) })) };
      },
    }),
  ];
}
