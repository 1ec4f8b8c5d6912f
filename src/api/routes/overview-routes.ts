/**
 * The dashboard (today's events, leavers in progress with SLA clocks, plans
 * awaiting approval, quarantined systems, findings, a 14-day event chart),
 * console users (admin) and the audit trail (admin, security).
 */
import { sql } from 'kysely';
import { z } from 'zod';
import { latestCheckSummary } from '../../app/assets/monthly-check.ts';
import { assetReturnsOpen, eventsByDay, leaversInProgress, planWaiting, todaysEvents } from '../../app/dashboard-queries.ts';
import type { ApiDeps } from '../api-deps.ts';
import { createCredentialStore } from '../auth/credential-store.ts';
import { GRANTED_ROLES } from '../auth/principal.ts';
import { createUser, toConsoleUser } from '../auth/user-store.ts';
import { appendAudit } from '../../store/audit-log.ts';
import { containing, escapeLike } from '../../store/like-pattern.ts';
import { JmlError } from '../../domain/errors.ts';
import { defineRoute, page, pageQuery, sequenceCursor, type RouteDefinition } from '../route-definition.ts';
import { boundedArray, boundedString, newPassword } from '../request-limits.ts';


const completionGroup = z.object({ group: z.string(), items: z.number(), answered: z.number(), respondents: z.number(), respondentsDone: z.number() });

const userView = z.object({ id: z.string(), username: z.string(), displayName: z.string(), identityKey: z.string().nullable(), roles: z.array(z.enum(GRANTED_ROLES)), status: z.enum(['active', 'disabled']), lastSignInAt: z.string().nullable() });

