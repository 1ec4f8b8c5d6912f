/**
 * SCIM Bulk (RFC 7644 §3.7) over HTTP: the operations are run by
 * src/app/inbound/scim-bulk-run.ts (batched pushes, bulkId references,
 * failOnErrors); this renders their outcomes as a BulkResponse.
 *
 * With `Prefer: respond-async` the request is stored as a batch and accepted
 * (202); this process starts it at once, and should it die, the next
 * `jml serve` or `jml worker` resumes it (src/app/inbound/scim-batch.ts). Its
 * progress and results are read at /jml/batches/:id. Every Bulk is recorded
 * there, and each push in it is an import in the imports list.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { acceptBatch, apiBatchRunner, runBatch } from '../../app/inbound/scim-batch.ts';
import { outcomeError, runBulkOperations, type BulkOutcome } from '../../app/inbound/scim-bulk-run.ts';
import type { PushResult } from '../../app/inbound/scim-push.ts';
import type { ScimCaller } from '../../app/inbound/scim-tokens.ts';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { Database } from '../../store/database.ts';
import type { ApiDeps, InboundPort } from '../api-deps.ts';
import { boundedArray, boundedString } from '../request-limits.ts';
import { SCIM_LIMITS } from './scim-discovery.ts';
import { etagOf, SCIM_MESSAGES, toScimUser } from './scim-representation.ts';
import { defineScimRoute, dryRunOf, scimBase, scimErrorOf, scimRequestAudit, type ScimRouteDefinition } from './scim-route-definition.ts';
import { dryRunBody, userLocation } from './scim-user-routes.ts';

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
    // Counted against SCIM_LIMITS.maxOperations first (413 tooMany); bounded here like every list.
    Operations: boundedArray(operation, SCIM_LIMITS.maxOperations),
  })
  .passthrough();

export interface BulkOperationResult {
  readonly method: string;
  readonly bulkId?: string;
  readonly location?: string;
  readonly version?: string;
  readonly status: string;
  readonly response?: unknown;
}

const BATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:jml:2.0:Batch';

/** An operation's outcome as RFC 7644 answers it: status as a string, Location and version, or SCIM's error. */
function rendered(request: FastifyRequest, o: BulkOutcome): BulkOperationResult {
  const bulkId = o.bulkId ? { bulkId: o.bulkId } : {};
  if (!o.ok) {
    const { status, body } = scimErrorOf(outcomeError(o));
    return { method: o.method, ...bulkId, status: String(status), response: body };
  }
  const location = userLocation(request, o.id);
  const status = o.method === 'POST' ? (o.created ? '201' : '200') : o.method === 'DELETE' ? '204' : '200';
  return { method: o.method, ...bulkId, location, ...(o.version !== null ? { version: etagOf(o.version) } : {}), status, ...(o.user && o.method !== 'DELETE' ? { response: toScimUser(o.user, location) } : {}) };
}

function countOperations(request: FastifyRequest): void {
  const given = (request.body as { Operations?: unknown } | undefined)?.Operations;
  if (Array.isArray(given) && given.length > SCIM_LIMITS.maxOperations) {
    throw new JmlError('too_large', `${given.length} operations; a Bulk request takes at most ${SCIM_LIMITS.maxOperations}`, { details: { scimType: 'tooMany' } });
  }
}

