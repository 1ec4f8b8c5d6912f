/**
 * /Users of the caller's source: list and search (filter, sort, paging,
 * projection), read, create, replace, PATCH and delete. Every write is a push
 * (src/app/inbound/scim-push.ts): the same mapping, diff, guard and events as
 * a file import. The token decides the source; no route names one.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { matchesScimFilter, parseAttributePath, parseScimFilter } from '../../app/inbound/scim-filter.ts';
import { findScimUsers } from '../../app/inbound/scim-user-query.ts';
import { applyScimPatch } from '../../app/inbound/scim-patch.ts';
import { readScimUser, type StoredUser } from '../../app/inbound/scim-resource-store.ts';
import type { PushedUser, PushInput, PushResult } from '../../app/inbound/scim-push.ts';
import { isJmlError, JmlError } from '../../domain/errors.ts';
import type { ScimObject } from '../../sources/scim-user-table.ts';
import type { ApiDeps } from '../api-deps.ts';
import type { ScimCaller } from '../../app/inbound/scim-tokens.ts';
import { boundedArray, boundedString } from '../request-limits.ts';
import { SCIM_LIMITS } from './scim-discovery.ts';
import { etagOf, projectResource, SCIM_MESSAGES, sortResources, toScimUser } from './scim-representation.ts';
import { defineScimRoute, dryRunOf, scimBase, type ScimRouteDefinition } from './scim-route-definition.ts';

/** `?dryRun=true` on a write: answer with the diff and write nothing (as the `Jml-Dry-Run: true` header). */
const writeQuery = z.object({ dryRun: boundedString('key').optional() });

const listQuery = z.object({
  filter: boundedString('text').optional(),
  sortBy: boundedString('name').optional(),
  sortOrder: boundedString('key').optional(),
  startIndex: z.coerce.number().int().optional(),
  count: z.coerce.number().int().optional(),
  attributes: boundedString('text').optional(),
  excludedAttributes: boundedString('text').optional(),
  dryRun: boundedString('key').optional(),
});

const idParams = z.object({ id: boundedString('key').min(1) });

const resourceBody = z.record(boundedString('name'), z.unknown());

const patchOperation = z.object({ op: boundedString('key'), path: boundedString('text').optional(), value: z.unknown().optional() }).passthrough();

/** RFC 7644's `Operations`; some clients send `operations`. */
const patchBody = z
  .object({
    schemas: boundedArray(boundedString('name')).optional(),
    Operations: boundedArray(patchOperation).optional(),
    operations: boundedArray(patchOperation).optional(),
  })
  .passthrough()
  .refine((b) => b.Operations !== undefined || b.operations !== undefined, { message: 'a PATCH carries Operations', path: ['Operations'] });

const searchBody = listQuery
  .extend({
    attributes: z.union([boundedString('text'), boundedArray(boundedString('name'))]).optional(),
    excludedAttributes: z.union([boundedString('text'), boundedArray(boundedString('name'))]).optional(),
  })
  .passthrough();

export function userLocation(request: FastifyRequest, id: string): string {
  return `${scimBase(request)}/Users/${encodeURIComponent(id)}`;
}

/** What a dry run answers: the joiner/mover/leaver diff, and per operation whether it would be accepted. */
export function dryRunBody(result: PushResult) {
  return {
    schemas: [SCIM_MESSAGES.dryRun],
    status: result.status === 'held' ? 'would_be_held' : 'dry_run',
    ...(result.heldReason ? { heldReason: result.heldReason } : {}),
    counts: result.counts,
    events: result.events.map((e) => ({ type: e.type, id: e.key, identity: e.identity, effective: e.effective, changes: e.changes })),
    operations: result.operations.map((o) => (o.ok ? { status: 'ok', id: o.id } : { status: 'error', detail: o.error.message })),
  };
}

