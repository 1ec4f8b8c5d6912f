/**
 * The YAML form of `reviews:` in a policy file (snake_case), parsed into the
 * ReviewDef values of src/domain/review.ts.
 *
 * ```yaml
 * reviews:
 *   - name: quarterly-managers
 *     scope: { systems: [ldap] }
 *     stages: [manager]
 *     recurrence: { every_months: 3, from: 2027-01-01 }
 *     duration_days: 14
 *     reminders: { midpoint: true, days_before: [1] }
 *     escalate_after_days: 10
 *     no_response: recommendation
 *     cap: { max_percent: 10, hold_privileged: true }
 * ```
 */
import { z } from 'zod';
import { IDENTITY_KINDS } from '../domain/identity.ts';
import { DEFAULT_UNUSED_DAYS, MAX_REVIEW_STAGES, type ReviewDef, type ReviewerRef, type ReviewStageDef } from '../domain/review.ts';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'use letters, digits, ".", "_" or "-" (no spaces or colons)');

const REVIEWER_KINDS = ['manager', 'system_owner', 'entitlement_owner', 'owner', 'sponsor', 'self'] as const;
const reviewerRef = z.union([
  z.enum(REVIEWER_KINDS).transform((type): ReviewerRef => ({ type })),
  z.array(z.string().min(1)).min(1).transform((keys): ReviewerRef => ({ type: 'identities', keys })),
]);

const stageSchema = z.union([
  z.enum(REVIEWER_KINDS).transform((type): ReviewStageDef => ({ name: type, reviewers: { type }, fallback: [], advance: 'kept' })),
  z
    .strictObject({
      name: name.optional(),
      reviewers: reviewerRef,
      fallback: z.array(z.string().min(1)).default([]).describe('identity keys who review when the reviewers resolve to nobody'),
      advance: z.enum(['kept', 'all']).default('kept').describe('which items go on to the next stage'),
    })
    .transform((s): ReviewStageDef => ({
      name: s.name ?? (s.reviewers.type === 'identities' ? 'named' : s.reviewers.type),
      reviewers: s.reviewers,
      fallback: s.fallback,
      advance: s.advance,
    })),
]);

/** One review definition. */
export const reviewSchema = z
  .strictObject({
    name,
    description: z.string().default(''),
    scope: z
      .strictObject({
        systems: z.array(name).default([]),
        entitlements: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*:\S+$/, 'write "system:entitlement" or "system:*"')).default([]),
        privileged: z.boolean().default(false).describe('only privileged entitlements'),
        role: name.optional(),
        kinds: z.array(z.enum(IDENTITY_KINDS)).default([]),
        manager: z.string().min(1).optional().describe('everyone this manager (identity key) has'),
        owner: z.string().min(1).optional().describe('identities this key owns or sponsors'),
      })
      .default({ systems: [], entitlements: [], privileged: false, kinds: [] }),
    stages: z.array(stageSchema).min(1).max(MAX_REVIEW_STAGES, `at most ${MAX_REVIEW_STAGES} stages`),
    recurrence: z
      .strictObject({ every_months: z.number().int().min(1).max(36), from: z.iso.date() })
      .optional(),
    duration_days: z.number().int().min(1).max(365).default(14),
    reminders: z
      .strictObject({ midpoint: z.boolean().default(true), days_before: z.array(z.number().int().min(1).max(365)).default([1]) })
      .default({ midpoint: true, days_before: [1] }),
    escalate_after_days: z.number().int().min(1).max(365).optional(),
    no_response: z.enum(['keep', 'remove', 'recommendation']).default('keep'),
    cap: z
      .strictObject({ max_percent: z.number().min(0).max(100).default(10), hold_privileged: z.boolean().default(true) })
      .default({ max_percent: 10, hold_privileged: true }),
    unused_days: z
      .strictObject({ standard: z.number().int().min(1).max(3650).optional(), privileged: z.number().int().min(1).max(3650).optional() })
      .optional(),
  })
  .superRefine((r, ctx) => {
    r.stages.forEach((stage, i) => {
      if (i > 0 && stage.reviewers.type === 'self') ctx.addIssue({ code: 'custom', path: ['stages', i], message: 'the person themself may review only as the first stage' });
    });
    if (r.stages.length === 1 && r.stages[0]!.reviewers.type === 'self') {
      ctx.addIssue({ code: 'custom', path: ['stages'], message: 'a self-review needs a second stage: nobody has the last word on their own access' });
    }
    if (r.escalate_after_days !== undefined && r.escalate_after_days >= r.duration_days) {
      ctx.addIssue({ code: 'custom', path: ['escalate_after_days'], message: `escalate before the review ends (duration_days is ${r.duration_days})` });
    }
    r.reminders.days_before.forEach((d, i) => {
      if (d >= r.duration_days) ctx.addIssue({ code: 'custom', path: ['reminders', 'days_before', i], message: `a reminder ${d} days before the end falls before a ${r.duration_days}-day review starts` });
    });
  })
  .transform(
    (r): ReviewDef => ({
      name: r.name,
      description: r.description,
      scope: {
        systems: r.scope.systems,
        entitlements: r.scope.entitlements,
        privilegedOnly: r.scope.privileged,
        role: r.scope.role ?? null,
        kinds: r.scope.kinds,
        manager: r.scope.manager ?? null,
        owner: r.scope.owner ?? null,
      },
      stages: r.stages,
      recurrence: r.recurrence ? { everyMonths: r.recurrence.every_months, from: r.recurrence.from } : null,
      durationDays: r.duration_days,
      reminders: { midpoint: r.reminders.midpoint, daysBefore: [...r.reminders.days_before].sort((a, b) => b - a) },
      escalateAfterDays: r.escalate_after_days ?? null,
      noResponse: r.no_response,
      cap: { maxPercent: r.cap.max_percent, holdPrivileged: r.cap.hold_privileged },
      unusedDays: {
        standard: r.unused_days?.standard ?? DEFAULT_UNUSED_DAYS.standard,
        privileged: r.unused_days?.privileged ?? DEFAULT_UNUSED_DAYS.privileged,
      },
    }),
  );
