/**
 * The SCIM 2.0 service provider under /scim/v2: a Fastify plugin of its own,
 * because SCIM has its own authentication (a source's bearer tokens, not
 * console users), its own media type (application/scim+json, accepted and
 * answered) and its own error schema. Every request is rate-limited per token
 * and audited with the token's name as the actor. The routes are declared in
 * SCIM_ROUTES (scim-route-definition.ts): each names the scope it needs.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { resolveScimToken, type ScimCaller } from '../../app/inbound/scim-tokens.ts';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { ApiDeps, InboundPort } from '../api-deps.ts';
import { boundedString } from '../request-limits.ts';
import { SCIM_LIMITS, scimResourceTypes, scimSchemas, serviceProviderConfig } from './scim-discovery.ts';
import { SCIM_MESSAGES } from './scim-representation.ts';
import { scimUserRoutes } from './scim-user-routes.ts';
import { scimBulkRoutes } from './scim-bulk.ts';
import { createRateLimiter } from './scim-rate-limit.ts';
import { defineScimRoute, registerScimRoutes, SCIM_MEDIA_TYPE, scimBase, scimErrorOf, scimRequestAudit, type ScimRouteDefinition } from './scim-route-definition.ts';

export { SCIM_PREFIX } from './scim-route-definition.ts';

export const DEFAULT_SCIM_RATE_LIMIT = { requests: 200, windowMs: 10_000 } as const;
const CALLER_TTL_MS = 1_000;

/** Answers a refusal in SCIM's error schema: the plugin's errors, and the router's for a URL under /scim/v2 (api-server.ts). */
export function sendScimError(raised: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = scimErrorOf(raised);
  if (status >= 500) request.log.error({ err: raised, requestId: request.id }, 'SCIM request failed');
  return reply.status(status).type(SCIM_MEDIA_TYPE).send(body);
}

function listOf(resources: readonly unknown[]) {
  return { schemas: [SCIM_MESSAGES.list], totalResults: resources.length, startIndex: 1, itemsPerPage: resources.length, Resources: resources };
}

/** What a client reads to learn this provider (RFC 7644 §4): any token of the source may. */
const discoveryRoutes: readonly ScimRouteDefinition[] = [
  defineScimRoute({ method: 'GET', url: '/ServiceProviderConfig', summary: 'What this provider supports (PATCH, Bulk, filter, sort, ETag) and its limits', scope: 'scim:read', status: 200, handler: async ({ request }) => serviceProviderConfig(scimBase(request)) }),
  defineScimRoute({ method: 'GET', url: '/ResourceTypes', summary: 'The resource types served (User, with the enterprise and jml extensions)', scope: 'scim:read', status: 200, handler: async ({ request }) => listOf(scimResourceTypes(scimBase(request))) }),
  defineScimRoute({ method: 'GET', url: '/ResourceTypes/User', summary: 'The User resource type', scope: 'scim:read', status: 200, handler: async ({ request }) => scimResourceTypes(scimBase(request))[0] }),
  defineScimRoute({ method: 'GET', url: '/Schemas', summary: 'The schemas known: core User, enterprise User, jml User', scope: 'scim:read', status: 200, handler: async ({ request }) => listOf(scimSchemas(scimBase(request))) }),
  defineScimRoute({
    method: 'GET',
    url: '/Schemas/:id',
    summary: 'One schema by its URN',
    scope: 'scim:read',
    status: 200,
    params: z.object({ id: boundedString('name') }),
    handler: async ({ request, params }) => {
      const found = scimSchemas(scimBase(request)).find((s) => String(s.id).toLowerCase() === params.id.toLowerCase());
      if (!found) throw new JmlError('not_found', `no schema ${params.id}`);
      return found;
    },
  }),
];

/** Every route of the provider, in the order the OpenAPI document lists them. */
export const SCIM_ROUTES: readonly ScimRouteDefinition[] = [...discoveryRoutes, ...scimUserRoutes, ...scimBulkRoutes];

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
    if (request.scimAudited) return;
    try {
      await appendAudit(deps.db, scimRequestAudit(request, reply.statusCode), deps.now());
    } catch (error) {
      request.log.error({ err: error, requestId: request.id }, 'could not audit a SCIM request');
    }
  });

  // Closing: the pushes' follow-ups still waiting for their window are sent, not lost (the job queue closes after).
  app.addHook('onClose', async () => {
    await inbound.flush?.();
  });
  registerScimRoutes(app, deps, inbound, SCIM_ROUTES);
}
