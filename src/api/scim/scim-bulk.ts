/**
 * SCIM Bulk (RFC 7644 §3.7): operations run in order, consecutive ones on
 * different users batched into one push (one transaction, one diff, one
 * write), so a 50-record upload from Entra costs one round trip to the
 * store. `bulkId:` references are resolved to the ids created before them;
 * `failOnErrors` stops after that many failed operations. A POST of a record
 * that exists updates it (Entra's API-driven inbound posts every record), so
 * a retried Bulk changes nothing twice.
 *
 * With `Prefer: respond-async` the request is accepted (202) and runs in the
 * background; its progress and results are read at /jml/batches/:id. Every
 * Bulk is recorded there, and each push in it is an import in the imports list.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { applyScimPatch } from '../../app/inbound/scim-patch.ts';
import { readScimUser } from '../../app/inbound/scim-resource-store.ts';
import type { PushedDelete, PushedUser, PushResult } from '../../app/inbound/scim-push.ts';
import { JmlError } from '../../domain/errors.ts';
import { attributeOf, type ScimObject } from '../../sources/scim-user-table.ts';
import type { ApiDeps, InboundPort } from '../api-deps.ts';
import { boundedArray, boundedString } from '../request-limits.ts';
import { SCIM_LIMITS } from './scim-discovery.ts';
import { etagOf, SCIM_MESSAGES, toScimUser } from './scim-representation.ts';
import { callerOf, dryRunOf, scimBase, scimErrorOf } from './scim-server.ts';
import { dryRunBody, parsePart, userLocation } from './scim-user-routes.ts';

const operation = z
  .object({
    method: boundedString('key'),
    bulkId: boundedString('key').optional(),
    path: boundedString('text'),
    version: boundedString('key').optional(),
    data: z.unknown().optional(),
  })
  .passthrough();

const bulkBody = z
  .object({
    schemas: boundedArray(boundedString('name')).optional(),
    failOnErrors: z.coerce.number().int().min(0).optional(),
    Operations: z.array(operation),
  })
  .passthrough();

type Operation = z.output<typeof operation>;

export interface BulkOperationResult {
  readonly method: string;
  readonly bulkId?: string;
  readonly location?: string;
  readonly version?: string;
  readonly status: string;
  readonly response?: unknown;
}

const BATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:jml:2.0:Batch';

/** Replaces every `bulkId:<id>` string in a value with the id it was created as; null when one is unknown. */
function resolveReferences(value: unknown, ids: ReadonlyMap<string, string>, missing: Set<string>): unknown {
  if (typeof value === 'string' && value.startsWith('/')) {
    // A path names the resource as `/Users/bulkId:<id>`.
    return value.replace(/bulkId:([^/?#]+)/, (whole, bulkId: string) => {
      const id = ids.get(bulkId);
      if (id === undefined) missing.add(bulkId);
      return id === undefined ? whole : encodeURIComponent(id);
    });
  }
  if (typeof value === 'string') {
    if (!value.startsWith('bulkId:')) return value;
    const id = ids.get(value.slice('bulkId:'.length));
    if (id === undefined) missing.add(value.slice('bulkId:'.length));
    return id ?? value;
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, ids, missing));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, ids, missing)]));
  return value;
}

function errorResult(method: string, bulkId: string | undefined, error: unknown): BulkOperationResult {
  const { status, body } = scimErrorOf(error);
  return { method, ...(bulkId ? { bulkId } : {}), status: String(status), response: body };
}

