/**
 * Oversight in the console: systems (health, last reconcile, quarantine and
 * its release, a connection test), findings (filter, the plan that fixes
 * each, resolution by hand), exceptions with their review state, and the
 * audit chain's verification. Admin runs systems; security reads and reviews.
 */
import { z } from 'zod';
import { DEFAULT_EXCEPTION_REVIEW, listExceptions, recordExceptionReview } from '../../app/exception-review.ts';
import { findingsWithFixes } from '../../app/finding-fixes.ts';
import { resolveFindingByPerson } from '../../app/finding-resolution.ts';
import { listSystemOverview } from '../../app/system-overview.ts';
import { isJmlError, JmlError } from '../../domain/errors.ts';
import { appendAudit, verifyAudit } from '../../store/audit-log.ts';
import type { ApiDeps } from '../api-deps.ts';
import { boundedString } from '../request-limits.ts';
import { defineRoute, type RouteDefinition } from '../route-definition.ts';

const systemView = z.object({
  system: z.string(),
  connector: z.string().nullable(),
  owner: z.string().nullable(),
  enforcement: z.string().nullable(),
  inPolicy: z.boolean(),
  state: z.enum(['healthy', 'quarantined']),
  consecutiveFailures: z.number(),
  lastError: z.string().nullable(),
  quarantinedAt: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
  lastReconcile: z.object({ status: z.string(), startedAt: z.string(), finishedAt: z.string().nullable(), error: z.string().nullable() }).nullable(),
  openFindings: z.number(),
});

const testResult = z.object({ system: z.string(), ok: z.boolean(), problems: z.array(z.string()), accountsRead: z.number().nullable(), more: z.boolean(), sample: z.array(z.string()), elapsedMs: z.number() });

