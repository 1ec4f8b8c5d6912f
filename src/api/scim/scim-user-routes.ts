/**
 * /Users of the caller's source: list and search (filter, sort, paging,
 * projection), read, create, replace, PATCH and delete. Every write is a push
 * (src/app/inbound/scim-push.ts): the same mapping, diff, guard and events as
 * a file import. The token decides the source; no route names one.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { indexedEquality, matchesScimFilter, parseScimFilter } from '../../app/inbound/scim-filter.ts';
import { applyScimPatch } from '../../app/inbound/scim-patch.ts';
import { listScimUsers, readScimUser, type StoredUser } from '../../app/inbound/scim-resource-store.ts';
import type { PushedUser, PushResult } from '../../app/inbound/scim-push.ts';
import { isJmlError, JmlError } from '../../domain/errors.ts';
import type { ScimObject } from '../../sources/scim-user-table.ts';
import type { ApiDeps, InboundPort } from '../api-deps.ts';
import { boundedArray, boundedString } from '../request-limits.ts';
import { findUnstorableText } from '../request-text.ts';
import { SCIM_LIMITS } from './scim-discovery.ts';
import { etagOf, projectResource, SCIM_MESSAGES, sortResources, toScimUser } from './scim-representation.ts';
import { callerOf, dryRunOf, scimBase } from './scim-server.ts';

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

const patchBody = z
  .object({
    schemas: boundedArray(boundedString('name')).optional(),
    Operations: boundedArray(z.object({ op: boundedString('key'), path: boundedString('text').optional(), value: z.unknown().optional() }).passthrough()),
  })
  .passthrough();

/** Validates a request part; a problem is SCIM's invalidValue (or invalidSyntax for a body that is not an object). */
export function parsePart<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const unstorable = findUnstorableText(value);
  if (unstorable) throw new JmlError('invalid_input', `${where}${unstorable.path ? `.${unstorable.path}` : ''}: ${unstorable.message}`, { details: { scimType: 'invalidValue' } });
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')} ${i.message}`).join('; ');
  throw new JmlError('invalid_input', `invalid ${where}: ${problems}`, { details: { scimType: where === 'body' ? 'invalidSyntax' : 'invalidValue' } });
}

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
  if (result.status === 'dry_run' || (result.status === 'held' && dryRunOf(request))) return dryRunBody(result);
  if (result.status === 'held') throw new JmlError('held', result.heldReason ?? 'held by the mass-change guard', { details: { importId: result.importId } });
  if (!op.user) throw new JmlError('internal', 'an applied push returned no resource');
  const location = userLocation(request, op.id);
  reply.status(status).header('etag', etagOf(op.user.version));
  if (status === 201) reply.header('location', location);
  return toScimUser(op.user, location);
}

/** The users of a list or search, filtered, sorted, paged and projected. */
async function listUsers(deps: ApiDeps, request: FastifyRequest, q: z.output<typeof listQuery>) {
  const { source } = callerOf(request);
  const filter = q.filter ? parseScimFilter(q.filter) : null;
  const stored = await listScimUsers(deps.db, source, filter ? (indexedEquality(filter) ?? undefined) : undefined);
  let resources = stored.map((u) => toScimUser(u, userLocation(request, u.id)));
  if (filter) resources = resources.filter((r) => matchesScimFilter(r, filter));
  if (q.sortBy) {
    const order = (q.sortOrder ?? 'ascending').toLowerCase();
    if (order !== 'ascending' && order !== 'descending') throw new JmlError('invalid_input', `sortOrder must be ascending or descending, not "${q.sortOrder}"`, { details: { scimType: 'invalidValue' } });
    resources = sortResources(resources, q.sortBy, order);
  }
  const startIndex = Math.max(1, q.startIndex ?? 1);
  const count = Math.min(Math.max(0, q.count ?? SCIM_LIMITS.maxResults), SCIM_LIMITS.maxResults);
  const page = resources.slice(startIndex - 1, startIndex - 1 + count).map((r) => projectResource(r, q.attributes, q.excludedAttributes));
  return { schemas: [SCIM_MESSAGES.list], totalResults: resources.length, startIndex, itemsPerPage: page.length, Resources: page };
}

/** The stored user the path names, or 404. */
async function storedUser(deps: ApiDeps, request: FastifyRequest, id: string): Promise<StoredUser> {
  const user = await readScimUser(deps.db, callerOf(request).source, id);
  if (!user) throw new JmlError('not_found', `no User ${id}`);
  return user;
}