/** A Bulk request: the operation count is checked before the body's schema (countOperations), so too many is 413 tooMany, not 400. */
async function bulk(ctx: { request: FastifyRequest; reply: FastifyReply; caller: ScimCaller; deps: ApiDeps; inbound: InboundPort; body: z.output<typeof bulkBody> }) {
  const { request, reply, caller, deps, inbound, body } = ctx;
  const batchId = randomUUID();
  const location = `${scimBase(request)}/jml/batches/${batchId}`;
  const bulkRequest = { operations: body.Operations, failOnErrors: body.failOnErrors };
  const trigger = `api:${request.id}`;
  if (/respond-async/i.test(String(request.headers.prefer ?? '')) && !dryRunOf(request)) {
    await acceptBatch(deps.db, { id: batchId, source: caller.source, actor: caller.actor, trigger, request: bulkRequest, now: deps.now() });
    // Started here at once; a batch this process does not finish is taken over when its lease lapses.
    void runBatch({ db: deps.db, push: inbound.push, now: deps.now, owner: apiBatchRunner() }, batchId).catch((error: unknown) => {
      request.log.error({ err: error, batchId }, 'asynchronous SCIM Bulk stopped; it is resumed when its lease lapses unless it was refused');
    });
    reply.status(202).header('location', location);
    return { schemas: [BATCH_SCHEMA], id: batchId, status: 'accepted', operations: body.Operations.length, location };
  }
  const dryRun = dryRunOf(request);
  // The batch row (and the request's audit entry, when no push wrote an import's) commits with the last push:
  // no transaction of its own, no second wait for the disk.
  const finish = async (db: Kysely<Database>, outcomes: readonly BulkOutcome[], pushes: readonly PushResult[]) => {
    const at = deps.now();
    const kept = outcomes.map((o) => (o.ok ? { ...o, user: undefined } : o));
    await db
      .insertInto('scim_batches')
      .values({ id: batchId, source: caller.source, actor: caller.actor, trigger, status: 'done', operations: body.Operations.length, processed: outcomes.length, failed: outcomes.filter((o) => !o.ok).length, import_ids: pushes.filter((p) => p.recorded).map((p) => p.importId), results: JSON.stringify(kept), created_at: at.toISOString(), finished_at: at.toISOString() })
      .execute();
    if (!pushes.some((p) => p.recorded && p.status === 'applied')) await appendAudit(db, scimRequestAudit(request, 200), at);
  };
  const { outcomes, pushes } = await runBulkOperations({ db: deps.db, push: inbound.push, now: deps.now }, { source: caller.source, actor: caller.actor, trigger, label: `scim Bulk ${batchId}`, dryRun, request: bulkRequest, ...(dryRun ? {} : { finish }) });
  const results = outcomes.map((o) => rendered(request, o));
  if (dryRun) return { ...dryRunBody(mergeDryRuns(pushes)), Operations: results };
  request.scimAudited = true;
  reply.header('jml-batch', location);
  return { schemas: [SCIM_MESSAGES.bulkResponse], Operations: results };
}

const writeQuery = z.object({ dryRun: boundedString('key').optional() });

/** POST /Bulk (and Entra's /bulkUpload) and the batch status resource. */
export const scimBulkRoutes: readonly ScimRouteDefinition[] = [
  defineScimRoute({ method: 'POST', url: '/Bulk', summary: 'A BulkRequest (RFC 7644 §3.7): bulkId references, failOnErrors; `Prefer: respond-async` answers 202 with a batch to read back', scope: 'scim:write', status: 200, query: writeQuery, body: bulkBody, precheck: countOperations, handler: bulk }),
  // Entra's API-driven inbound provisioning posts the same BulkRequest to an endpoint named bulkUpload.
  defineScimRoute({ method: 'POST', url: '/bulkUpload', summary: 'The same as POST /Bulk, at the name Entra\'s API-driven inbound provisioning uses', scope: 'scim:write', status: 200, query: writeQuery, body: bulkBody, precheck: countOperations, handler: bulk }),
  defineScimRoute({
    method: 'GET',
    url: '/jml/batches/:id',
    summary: 'An accepted Bulk\'s progress, the imports it made and its per-operation results',
    scope: 'scim:read',
    status: 200,
    params: z.object({ id: boundedString('key') }),
    handler: async ({ deps, request, caller, params }) => {
      const batch = await deps.db.selectFrom('scim_batches').selectAll().where('id', '=', params.id).where('source', '=', caller.source).executeTakeFirst();
      if (!batch) throw new JmlError('not_found', `no batch ${params.id}`);
      // Outcomes as the batch keeps them (src/app/inbound/scim-bulk-run.ts); batches from before 0030 kept rendered results.
      const results = (batch.results ?? []).map((r) => (r && typeof r === 'object' && 'ok' in r ? rendered(request, r as BulkOutcome) : r));
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
        // Why a failed batch ended (the refusal, or the unexpected error of its last run), and how many runs failed unexpectedly.
        ...(batch.status === 'failed' ? { error: batch.error, attempts: batch.attempts } : {}),
        ...(batch.status === 'done' || batch.status === 'failed' || results.length > 0 ? { Operations: results } : {}),
        meta: { resourceType: 'Batch', location: `${scimBase(request)}/jml/batches/${batch.id}` },
      };
    },
  }),
];

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