/** One user write's answer: its error, a hold, a dry run's diff, or the stored resource with ETag (and Location). */
function answer(request: FastifyRequest, reply: FastifyReply, result: PushResult, status: number): unknown {
  const op = result.operations[0]!;
  if (!op.ok) throw op.error;
  if (result.status === 'dry_run' || (result.status === 'held' && dryRunOf(request))) {
    reply.status(200);
    return dryRunBody(result);
  }
  if (result.status === 'held') throw new JmlError('held', result.heldReason ?? 'held by the mass-change guard', { details: { importId: result.importId } });
  if (!op.user) throw new JmlError('internal', 'an applied push returned no resource');
  const location = userLocation(request, op.id);
  reply.status(status).header('etag', etagOf(op.user.version));
  if (status === 201) reply.header('location', location);
  return toScimUser(op.user, location);
}

/** The users of a list or search, filtered, sorted, paged and projected. */
async function listUsers(deps: ApiDeps, request: FastifyRequest, source: string, q: z.output<typeof listQuery>) {
  const filter = q.filter ? parseScimFilter(q.filter) : null;
  const order = (q.sortOrder ?? 'ascending').toLowerCase();
  if (order !== 'ascending' && order !== 'descending') throw new JmlError('invalid_input', `sortOrder must be ascending or descending, not "${q.sortOrder}"`, { details: { scimType: 'invalidValue' } });
  const startIndex = Math.max(1, q.startIndex ?? 1);
  const count = Math.min(Math.max(0, q.count ?? SCIM_LIMITS.maxResults), SCIM_LIMITS.maxResults);
  const found = await findScimUsers(deps.db, source, { filter, sortBy: q.sortBy ? parseAttributePath(q.sortBy) : null, descending: order === 'descending', startIndex, count });
  const represent = (u: StoredUser) => toScimUser(u, userLocation(request, u.id));
  let total: number;
  let page: ScimObject[];
  if (found.kind === 'page') {
    total = found.total;
    page = found.users.map(represent);
  } else {
    // What SQL could not decide (see scim-filter-sql.ts) is finished here, over the rows it admitted.
    let resources = found.users.map(represent);
    if (filter) resources = resources.filter((r) => matchesScimFilter(r, filter));
    if (q.sortBy) resources = sortResources(resources, q.sortBy, order);
    total = resources.length;
    page = resources.slice(startIndex - 1, startIndex - 1 + count);
  }
  const projected = page.map((r) => projectResource(r, q.attributes, q.excludedAttributes));
  return { schemas: [SCIM_MESSAGES.list], totalResults: total, startIndex, itemsPerPage: projected.length, Resources: projected };
}

/** The stored user the path names, or 404. */
async function storedUser(deps: ApiDeps, source: string, id: string): Promise<StoredUser> {
  const user = await readScimUser(deps.db, source, id);
  if (!user) throw new JmlError('not_found', `no User ${id}`);
  return user;
}

function ifMatchOf(request: FastifyRequest): string | null {
  const header = request.headers['if-match'];
  return typeof header === 'string' && header.trim() !== '' ? header : null;
}

type Ctx = { readonly request: FastifyRequest; readonly caller: ScimCaller; readonly deps: ApiDeps; readonly inbound: { push(input: PushInput): Promise<PushResult> } };

/** One push of this request, as the token's source and actor; an applied one has audited the request. */
async function push(ctx: Ctx, users: PushedUser[], deletes: { id: string; ifMatch: string | null }[], label: string): Promise<PushResult> {
  const { request, caller } = ctx;
  const result = await ctx.inbound.push({ source: caller.source, users, deletes, label, dryRun: dryRunOf(request), actor: caller.actor, trigger: `api:${request.id}`, now: ctx.deps.now() });
  if (result.recorded && result.status === 'applied') request.scimAudited = true;
  return result;
}

