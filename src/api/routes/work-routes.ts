/**
 * The work people do in the console: HR imports (dry-run diff, mass-change
 * hold), plans (preview, approve, apply), the approvals inbox, access
 * requests and manual tasks closed with evidence.
 */
import { z } from 'zod';
import { countReviewInbox } from '../../app/reviews/review-queries.ts';
import { isJmlError, JmlError } from '../../domain/errors.ts';
import { createTaskStore } from '../../connectors/manual/task-store.ts';
import type { ApiDeps, ApprovalItem } from '../api-deps.ts';
import type { Principal } from '../auth/principal.ts';
import { managesIdentity } from '../identity-scope.ts';
import { defineRoute, instantCursor, page, pageQuery, requireStepUp, type RouteDefinition } from '../route-definition.ts';
import { boundedArray, boundedString, UPLOAD_BODY_LIMIT } from '../request-limits.ts';

const importOutcome = z.object({
  id: z.string().nullable(),
  source: z.string(),
  status: z.string(),
  dryRun: z.boolean(),
  held: z.boolean(),
  wouldBeHeld: z.boolean(),
  rows: z.object({ total: z.number(), valid: z.number(), invalid: z.number() }),
  events: z.array(z.object({ type: z.string(), identityKey: z.string(), effectiveDate: z.string(), changes: z.record(z.string(), z.unknown()) })),
  errors: z.array(z.object({ row: z.number(), message: z.string() })),
  message: z.string(),
});

const change = z.object({ id: z.string(), kind: z.string(), identityKey: z.string(), system: z.string().nullable(), entitlement: z.string().optional(), reason: z.string(), dependsOn: z.array(z.string()) });
const planView = z.object({
  id: z.string(),
  status: z.string(),
  computedAt: z.string(),
  fingerprint: z.string(),
  approvedBy: z.string().nullable(),
  /** The identities the plan was computed for; empty for everyone. */
  identityKeys: z.array(z.string()),
  changes: z.array(change.extend({ state: z.string() })),
  /** Joiners whose account and grant changes the plan holds back until their joiner approval is approved. */
  held: z.array(z.object({ identityKey: z.string(), requestId: z.string(), state: z.enum(['pending', 'denied']), heldChanges: z.number() })),
});

const planProgress = z.object({
  planId: z.string(),
  status: z.string(),
  total: z.number(),
  settled: z.number(),
  /** Changes a worker is on or will take up by itself; 0: the apply has gone as far as it can for now. */
  active: z.number(),
  counts: z.record(z.string(), z.number()),
  quarantined: z.array(z.object({ system: z.string(), lastError: z.string().nullable(), waiting: z.number() })),
});

const approvalItem = z.object({ id: z.string(), kind: z.enum(['access_request', 'plan']), identityKey: z.string(), summary: z.string(), requestedBy: z.string(), requestedAt: z.string(), system: z.string().nullable(), stage: z.string().nullable(), approvers: z.array(z.string()) });
const itemOut = (i: ApprovalItem) => ({ ...i, approvers: [...i.approvers] });

const task = z.object({ id: z.string(), system: z.string(), kind: z.string(), identityKey: z.string(), instruction: z.string(), owner: z.string().nullable(), status: z.string(), dueAt: z.string(), needsConfirmation: z.boolean(), evidenceNote: z.string().nullable(), doneBy: z.string().nullable(), deliversPassword: z.boolean() });

/** For `.catch`: "not found" becomes null; anything else (the database down) stays an error, not a 404. */
export function nullWhenNotFound(error: unknown): null {
  if (isJmlError(error, 'not_found')) return null;
  throw error;
}

function unavailable(feature: string): never {
  throw new JmlError('not_found', `${feature} is not available in this build`);
}

/**
 * Whether the principal may act on this approval at all: a plan, admin and
 * security; a request, the identities its stages name (the app then checks
 * the open stage), and the requester and beneficiary themselves, so that the
 * app's own refusal (nobody decides their own request) answers them.
 */
function mayDecide(principal: Principal, item: ApprovalItem): boolean {
  if (item.kind === 'plan') return principal.roles.has('admin') || principal.roles.has('security');
  const self = principal.identityKey;
  if (self === null) return false;
  return item.approvers.includes(self) || item.requestedBy === self || item.identityKey === self;
}