const findingView = z.object({
  id: z.string(),
  kind: z.string(),
  system: z.string().nullable(),
  identityKey: z.string().nullable(),
  accountId: z.string().nullable(),
  entitlement: z.string().nullable(),
  detail: z.string(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  state: z.enum(['open', 'resolved']),
  resolvedAt: z.string().nullable(),
  fixedBy: z.object({ planId: z.string(), status: z.string(), changeId: z.string() }).nullable(),
});

const exceptionView = z.object({
  id: z.string(),
  requester: z.string(),
  identityKey: z.string(),
  entitlements: z.array(z.object({ system: z.string(), entitlement: z.string() })),
  justification: z.string(),
  /** An SoD mitigation: the rule it lets the access break, the compensating control and its owner; null otherwise. */
  sod: z.object({ rule: z.string(), control: z.string(), controlOwner: z.string() }).nullable(),
  decidedAt: z.string().nullable(),
  validTo: z.string().nullable(),
  reviewState: z.enum(['in_force', 'ending_soon', 'review_overdue']),
  reviewDue: z.string(),
  daysLeft: z.number(),
});

function unavailable(feature: string): never {
  throw new JmlError('not_found', `${feature} is not available in this build`);
}

/** The routes. */
export function governanceRoutes(deps: ApiDeps): RouteDefinition[] {
  const { db, services } = deps;
  const reviewSettings = () => services.exceptionReview ?? DEFAULT_EXCEPTION_REVIEW;
  return [
    defineRoute({
      method: 'GET',
      url: '/api/systems',
      summary: 'Every system: connector, owner, health (quarantined or not, the last error), its last reconcile and its open findings.',
      tag: 'systems',
      access: ['admin', 'security'],
      response: z.object({ items: z.array(systemView) }),
      async handler() {
        const policy = services.policy ? await services.policy() : null;
        const items = await listSystemOverview(db, policy?.systems ?? []);
        return { items: items.map((s) => ({ ...s, lastReconcile: s.lastReconcile ? { ...s.lastReconcile } : null })) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/systems/:name/test',
      summary: 'Tests the connection of a policy system: the connector checks its settings and reachability, then reads one page of accounts. Changes nothing; audited.',
      tag: 'systems',
      access: ['admin'],
      params: z.object({ name: boundedString('key') }),
      response: testResult,
      async handler({ params, actor, request }) {
        const result = await (services.systems ?? unavailable('testing a connection')).test(params.name, actor);
        await appendAudit(db, { actor, action: 'system.tested', subject: `system:${params.name}`, trigger: `api:${request.id}`, details: { ok: result.ok, problems: result.problems, accountsRead: result.accountsRead } }, deps.now());
        return { ...result, problems: [...result.problems], sample: [...result.sample] };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/systems/:name/release',
      summary: 'Releases a quarantined system: its waiting changes are queued again. Not quarantined: 404.',
      tag: 'systems',
      access: ['admin'],
      stepUp: true,
      params: z.object({ name: boundedString('key') }),
      response: z.object({ system: z.string(), resumed: z.number() }),
      handler: async ({ params, actor }) => ({ system: params.name, resumed: (await (services.systems ?? unavailable('quarantine release')).release(params.name, actor)).resumed }),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/findings',
      summary: 'Findings, open first; filter by state, system, kind or identity. Each open one names the plan (not yet applied) whose change fixes it.',
      tag: 'findings',
      access: ['admin', 'security'],
      query: z.object({
        state: z.enum(['open', 'resolved']).optional(),
        system: boundedString('key').optional(),
        kind: boundedString('key').optional(),
        identityKey: boundedString('key').optional(),
        limit: z.coerce.number().int().min(1).max(500).default(200),
      }),
      response: z.object({ items: z.array(findingView), total: z.number() }),
      async handler({ query }) {
        const { items, total } = await findingsWithFixes(db, { ...(query.state ? { state: query.state } : {}), ...(query.system ? { system: query.system } : {}), ...(query.kind ? { kind: query.kind } : {}), ...(query.identityKey ? { identityKey: query.identityKey } : {}) }, query.limit);
        return { items: items.map((f) => ({ ...f, fixedBy: f.fixedBy ? { ...f.fixedBy } : null })), total };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/findings/:id/resolve',
      summary: 'Resolves an open finding by hand, with a note (handled outside jml, or accepted); audited. A detector that still sees it raises it again.',
      tag: 'findings',
      access: ['admin', 'security'],
      stepUp: true,
      params: z.object({ id: boundedString('key') }),
      body: z.object({ note: boundedString('text').trim().min(3, 'say why (at least 3 characters)') }).strict(),
      response: z.object({ id: z.string(), state: z.literal('resolved') }),
      async handler({ params, body, actor, request }) {
        await resolveFindingByPerson(db, params.id, { actor, note: body.note, trigger: `api:${request.id}` }, deps.now());
        return { id: params.id, state: 'resolved' as const };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/exceptions',
      summary: 'Exceptions in force, soonest to end first, each with its review state (in force, ending soon, review overdue) and review date.',
      tag: 'exceptions',
      access: ['admin', 'security'],
      response: z.object({ items: z.array(exceptionView) }),
      async handler() {
        const list = await listExceptions(db, deps.now(), reviewSettings());
        return { items: list.map((x) => ({ id: x.id, requester: x.requester, identityKey: x.identityKey, entitlements: x.entitlements.map((e) => ({ system: e.system, entitlement: e.entitlement })), justification: x.justification, sod: x.sod ? { ...x.sod } : null, decidedAt: x.decidedAt, validTo: x.validTo, reviewState: x.reviewState, reviewDue: x.reviewDue, daysLeft: x.daysLeft })) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/exceptions/:id/review',
      summary: 'Records that an exception was reviewed and is still needed; its next review falls later. Nobody reviews an exception they asked for or hold (403, audited).',
      tag: 'exceptions',
      access: ['admin', 'security'],
      stepUp: true,
      params: z.object({ id: boundedString('key') }),
      body: z.object({ comment: boundedString('text').optional() }).strict(),
      response: z.object({ id: z.string(), reviewDue: z.string(), reviewState: z.enum(['in_force', 'ending_soon', 'review_overdue']) }),
      async handler({ params, body, actor, deny }) {
        try {
          const reviewed = await recordExceptionReview(db, { requestId: params.id, reviewer: actor, ...(body.comment ? { comment: body.comment } : {}) }, deps.now(), reviewSettings());
          return { id: reviewed.id, reviewDue: reviewed.reviewDue, reviewState: reviewed.reviewState };
        } catch (error) {
          if (isJmlError(error, 'forbidden')) return deny('forbidden', `exception:${params.id}`, error.message);
          throw error;
        }
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/audit/verify',
      summary: 'Walks the audit trail’s hash chain and names the first broken link, if any.',
      tag: 'admin',
      access: ['admin', 'security'],
      response: z.object({ ok: z.boolean(), entries: z.number(), headHash: z.string().nullable(), brokenAt: z.number().nullable(), reason: z.string().nullable() }),
      async handler() {
        const verdict = await verifyAudit(db);
        return verdict.ok ? { ok: true, entries: verdict.entries, headHash: verdict.headHash, brokenAt: null, reason: null } : { ok: false, entries: verdict.entries, headHash: null, brokenAt: verdict.brokenAt, reason: verdict.reason };
      },
    }),
  ];
}