/** The /Users routes. */
export const scimUserRoutes: readonly ScimRouteDefinition[] = [
  defineScimRoute({
    method: 'GET',
    url: '/Users',
    summary: 'List or filter the source\'s Users (filter, sortBy, sortOrder, startIndex, count, attributes)',
    scope: 'scim:read',
    status: 200,
    query: listQuery,
    handler: async ({ deps, request, caller, query }) => listUsers(deps, request, caller.source, query),
  }),
  defineScimRoute({
    method: 'POST',
    url: '/Users/.search',
    summary: 'Search the source\'s Users with a SearchRequest body (a read, however POSTed)',
    scope: 'scim:read',
    status: 200,
    body: searchBody,
    handler: async ({ deps, request, caller, body }) => {
      const join = (v: string | readonly string[] | undefined) => (Array.isArray(v) ? v.join(',') : (v as string | undefined));
      return listUsers(deps, request, caller.source, { ...body, attributes: join(body.attributes), excludedAttributes: join(body.excludedAttributes) });
    },
  }),
  defineScimRoute({
    method: 'GET',
    url: '/Users/:id',
    summary: 'One User (ETag; If-None-Match answers 304)',
    scope: 'scim:read',
    status: 200,
    params: idParams,
    query: listQuery.pick({ attributes: true, excludedAttributes: true }),
    handler: async ({ deps, request, reply, caller, params, query }) => {
      const user = await storedUser(deps, caller.source, params.id);
      reply.header('etag', etagOf(user.version));
      if (request.headers['if-none-match'] === etagOf(user.version)) return reply.status(304).send();
      return projectResource(toScimUser(user, userLocation(request, params.id)), query.attributes, query.excludedAttributes);
    },
  }),
  defineScimRoute({
    method: 'POST',
    url: '/Users',
    summary: 'Create a User: a joiner (409 uniqueness when its key or userName is taken)',
    scope: 'scim:write',
    status: 201,
    query: writeQuery,
    body: resourceBody,
    handler: async (ctx) => answer(ctx.request, ctx.reply, await push(ctx, [{ id: null, resource: ctx.body, onExisting: 'conflict', ifMatch: null }], [], 'scim POST /Users'), 201),
  }),
  defineScimRoute({
    method: 'PUT',
    url: '/Users/:id',
    summary: 'Replace a User (If-Match): a mover, leaver or rehire as the change says',
    scope: 'scim:write',
    status: 200,
    params: idParams,
    query: writeQuery,
    body: resourceBody,
    handler: async (ctx) => answer(ctx.request, ctx.reply, await push(ctx, [{ id: ctx.params.id, resource: ctx.body, onExisting: 'update', ifMatch: ifMatchOf(ctx.request) }], [], 'scim PUT /Users'), 200),
  }),
  defineScimRoute({
    method: 'PATCH',
    url: '/Users/:id',
    summary: 'Change a User with a PatchOp (add, replace, remove; paths and value paths)',
    scope: 'scim:write',
    status: 200,
    params: idParams,
    query: writeQuery,
    body: patchBody,
    handler: async (ctx) => {
      const { params, body } = ctx;
      const operations = body.Operations ?? body.operations ?? [];
      const given = ifMatchOf(ctx.request);
      // Without If-Match the read-modify-write is retried when another write slips in between; with it, that is the client's 412.
      for (let attempt = 0; ; attempt += 1) {
        const user = await storedUser(ctx.deps, ctx.caller.source, params.id);
        const patched: ScimObject = applyScimPatch(user.resource, operations);
        const result = await push(ctx, [{ id: params.id, resource: patched, onExisting: 'update', ifMatch: given ?? etagOf(user.version) }], [], 'scim PATCH /Users');
        const op = result.operations[0]!;
        if (!op.ok && isJmlError(op.error, 'precondition_failed') && given === null && attempt < 3) continue;
        return answer(ctx.request, ctx.reply, result, 200);
      }
    },
  }),
  defineScimRoute({
    method: 'DELETE',
    url: '/Users/:id',
    summary: 'Delete a User: the record leaves the source (a leaver)',
    scope: 'scim:write',
    status: 204,
    params: idParams,
    query: writeQuery,
    handler: async (ctx) => {
      const result = await push(ctx, [], [{ id: ctx.params.id, ifMatch: ifMatchOf(ctx.request) }], 'scim DELETE /Users');
      const op = result.operations[0]!;
      if (!op.ok) throw op.error;
      if (result.status === 'dry_run' || (result.status === 'held' && dryRunOf(ctx.request))) return ctx.reply.status(200).send(dryRunBody(result));
      if (result.status === 'held') throw new JmlError('held', result.heldReason ?? 'held by the mass-change guard', { details: { importId: result.importId } });
      return ctx.reply.status(204).send();
    },
  }),
];