/** Admin and security see every task; a system owner those of their systems; anyone those assigned to them. */
function taskVisibleTo(principal: Principal, task: { readonly system: string; readonly owner: string | null }): boolean {
  return principal.roles.has('admin') || principal.roles.has('security') || principal.ownedSystems.includes(task.system) || (task.owner !== null && task.owner === principal.identityKey);
}

export function workRoutes(deps: ApiDeps): RouteDefinition[] {
  const { services } = deps;
  const tasks = createTaskStore({ db: deps.db, now: deps.now });
  const toPlan = (p: Awaited<ReturnType<NonNullable<typeof services.plans>['get']>>) => ({
    id: p.id,
    status: p.status,
    computedAt: p.computedAt,
    fingerprint: p.fingerprint,
    approvedBy: p.approvedBy,
    identityKeys: [...(p.identityKeys ?? [])],
    held: (p.plan.held ?? []).map((h) => ({ identityKey: h.identityKey, requestId: h.requestId, state: h.state, heldChanges: h.heldChanges })),
    changes: p.plan.changes.map((c) => ({ id: c.id, kind: c.kind, identityKey: c.identityKey, system: c.system, ...(c.entitlement ? { entitlement: c.entitlement } : {}), reason: c.reason, dependsOn: [...c.dependsOn], state: p.changeStates[c.id] ?? 'planned' })),
  });
  /** The open stages this identity is an approver of; never its own request (the route already leaves them out). */
  const approvalsFor = async (principal: Principal): Promise<ApprovalItem[]> => {
    const self = principal.identityKey;
    if (!services.approvals || self === null) return [];
    return (await services.approvals.pending(self)).filter((i) => i.approvers.includes(self) && i.requestedBy !== self && i.identityKey !== self);
  };
  return [
    defineRoute({
      method: 'GET',
      url: '/api/imports',
      summary: 'Recent source imports with counts and status.',
      tag: 'imports',
      access: ['admin', 'hr', 'security'],
      query: pageQuery.extend({ cursor: instantCursor }),
      response: page(z.object({ id: z.string(), source: z.string(), fileName: z.string(), status: z.string(), asOf: z.string(), rowsTotal: z.number(), rowsInvalid: z.number(), actor: z.string(), startedAt: z.string() })),
      async handler({ query }) {
        let q = deps.db.selectFrom('imports').selectAll().orderBy('started_at', 'desc').orderBy('id', 'desc');
        if (query.cursor) q = q.where('started_at', '<', new Date(query.cursor));
        const rows = await q.limit(query.limit + 1).execute();
        const items = rows.slice(0, query.limit).map((r) => ({ id: r.id, source: r.source, fileName: r.file_name, status: r.status, asOf: r.as_of, rowsTotal: r.rows_total, rowsInvalid: r.rows_invalid, actor: r.actor, startedAt: r.started_at.toISOString() }));
        return { items, nextCursor: rows.length > query.limit ? items[items.length - 1]!.startedAt : null };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/imports',
      summary: 'Imports a source file. With dryRun the diff is returned and nothing is stored; a mass change is held until released.',
      tag: 'imports',
      access: ['admin', 'hr'],
      body: z.object({ source: boundedString('key').regex(/^[a-z][a-z0-9_-]*$/), fileName: boundedString('name').min(1), content: z.string().max(UPLOAD_BODY_LIMIT - 64 * 1024), dryRun: z.boolean().default(true) }).strict(),
      bodyLimit: UPLOAD_BODY_LIMIT,
      response: importOutcome,
      async handler({ body, actor }) {
        const port = services.imports ?? unavailable('import');
        const outcome = await port.importSource({ ...body, actor });
        return { ...outcome, events: outcome.events.map((e) => ({ ...e })), errors: [...outcome.errors] };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/imports/:id/release',
      summary: 'Releases an import held by the mass-change guard (a person’s decision, audited).',
      tag: 'imports',
      access: ['admin', 'security'],
      stepUp: true,
      params: z.object({ id: boundedString('key') }),
      response: importOutcome,
      async handler({ params, actor }) {
        const outcome = await (services.imports ?? unavailable('import')).release(params.id, actor);
        return { ...outcome, events: outcome.events.map((e) => ({ ...e })), errors: [...outcome.errors] };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/plans',
      summary: 'Plans, newest first; filter by status (awaiting_approval, approved, applying, applied, partial).',
      tag: 'plans',
      access: ['admin', 'security'],
      query: z.object({ status: boundedString('key').optional(), limit: z.coerce.number().int().min(1).max(100).default(20) }),
      response: z.object({ items: z.array(planView) }),
      handler: async ({ query }) => ({ items: (await (services.plans ?? unavailable('planning')).list(query.status, query.limit)).map(toPlan) }),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/plans',
      summary: 'Computes a plan (for the given identities, or everyone) and keeps it awaiting approval.',
      tag: 'plans',
      access: ['admin'],
      status: 201,
      body: z.object({ identityKeys: boundedArray(boundedString('key'), 1000).default([]) }).strict(),
      response: planView,
      handler: async ({ body, actor }) => toPlan(await (services.plans ?? unavailable('planning')).preview(body.identityKeys, actor)),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/plans/:id',
      summary: 'One plan with every change, its reason and state.',
      tag: 'plans',
      access: ['admin', 'security'],
      params: z.object({ id: boundedString('key') }),
      response: planView,
      handler: async ({ params }) => toPlan(await (services.plans ?? unavailable('planning')).get(params.id)),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/plans/:id/approve',
      summary: 'Approves a plan for apply. With four-eyes on (the default with a PostgreSQL server), the person who computed it may not (403, audited). Asks for a recent second factor (step-up), as applying does.',
      tag: 'plans',
      access: ['admin', 'security'],
      stepUp: true,
      params: z.object({ id: boundedString('key') }),
      response: planView,
      async handler({ params, actor, deny }) {
        try {
          return toPlan(await (services.plans ?? unavailable('planning')).approve(params.id, actor));
        } catch (error) {
          if (isJmlError(error, 'forbidden')) return deny('forbidden', `plan:${params.id}`, error.message);
          throw error;
        }
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/plans/:id/apply',
      summary: 'Queues an approved plan on the durable executor and answers at once (202, status applying); refused when stale (its inputs changed since it was computed). Follow it with /api/plans/:id/progress.',
      tag: 'plans',
      access: ['admin'],
      stepUp: true,
      status: 202,
      params: z.object({ id: boundedString('key') }),
      response: planView,
      handler: async ({ params, actor }) => toPlan(await (services.plans ?? unavailable('planning')).apply(params.id, actor)),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/plans/:id/progress',
      summary: 'Where an applied plan stands: changes settled, in progress, waiting on tasks or on a quarantined system.',
      tag: 'plans',
      access: ['admin', 'security'],
      params: z.object({ id: boundedString('key') }),
      response: planProgress,
      async handler({ params }) {
        const p = await (services.plans ?? unavailable('planning')).progress(params.id);
        return { planId: p.planId, status: p.status, total: p.total, settled: p.settled, active: p.active, counts: { ...p.counts }, quarantined: p.quarantined.map((q) => ({ ...q })) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/approvals',
      summary: 'The caller’s approvals inbox: what they may decide now.',
      tag: 'approvals',
      access: 'signed_in',
      response: z.object({ items: z.array(approvalItem) }),
      handler: async ({ principal }) => ({ items: (await approvalsFor(principal)).map(itemOut) }),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/inbox',
      summary: 'How much waits on the caller: approvals they may decide now, open access review items and open tasks they can close (the console menu’s counts).',
      tag: 'approvals',
      access: 'signed_in',
      response: z.object({ approvals: z.number(), reviews: z.number(), tasks: z.number() }),
      async handler({ principal }) {
        const [approvals, open, reviews] = await Promise.all([approvalsFor(principal), tasks.listTasks({ status: 'open' }), principal.identityKey === null ? 0 : countReviewInbox(deps.db, principal.identityKey)]);
        return { approvals: approvals.length, reviews, tasks: open.filter((t) => taskVisibleTo(principal, t)).length };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/approvals/:id/decision',
      summary: 'Approves or rejects the open stage. Not one of its approvers: 404, audited. Nobody decides their own request or one for themselves (403, audited).',
      tag: 'approvals',
      access: 'signed_in',
      params: z.object({ id: boundedString('key') }),
      body: z.object({ decision: z.enum(['approve', 'reject']), comment: boundedString('text').optional() }).strict(),
      response: z.object({ ok: z.literal(true) }),
      async handler({ params, body, principal, deny, request }) {
        const port = services.approvals ?? unavailable('approval');
        const item = await port.get(params.id).catch(nullWhenNotFound);
        if (!item || !mayDecide(principal, item)) return deny('not_found', `approval:${params.id}`, item ? 'not an approver of this request' : 'no such approval');
        // Granting access is the sensitive direction; a rejection takes nothing from anyone.
        if (body.decision === 'approve') await requireStepUp(deps, principal, `approval:${params.id}`, `api:${request.id}`);
        try {
          await port.decide(params.id, body.decision, principal.identityKey!, body.comment);
        } catch (error) {
          // The app refuses self-approval and the wrong stage; the refusal is audited like any other.
          if (error instanceof JmlError && error.code === 'forbidden') return deny('forbidden', `approval:${params.id}`, error.message);
          throw error;
        }
        return { ok: true as const };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/access-requests',
      summary: 'Requests access for oneself, or (managers) for someone in their team.',
      tag: 'approvals',
      access: 'signed_in',
      status: 201,
      body: z.object({ identityKey: boundedString('key').optional(), system: boundedString('key').min(1), entitlement: boundedString('key').min(1), justification: boundedString('text').min(3) }).strict(),
      response: approvalItem,
      async handler({ body, principal, deny }) {
        // A request is made by a person: the app checks they ask for themselves or a direct report.
        const self = principal.identityKey;
        if (self === null) return deny('forbidden', body.identityKey ?? 'access-request', 'a request is made by a console user linked to an identity');
        const target = body.identityKey ?? self;
        if (target !== self && !(await managesIdentity(deps.db, principal, target))) return deny('not_found', target, 'may only request access for themselves or their team');
        return itemOut(await (services.approvals ?? unavailable('access request')).requestAccess({ identityKey: target, system: body.system, entitlement: body.entitlement, justification: body.justification, requester: self }));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/sod-mitigations',
      summary: 'Files access that would break an SoD rule as a mitigation: a time-bound exception with a compensating control the rule allows and its owner, decided last by the rule owner.',
      tag: 'approvals',
      access: 'signed_in',
      status: 201,
      body: z.object({
        identityKey: boundedString('key').optional(), system: boundedString('key').min(1), entitlement: boundedString('key').min(1), justification: boundedString('text').min(3),
        durationDays: z.number().int().min(1).max(3650), control: boundedString('key').min(1), controlOwner: boundedString('key').min(1),
      }).strict(),
      response: approvalItem,
      async handler({ body, principal, deny }) {
        // Who may file it is who may request the access: themselves, or a manager for a direct report.
        const self = principal.identityKey;
        if (self === null) return deny('forbidden', body.identityKey ?? 'sod-mitigation', 'a mitigation is filed by a console user linked to an identity');
        const target = body.identityKey ?? self;
        if (target !== self && !(await managesIdentity(deps.db, principal, target))) return deny('not_found', target, 'may only file mitigations for themselves or their team');
        return itemOut(await (services.approvals ?? unavailable('access request')).requestAccess({
          identityKey: target, system: body.system, entitlement: body.entitlement, justification: body.justification, requester: self,
          durationDays: body.durationDays, mitigation: { control: body.control, controlOwner: body.controlOwner },
        }));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/tasks',
      summary: 'Manual tasks: admin and security see all; system owners their systems; others those assigned to them.',
      tag: 'tasks',
      access: 'signed_in',
      query: z.object({ status: z.enum(['open', 'done', 'confirmed']).optional(), system: boundedString('key').optional() }),
      response: z.object({ items: z.array(task) }),
      async handler({ query, principal }) {
        const all = await tasks.listTasks({ ...(query.status ? { status: query.status } : {}), ...(query.system ? { system: query.system } : {}) });
        const visible = all.filter((t) => taskVisibleTo(principal, t));
        return { items: visible.slice(0, 500).map((t) => ({ id: t.id, system: t.system, kind: t.kind, identityKey: t.identityKey, instruction: t.instruction, owner: t.owner, status: t.status, dueAt: t.dueAt, needsConfirmation: t.needsConfirmation, evidenceNote: t.evidence?.note ?? null, doneBy: t.evidence?.doneBy ?? null, deliversPassword: t.kind === 'manual_task' && t.change.credentialId !== undefined })) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/tasks/:id/complete',
      summary: 'Closes a task with evidence (a note and/or a file’s SHA-256); or confirms it as the second person.',
      tag: 'tasks',
      access: 'signed_in',
      params: z.object({ id: boundedString('key') }),
      body: z.object({ action: z.enum(['close', 'confirm']).default('close'), note: boundedString('text').trim().min(1).optional(), fileSha256: z.string().length(64).regex(/^[0-9a-fA-F]{64}$/).optional() }).strict(),
      response: z.object({ id: z.string(), status: z.string() }),
      async handler({ params, body, principal, deny, actor }) {
        const found = await tasks.getTask(params.id).catch(nullWhenNotFound);
        const allowed = found && (principal.roles.has('admin') || principal.ownedSystems.includes(found.system) || (found.owner !== null && found.owner === principal.identityKey));
        if (!found || !allowed) return deny('not_found', `task:${params.id}`, found ? 'not the caller’s task or system' : 'no such task');
        if (body.action === 'confirm') return { id: params.id, status: (await tasks.confirmTask(params.id, actor)).status };
        if (!body.note && !body.fileSha256) throw new JmlError('invalid_input', 'evidence needs a note or a file hash');
        const closed = await tasks.closeTask(params.id, { doneBy: actor, doneAt: deps.now().toISOString(), ...(body.note ? { note: body.note } : {}), ...(body.fileSha256 ? { fileSha256: body.fileSha256.toLowerCase() } : {}) }, actor);
        return { id: closed.id, status: closed.status };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/tasks/:id/initial-password',
      summary: 'Shows the initial password a delivery task is about, once, to the person the task names; it is destroyed as it is shown.',
      tag: 'tasks',
      access: 'signed_in',
      params: z.object({ id: boundedString('key') }),
      response: z.object({ password: z.string() }),
      async handler({ params, principal, actor, deny }) {
        const port = services.initialPasswords ?? unavailable('initial passwords');
        try {
          return { password: (await port.revealForTask(params.id, { actor, identityKey: principal.identityKey })).reveal() };
        } catch (error) {
          // Refusals go through deny, so each leaves an audit entry; other errors (already shown: conflict) pass as they are.
          if (isJmlError(error, 'forbidden')) return deny('forbidden', `task:${params.id}`, error.message);
          if (isJmlError(error, 'not_found')) return deny('not_found', `task:${params.id}`, error.message);
          throw error;
        }
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/me',
      summary: 'Self-service: my identity, my access, my equipment, my requests and what I may request.',
      tag: 'self-service',
      access: 'signed_in',
      response: z.object({
        identityKey: z.string().nullable(),
        access: z.object({ desired: z.array(z.object({ system: z.string(), entitlement: z.string(), reasons: z.array(z.string()) })), accounts: z.array(z.object({ system: z.string(), name: z.string(), enabled: z.boolean(), grants: z.array(z.string()) })) }),
        assets: z.array(z.object({ tag: z.string(), kind: z.string(), description: z.string(), status: z.string() })),
        requests: z.array(approvalItem.extend({ state: z.string() })),
        requestable: z.array(z.object({ system: z.string(), entitlement: z.string(), privileged: z.boolean() })),
      }),
      async handler({ principal }) {
        const key = principal.identityKey;
        const observed = services.observed;
        const [access, assets, requests, requestable] = await Promise.all([
          key && observed ? observed.accessOf(key) : null,
          key && observed ? observed.assetsOf(key) : [],
          key && services.approvals ? services.approvals.requestsOf(key) : [],
          observed ? observed.requestable() : [],
        ]);
        return {
          identityKey: key,
          access: { desired: access?.desired.map((d) => ({ ...d, reasons: [...d.reasons] })) ?? [], accounts: access?.accounts.map((a) => ({ system: a.system, name: a.name, enabled: a.enabled, grants: [...a.grants] })) ?? [] },
          assets: assets.map((a) => ({ ...a })),
          requests: requests.map((r) => ({ ...r, approvers: [...r.approvers] })),
          requestable: requestable.map((r) => ({ ...r })),
        };
      },
    }),
  ];
}


