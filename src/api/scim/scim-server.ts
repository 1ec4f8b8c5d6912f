/**
 * The SCIM 2.0 service provider under /scim/v2: a Fastify plugin of its own,
 * because SCIM has its own authentication (a source's bearer tokens, not
 * console users), its own media type (application/scim+json, accepted and
 * answered) and its own error schema. Every request is rate-limited per token
 * and audited with the token's name as the actor.
 */
import { createHash } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { resolveScimToken, type ScimCaller } from '../../app/inbound/scim-tokens.ts';
import { isJmlError, JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { ApiDeps, InboundPort } from '../api-deps.ts';
import { statusFor } from '../error-mapper.ts';
import { jmlErrorFromDriver } from '../../store/driver-errors.ts';
import { SCIM_LIMITS, scimResourceTypes, scimSchemas, serviceProviderConfig } from './scim-discovery.ts';
import { SCIM_MESSAGES } from './scim-representation.ts';
import { registerScimUserRoutes } from './scim-user-routes.ts';
import { registerScimBulkRoutes } from './scim-bulk.ts';
import { createRateLimiter } from './scim-rate-limit.ts';

declare module 'fastify' {
  interface FastifyRequest {
    scimCaller?: ScimCaller;
    /** An applied push of this request already wrote audit entries with trigger `api:<request id>`. */
    scimAudited?: boolean;
  }
}

export const SCIM_PREFIX = '/scim/v2';
const SCIM_MEDIA_TYPE = 'application/scim+json';
const SAFE_METHODS = new Set(['GET', 'HEAD']);
export const DEFAULT_SCIM_RATE_LIMIT = { requests: 200, windowMs: 10_000 } as const;
const CALLER_TTL_MS = 1_000;

/** The base URL clients reach this provider at (for Location and meta.location). */
export function scimBase(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}${SCIM_PREFIX}`;
}

/** The caller the onRequest hook authenticated (every route behind it has one). */
export function callerOf(request: FastifyRequest): ScimCaller {
  if (!request.scimCaller) throw new JmlError('unauthenticated', 'no SCIM bearer token');
  return request.scimCaller;
}

/** SCIM's error body (RFC 7644 §3.12) for anything a route throws; the status comes from the API's one mapping of codes. */
export function scimErrorOf(raised: unknown): { readonly status: number; readonly body: Record<string, unknown> } {
  const error = jmlErrorFromDriver(raised) ?? raised;
  if (isJmlError(error)) {
    const status = statusFor(error.code);
    const scimType = typeof error.details.scimType === 'string' ? error.details.scimType : error.code === 'invalid_input' ? 'invalidValue' : undefined;
    const detail = status >= 500 && error.code === 'internal' ? 'internal error' : error.message;
    const extra = typeof error.details.importId === 'string' ? { importId: error.details.importId } : {};
    return { status, body: { schemas: [SCIM_MESSAGES.error], status: String(status), ...(scimType ? { scimType } : {}), detail, ...extra } };
  }
  const fe = error as FastifyError;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const scimType = fe.statusCode === 413 ? undefined : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? undefined : 'invalidSyntax';
    const detail = fe.statusCode === 413 ? `the request body is larger than ${SCIM_LIMITS.maxPayloadSize} bytes` : fe.message;
    return { status: fe.statusCode, body: { schemas: [SCIM_MESSAGES.error], status: String(fe.statusCode), ...(scimType ? { scimType } : {}), detail } };
  }
  return { status: 500, body: { schemas: [SCIM_MESSAGES.error], status: '500', detail: 'internal error' } };
}

function sendScimError(raised: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = scimErrorOf(raised);
  if (status >= 500) request.log.error({ err: raised, requestId: request.id }, 'SCIM request failed');
  return reply.status(status).type(SCIM_MEDIA_TYPE).send(body);
}

/**
 * Registers the provider on the server.
 * @example await app.register((scope) => registerScim(scope, deps, inbound), { prefix: '/scim/v2' })
 */
export async function registerScim(app: FastifyInstance, deps: ApiDeps, inbound: InboundPort): Promise<void> {
  const limiter = createRateLimiter(inbound.rateLimit ?? DEFAULT_SCIM_RATE_LIMIT);
  // Like console principals (principal-cache.ts), a resolved token is reused for a second: a revocation
  // takes effect within that, and a busy client does not cost a query per request.
  const callers = new Map<string, { caller: ScimCaller | null; expires: number }>();
  const resolve = async (secret: string): Promise<ScimCaller | null> => {
    const key = createHash('sha256').update(secret).digest('hex');
    const at = deps.now().getTime();
    const hit = callers.get(key);
    if (hit && hit.expires > at) return hit.caller;
    const caller = await resolveScimToken(deps.db, secret, deps.now());
    if (callers.size >= 10_000) callers.clear();
    callers.set(key, { caller, expires: at + CALLER_TTL_MS });
    return caller;
  };
  app.addContentTypeParser(SCIM_MEDIA_TYPE, { parseAs: 'string', bodyLimit: SCIM_LIMITS.maxPayloadSize }, (_request, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch {
      done(new JmlError('invalid_input', 'the request body is not JSON', { details: { scimType: 'invalidSyntax' } }), undefined);
    }
  });
  app.setErrorHandler((error, request, reply) => sendScimError(error, request, reply));
  app.setNotFoundHandler((request, reply) => sendScimError(new JmlError('not_found', `no SCIM endpoint ${request.method} ${request.url.split('?')[0]}`), request, reply));

  app.addHook('onRequest', async (request, reply) => {
    const bearer = request.headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const caller = bearer ? await resolve(bearer) : null;
    if (!caller) {
      reply.header('www-authenticate', 'Bearer realm="jml-scim"');
      throw new JmlError('unauthenticated', 'a valid bearer token is required (issued with `jml scim token create --source <source>`)');
    }
    request.scimCaller = caller;
    const waitMs = limiter.take(caller.tokenId, deps.now().getTime());
    if (waitMs > 0) {
      reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
      throw new JmlError('rate_limited', `too many requests from token ${caller.name}: retry after ${Math.ceil(waitMs / 1000)} s`, { retryable: true });
    }
    if (!SAFE_METHODS.has(request.method) && !caller.scopes.includes('scim:write')) {
      throw new JmlError('forbidden', `token ${caller.name} may only read (scope scim:read); writing needs scim:write`);
    }
    if (SAFE_METHODS.has(request.method) && !caller.scopes.includes('scim:read') && !caller.scopes.includes('scim:write')) {
      throw new JmlError('forbidden', `token ${caller.name} has no SCIM scope`);
    }
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('application/json')) reply.header('content-type', `${SCIM_MEDIA_TYPE}; charset=utf-8`);
    reply.header('cache-control', 'no-store');
    return payload;
  });
  // Every request, refused ones included, leaves an audit entry naming the token (never its secret). A request
  // whose push was applied has one already: `import.applied` with the token as actor and `api:<request id>`
  // as trigger, written in the push's transaction; a second entry would only lengthen the chain's critical section.
  app.addHook('onResponse', async (request, reply) => {
    const caller = request.scimCaller;
    if (request.scimAudited) return;
    try {
      await appendAudit(
        deps.db,
        {
          actor: caller?.actor ?? 'anonymous',
          action: 'scim.request',
          subject: caller ? `source:${caller.source}` : 'scim',
          trigger: `api:${request.id}`,
          details: { method: request.method, path: request.url.split('?')[0], status: reply.statusCode, ...(dryRunOf(request) ? { dryRun: true } : {}) },
        },
        deps.now(),
      );
    } catch (error) {
      request.log.error({ err: error, requestId: request.id }, 'could not audit a SCIM request');
    }
  });

  app.get('/ServiceProviderConfig', async (request) => serviceProviderConfig(scimBase(request)));
  app.get('/ResourceTypes', async (request) => listOf(scimResourceTypes(scimBase(request))));
  app.get('/ResourceTypes/User', async (request) => scimResourceTypes(scimBase(request))[0]);
  app.get('/Schemas', async (request) => listOf(scimSchemas(scimBase(request))));
  app.get<{ Params: { id: string } }>('/Schemas/:id', async (request) => {
    const found = scimSchemas(scimBase(request)).find((s) => String(s.id).toLowerCase() === request.params.id.toLowerCase());
    if (!found) throw new JmlError('not_found', `no schema ${request.params.id}`);
    return found;
  });
  // Closing: the pushes' follow-ups still waiting for their window are sent, not lost (the job queue closes after).
  app.addHook('onClose', async () => {
    await inbound.flush?.();
  });
  registerScimUserRoutes(app, deps, inbound);
  registerScimBulkRoutes(app, deps, inbound);
}

function listOf(resources: readonly unknown[]) {
  return { schemas: [SCIM_MESSAGES.list], totalResults: resources.length, startIndex: 1, itemsPerPage: resources.length, Resources: resources };
}

/** `Jml-Dry-Run: true` or `?dryRun=true`: answer with the diff and write nothing. */
export function dryRunOf(request: FastifyRequest): boolean {
  const header = request.headers['jml-dry-run'];
  const query = (request.query as Record<string, unknown> | undefined)?.dryRun;
  return String(header ?? '').toLowerCase() === 'true' || String(query ?? '').toLowerCase() === 'true';
}