function ifMatchOf(request: FastifyRequest): string | null {
  const header = request.headers['if-match'];
  return typeof header === 'string' && header.trim() !== '' ? header : null;
}

/** Registers the /Users routes. */
export function registerScimUserRoutes(app: FastifyInstance, deps: ApiDeps, inbound: InboundPort): void {
  const push = async (request: FastifyRequest, users: PushedUser[], deletes: { id: string; ifMatch: string | null }[], label: string) => {
    const caller = callerOf(request);
    const result = await inbound.push({ source: caller.source, users, deletes, label, dryRun: dryRunOf(request), actor: caller.actor, trigger: `api:${request.id}`, now: deps.now() });
    if (result.recorded && result.status === 'applied') request.scimAudited = true;
    return result;
  };

  app.get('/Users', async (request) => listUsers(deps, request, parsePart(listQuery, request.query, 'query')));
  app.post('/Users/.search', async (request, reply) => {
    const body = parsePart(listQuery.extend({ attributes: z.union([boundedString('text'), boundedArray(boundedString('name'))]).optional(), excludedAttributes: z.union([boundedString('text'), boundedArray(boundedString('name'))]).optional() }).passthrough(), request.body, 'body');
    const join = (v: string | readonly string[] | undefined) => (Array.isArray(v) ? v.join(',') : (v as string | undefined));
    reply.status(200);
    return listUsers(deps, request, { ...body, attributes: join(body.attributes), excludedAttributes: join(body.excludedAttributes) });
  });
  app.get('/Users/:id', async (request, reply) => {
    const { id } = parsePart(idParams, request.params, 'params');
    const query = parsePart(listQuery, request.query, 'query');
    const user = await storedUser(deps, request, id);
    reply.header('etag', etagOf(user.version));
    if (request.headers['if-none-match'] === etagOf(user.version)) return reply.status(304).send();
    return projectResource(toScimUser(user, userLocation(request, id)), query.attributes, query.excludedAttributes);
  });
  app.post('/Users', async (request, reply) => {
    const resource = parsePart(resourceBody, request.body, 'body');
    return answer(request, reply, await push(request, [{ id: null, resource, onExisting: 'conflict', ifMatch: null }], [], 'scim POST /Users'), 201);
  });
  app.put('/Users/:id', async (request, reply) => {
    const { id } = parsePart(idParams, request.params, 'params');
    const resource = parsePart(resourceBody, request.body, 'body');
    return answer(request, reply, await push(request, [{ id, resource, onExisting: 'update', ifMatch: ifMatchOf(request) }], [], 'scim PUT /Users'), 200);
  });
  app.patch('/Users/:id', async (request, reply) => {
    const { id } = parsePart(idParams, request.params, 'params');
    const raw = request.body as Record<string, unknown> | undefined;
    const body = parsePart(patchBody, raw && !('Operations' in raw) && 'operations' in raw ? { ...raw, Operations: raw.operations } : raw, 'body');
    const given = ifMatchOf(request);
    // Without If-Match the read-modify-write is retried when another write slips in between; with it, that is the client's 412.
    for (let attempt = 0; ; attempt += 1) {
      const user = await storedUser(deps, request, id);
      const patched: ScimObject = applyScimPatch(user.resource, body.Operations);
      const result = await push(request, [{ id, resource: patched, onExisting: 'update', ifMatch: given ?? etagOf(user.version) }], [], 'scim PATCH /Users');
      const op = result.operations[0]!;
      if (!op.ok && isJmlError(op.error, 'precondition_failed') && given === null && attempt < 3) continue;
      return answer(request, reply, result, 200);
    }
  });
  app.delete('/Users/:id', async (request, reply) => {
    const { id } = parsePart(idParams, request.params, 'params');
    const result = await push(request, [], [{ id, ifMatch: ifMatchOf(request) }], 'scim DELETE /Users');
    const op = result.operations[0]!;
    if (!op.ok) throw op.error;
    if (result.status === 'dry_run' || (result.status === 'held' && dryRunOf(request))) return dryRunBody(result);
    if (result.status === 'held') throw new JmlError('held', result.heldReason ?? 'held by the mass-change guard', { details: { importId: result.importId } });
    return reply.status(204).send();
  });
}