/** Runs the operations; `onProgress` hears after each push how many are done. */
async function runBulk(deps: ApiDeps, inbound: InboundPort, request: FastifyRequest, body: z.output<typeof bulkBody>, batchId: string, onProgress: (done: number, failed: number, importId: string | null) => Promise<void>): Promise<{ results: BulkOperationResult[]; dryRun: PushResult[] }> {
  const caller = callerOf(request);
  const dryRun = dryRunOf(request);
  // By operation position: a failure found before its round runs must not overtake the operations before it.
  const results: (BulkOperationResult | undefined)[] = [];
  const dryRuns: PushResult[] = [];
  const created = new Map<string, string>();
  let failed = 0;
  let round: { ops: { op: Operation; at: number }[]; users: PushedUser[]; deletes: PushedDelete[]; keys: Set<string>; bulkIds: Set<string> } = { ops: [], users: [], deletes: [], keys: new Set(), bulkIds: new Set() };

  const flush = async () => {
    if (round.ops.length === 0) return;
    const { ops, users, deletes } = round;
    round = { ops: [], users: [], deletes: [], keys: new Set(), bulkIds: new Set() };
    const result = await inbound.push({ source: caller.source, users, deletes, label: `scim Bulk ${batchId}`, dryRun, actor: caller.actor, trigger: `api:${request.id}`, now: deps.now() });
    if (dryRun || result.status === 'dry_run') dryRuns.push(result);
    if (result.recorded && result.status === 'applied') request.scimAudited = true;
    // Users come first in a push's operations, deletions after; the ops list keeps request order within each.
    const userOps = ops.filter((o) => o.op.method.toUpperCase() !== 'DELETE');
    const deleteOps = ops.filter((o) => o.op.method.toUpperCase() === 'DELETE');
    const byOp = new Map([...userOps.map((o, i) => [o, i] as const), ...deleteOps.map((o, j) => [o, users.length + j] as const)]);
    for (const entry of ops) {
      const { op, at } = entry;
      const method = op.method.toUpperCase();
      const outcome = result.operations[byOp.get(entry)!]!;
      if (!outcome.ok) {
        failed += 1;
        results[at] = errorResult(method, op.bulkId, outcome.error);
        continue;
      }
      if (result.status === 'held') {
        failed += 1;
        results[at] = errorResult(method, op.bulkId, new JmlError('held', result.heldReason ?? 'held', { details: { importId: result.importId } }));
        continue;
      }
      if (op.bulkId) created.set(op.bulkId, outcome.id);
      const location = userLocation(request, outcome.id);
      const status = method === 'POST' ? (outcome.created ? '201' : '200') : method === 'DELETE' ? '204' : '200';
      const version = outcome.user ? etagOf(outcome.user.version) : undefined;
      results[at] = { method, ...(op.bulkId ? { bulkId: op.bulkId } : {}), location, ...(version ? { version } : {}), status, ...(outcome.user && method !== 'DELETE' ? { response: toScimUser(outcome.user, location) } : {}) };
    }
    await onProgress(results.filter(Boolean).length, failed, result.recorded ? result.importId : null);
  };

  // With failOnErrors every operation is its own push, so the count of failures is known before the next one runs.
  const stopOnErrors = body.failOnErrors !== undefined && body.failOnErrors > 0 ? body.failOnErrors : null;
  for (const [at, op] of body.Operations.entries()) {
    if (stopOnErrors !== null) await flush();
    if (stopOnErrors !== null && failed >= stopOnErrors) break;
    const method = op.method.toUpperCase();
    const refs = new Set<string>();
    resolveReferences([op.path, op.data], created, refs);
    // A reference to an operation still waiting in this round: run the round first, so its id is known.
    if ([...refs].some((r) => round.bulkIds.has(r))) await flush();
    const missing = new Set<string>();
    const [path, data] = resolveReferences([op.path, op.data], created, missing) as [string, unknown];
    if (missing.size > 0) {
      await flush();
      failed += 1;
      results[at] = (errorResult(method, op.bulkId, new JmlError('conflict', `bulkId ${[...missing].join(', ')} names no operation that succeeded before this one`, { details: { scimType: 'invalidValue' } })));
      continue;
    }
    const match = /^\/Users(?:\/([^/?#]+))?$/i.exec(path);
    const id = match?.[1] ? decodeURIComponent(match[1]) : null;
    const validPath = match && (method === 'POST' ? id === null : id !== null) && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method);
    if (!validPath) {
      failed += 1;
      results[at] = (errorResult(method, op.bulkId, new JmlError('invalid_input', `${method} ${path}: a Bulk operation is POST /Users, or PUT, PATCH or DELETE /Users/<id>`, { details: { scimType: 'invalidPath' } })));
      continue;
    }
    const resource = method === 'DELETE' || method === 'PATCH' ? null : data;
    if (resource !== null && (!resource || typeof resource !== 'object' || Array.isArray(resource))) {
      failed += 1;
      results[at] = (errorResult(method, op.bulkId, new JmlError('invalid_input', `${method} ${path}: data must be a User resource`, { details: { scimType: 'invalidSyntax' } })));
      continue;
    }
    const key = (id ?? String(attributeOf(resource as ScimObject, 'externalId') ?? attributeOf(resource as ScimObject, 'userName') ?? '')).toLowerCase();
    if (round.keys.has(key)) await flush();
    try {
      if (method === 'DELETE') round.deletes.push({ id: id!, ifMatch: op.version ?? null });
      else if (method === 'PATCH') {
        const user = await readScimUser(deps.db, caller.source, id!);
        if (!user) throw new JmlError('not_found', `no User ${id}`);
        const ops = (data as { Operations?: unknown; operations?: unknown } | undefined)?.Operations ?? (data as { operations?: unknown } | undefined)?.operations;
        if (!Array.isArray(ops)) throw new JmlError('invalid_input', 'PATCH data must carry Operations', { details: { scimType: 'invalidSyntax' } });
        round.users.push({ id: id!, resource: applyScimPatch(user.resource, ops), onExisting: 'update', ifMatch: op.version ?? etagOf(user.version) });
      } else round.users.push({ id, resource: resource as ScimObject, onExisting: 'update', ifMatch: op.version ?? null });
    } catch (error) {
      failed += 1;
      results[at] = errorResult(method, op.bulkId, error);
      continue;
    }
    round.ops.push({ op, at });
    round.keys.add(key);
    if (op.bulkId) round.bulkIds.add(op.bulkId);
  }
  await flush();
  return { results: results.filter((r): r is BulkOperationResult => r !== undefined), dryRun: dryRuns };
}

/** Registers POST /Bulk and the batch status resource. */
export function registerScimBulkRoutes(app: FastifyInstance, deps: ApiDeps, inbound: InboundPort): void {
  // Entra's API-driven inbound provisioning posts the same BulkRequest to an endpoint named bulkUpload.
  app.post('/bulkUpload', async (request, reply) => bulk(request, reply));
  app.post('/Bulk', async (request, reply) => bulk(request, reply));
  async function bulk(request: FastifyRequest, reply: FastifyReply) {
    const body = parsePart(bulkBody, request.body, 'body');
    if (body.Operations.length > SCIM_LIMITS.maxOperations) {
      throw new JmlError('too_large', `${body.Operations.length} operations; a Bulk request takes at most ${SCIM_LIMITS.maxOperations}`, { details: { scimType: 'tooMany' } });
    }
    const caller = callerOf(request);
    const batchId = randomUUID();
    const at = deps.now().toISOString();
    const importIds: string[] = [];
    const record = async (status: 'done' | 'failed', results: unknown[] | null, failed: number) => {
      await deps.db.insertInto('scim_batches').values({ id: batchId, source: caller.source, actor: caller.actor, status, operations: body.Operations.length, processed: results?.length ?? 0, failed, import_ids: importIds, results: JSON.stringify(results), created_at: at, finished_at: deps.now().toISOString() })
        .onConflict((oc) => oc.column('id').doUpdateSet({ status, processed: results?.length ?? 0, failed, import_ids: importIds, results: JSON.stringify(results), finished_at: deps.now().toISOString() }))
        .execute();
    };
    const progress = async (done: number, failed: number, importId: string | null, live: boolean) => {
      if (importId !== null) importIds.push(importId);
      if (live) await deps.db.updateTable('scim_batches').set({ status: 'running', processed: done, failed, import_ids: importIds }).where('id', '=', batchId).execute();
    };
    const location = `${scimBase(request)}/jml/batches/${batchId}`;
    if (/respond-async/i.test(String(request.headers.prefer ?? '')) && !dryRunOf(request)) {
      await deps.db.insertInto('scim_batches').values({ id: batchId, source: caller.source, actor: caller.actor, status: 'accepted', operations: body.Operations.length, created_at: at }).execute();
      void runBulk(deps, inbound, request, body, batchId, (d, f, i) => progress(d, f, i, true))
        .then(({ results }) => record('done', results, results.filter((r) => Number(r.status) >= 400).length))
        .catch(async (error: unknown) => {
          request.log.error({ err: error, batchId }, 'asynchronous SCIM Bulk failed');
          await record('failed', null, 0).catch(() => undefined);
        });
      reply.status(202).header('location', location);
      return { schemas: [BATCH_SCHEMA], id: batchId, status: 'accepted', operations: body.Operations.length, location };
    }
    const { results, dryRun } = await runBulk(deps, inbound, request, body, batchId, (d, f, i) => progress(d, f, i, false));
    if (dryRunOf(request)) return { ...dryRunBody(mergeDryRuns(dryRun)), Operations: results };
    await record('done', results, results.filter((r) => Number(r.status) >= 400).length);
    reply.header('jml-batch', location);
    return { schemas: [SCIM_MESSAGES.bulkResponse], Operations: results };
  }

  app.get<{ Params: { id: string } }>('/jml/batches/:id', async (request) => {
    const { id } = parsePart(z.object({ id: boundedString('key') }), request.params, 'params');
    const batch = await deps.db.selectFrom('scim_batches').selectAll().where('id', '=', id).where('source', '=', callerOf(request).source).executeTakeFirst();
    if (!batch) throw new JmlError('not_found', `no batch ${id}`);
    return {
      schemas: [BATCH_SCHEMA],
      id: batch.id,
      status: batch.status,
      operations: batch.operations,
      processed: batch.processed,
      failed: batch.failed,
      imports: batch.import_ids,
      created: batch.created_at.toISOString(),
      finished: batch.finished_at?.toISOString() ?? null,
      ...(batch.results ? { Operations: batch.results } : {}),
      meta: { resourceType: 'Batch', location: `${scimBase(request)}/jml/batches/${batch.id}` },
    };
  });
}

/** The dry runs of a Bulk's pushes as one diff. */
function mergeDryRuns(results: readonly PushResult[]): PushResult {
  const sum = (k: keyof PushResult['counts']) => results.reduce((n, r) => n + r.counts[k], 0);
  const held = results.find((r) => r.status === 'held');
  return {
    importId: '',
    status: held ? 'held' : 'dry_run',
    source: results[0]?.source ?? '',
    operations: results.flatMap((r) => r.operations),
    events: results.flatMap((r) => r.events),
    effective: [],
    massChange: held?.massChange ?? results[0]?.massChange ?? null,
    heldReason: held?.heldReason ?? null,
    recorded: false,
    counts: { joiners: sum('joiners'), movers: sum('movers'), leavers: sum('leavers'), rehires: sum('rehires'), historical: sum('historical'), unchanged: sum('unchanged') },
  };
}