export function overviewRoutes(deps: ApiDeps): RouteDefinition[] {
  const { db } = deps;
  const credentials = createCredentialStore(deps);
  return [
    defineRoute({
      method: 'GET',
      url: '/api/dashboard',
      summary: 'Today at a glance for admin, security and HR.',
      tag: 'dashboard',
      access: ['admin', 'security', 'hr'],
      response: z.object({
        counts: z.record(z.string(), z.number()),
        today: z.array(z.object({ id: z.string(), type: z.string(), identityKey: z.string(), displayName: z.string(), effectiveDate: z.string(), state: z.string() })),
        leavers: z.array(z.object({ identityKey: z.string(), displayName: z.string(), effectiveAt: z.string(), dueAt: z.string(), steps: z.number(), settled: z.number(), overdue: z.boolean() })),
        plansAwaiting: z.array(z.object({ id: z.string(), computedAt: z.string(), changes: z.number() })),
        quarantined: z.array(z.object({ system: z.string(), reason: z.string() })),
        findings: z.array(z.object({ id: z.string(), kind: z.string(), system: z.string().nullable(), identityKey: z.string().nullable(), detail: z.string() })),
        eventsByDay: z.array(z.object({ day: z.string(), joiner: z.number(), mover: z.number(), leaver: z.number(), rehire: z.number() })),
        openTasks: z.number(),
        /** The banner: a plan awaiting approval, or events detected since the last plan was computed; null when nothing waits. */
        planWaiting: z.union([
          z.object({ kind: z.literal('approve'), planId: z.string(), changes: z.number(), since: z.string() }),
          z.object({ kind: z.literal('compute'), events: z.number(), since: z.string() }),
        ]).nullable(),
        /** The latest monthly end-user check and its completion per department and manager; null before the first. */
        monthlyCheck: z.object({ id: z.string(), period: z.string(), dueAt: z.string(), items: z.number(), answered: z.number(), byDepartment: z.array(completionGroup), byManager: z.array(completionGroup) }).nullable(),
        /** Equipment returns waiting on IT (open collection tasks), and those past due. */
        assetReturns: z.object({ open: z.number(), overdue: z.number() }),
      }),
      async handler() {
        const now = deps.now();
        const timeZone = deps.timezone ?? 'UTC';
        const [counts, todays, leaverRows, byDay, openTasks, plans, quarantined, findings, waiting, check, returns] = await Promise.all([
          db.selectFrom('identities').select(['status', sql<number>`count(*)::int`.as('n')]).groupBy('status').execute(),
          todaysEvents(db, now, timeZone),
          leaversInProgress(db, now),
          eventsByDay(db, now, timeZone),
          db.selectFrom('tasks').select(sql<number>`count(*)::int`.as('n')).where('status', '=', 'open').executeTakeFirstOrThrow(),
          deps.services.plans ? deps.services.plans.list('awaiting_approval', 10) : Promise.resolve([]),
          deps.services.observed ? deps.services.observed.quarantinedSystems() : Promise.resolve([]),
          deps.services.observed ? deps.services.observed.openFindings(20) : Promise.resolve([]),
          planWaiting(db),
          latestCheckSummary(db),
          assetReturnsOpen(db, now),
        ]);
        return {
          counts: Object.fromEntries(counts.map((c) => [c.status, c.n])),
          today: [...todays],
          leavers: leaverRows,
          plansAwaiting: plans.map((p) => ({ id: p.id, computedAt: p.computedAt, changes: p.plan.changes.length })),
          quarantined: quarantined.map((q) => ({ ...q })),
          findings: findings.map((f) => ({ ...f })),
          eventsByDay: [...byDay],
          openTasks: openTasks.n,
          planWaiting: waiting ? { ...waiting } : null,
          monthlyCheck: check ? { ...check, byDepartment: check.byDepartment.map((g) => ({ ...g })), byManager: check.byManager.map((g) => ({ ...g })) } : null,
          assetReturns: returns,
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/users',
      summary: 'Console users.',
      tag: 'admin',
      access: ['admin'],
      response: z.object({ items: z.array(userView) }),
      handler: async () => ({ items: (await db.selectFrom('console_users').selectAll().orderBy('username').limit(1000).execute()).map((r) => ({ ...toConsoleUser(r), roles: [...toConsoleUser(r).roles] })) }),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/users',
      summary: 'Creates a local console user, optionally linked to an identity. Needs a recent admin sign-in, not an API token.',
      tag: 'admin',
      access: ['admin'],
      recentSignIn: true,
      stepUp: true,
      status: 201,
      body: z.object({ username: z.string().min(2).max(100), displayName: boundedString('name').optional(), password: newPassword(), identityKey: boundedString('key').nullable().optional(), roles: boundedArray(z.enum(GRANTED_ROLES), GRANTED_ROLES.length).default([]) }).strict(),
      response: userView,
      async handler({ body, actor }) {
        const user = await createUser(db, body, actor);
        return { ...user, roles: [...user.roles] };
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/api/users/:id',
      summary: 'Changes a user’s roles, status or linked identity (null unlinks); disabling ends their sessions and tokens at once. Needs a recent admin sign-in, not an API token.',
      tag: 'admin',
      access: ['admin'],
      recentSignIn: true,
      stepUp: true,
      params: z.object({ id: boundedString('key') }),
      body: z
        .object({ roles: boundedArray(z.enum(GRANTED_ROLES), GRANTED_ROLES.length).optional(), status: z.enum(['active', 'disabled']).optional(), identityKey: boundedString('key').min(1).nullable().optional() })
        .strict()
        .refine((b) => b.roles !== undefined || b.status !== undefined || b.identityKey !== undefined, 'give roles, status or identityKey to change'),
      response: userView,
      async handler({ params, body, actor, principal, request }) {
        if (params.id === principal.userId && (body.status === 'disabled' || (body.roles && !body.roles.includes('admin')))) throw new JmlError('conflict', 'an admin cannot disable or demote themselves');
        // The linked identity decides manager and owner roles: nobody changes their own (another admin can).
        if (params.id === principal.userId && body.identityKey !== undefined) throw new JmlError('conflict', 'an admin cannot change the identity their own user is linked to');
        const before = await db.selectFrom('console_users').selectAll().where('id', '=', params.id).executeTakeFirst();
        if (!before) throw new JmlError('not_found', `no user ${params.id}`);
        if (body.identityKey != null && !(await db.selectFrom('identities').select('key').where('key', '=', body.identityKey).executeTakeFirst())) {
          throw new JmlError('invalid_input', `identityKey: there is no identity ${body.identityKey}`, { details: { field: 'identityKey' } });
        }
        const row = await db.updateTable('console_users').set({ ...(body.roles ? { roles: body.roles } : {}), ...(body.status ? { status: body.status } : {}), ...(body.identityKey !== undefined ? { identity_key: body.identityKey } : {}) }).where('id', '=', params.id).returningAll().executeTakeFirstOrThrow();
        deps.principalCache?.forgetWhere({ userId: params.id });
        if (body.status === 'disabled') await credentials.revokeAll(params.id);
        await appendAudit(db, { actor, action: 'user.changed', subject: `user:${params.id}`, trigger: `api:${request.id}`, before: { roles: before.roles, status: before.status, identityKey: before.identity_key }, after: body }, deps.now());
        const user = toConsoleUser(row);
        return { ...user, roles: [...user.roles] };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/audit',
      summary: 'The audit trail, newest first; filter by subject (an identity key, `user:…`, `system:…`), actor, action, kind (the action’s first part: `user`, `finding`…) or text anywhere in the entry.',
      tag: 'admin',
      access: ['admin', 'security'],
      query: pageQuery.extend({ cursor: sequenceCursor, subject: boundedString('key').optional(), actor: boundedString('key').optional(), action: boundedString('key').optional(), kind: boundedString('key').optional(), q: boundedString('name').trim().optional() }),
      response: page(z.object({ seq: z.number(), at: z.string(), actor: z.string(), action: z.string(), subject: z.string(), trigger: z.string(), details: z.unknown() })),
      async handler({ query }) {
        let q = db.selectFrom('audit_log').select(['seq', 'at', 'actor', 'action', 'subject', 'trigger', 'details']);
        if (query.subject) q = q.where('subject', '=', query.subject);
        if (query.actor) q = q.where('actor', '=', query.actor);
        if (query.action) q = q.where('action', '=', query.action);
        if (query.kind) q = q.where('action', 'like', `${escapeLike(query.kind)}.%`);
        if (query.q) {
          const like = containing(query.q);
          q = q.where((eb) => eb.or([eb('subject', 'ilike', like), eb('actor', 'ilike', like), eb('action', 'ilike', like), eb(sql`details::text`, 'ilike', like)]));
        }
        if (query.cursor) q = q.where('seq', '<', Number(query.cursor));
        const rows = await q.orderBy('seq', 'desc').limit(query.limit + 1).execute();
        const items = rows.slice(0, query.limit);
        return { items, nextCursor: rows.length > query.limit ? String(items[items.length - 1]!.seq) : null };
      },
    }),
  ];
}
