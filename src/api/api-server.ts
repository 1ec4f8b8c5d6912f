/**
 * The HTTP server: Fastify with one error mapper, request ids, per-request
 * authentication (session cookie or Bearer API token), every route from
 * routes/, inbound SCIM under /scim/v2 (scim/), OpenAPI at /api/openapi.json, /healthz, /metrics, and the built
 * console as static files with a fallback to index.html for client routes.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { ApiDeps } from './api-deps.ts';
import { apiLoggerOptions, type ApiLogOptions } from './api-logger.ts';
import { createCredentialStore } from './auth/credential-store.ts';
import { createPrincipalCache } from './auth/principal-cache.ts';
import { mapError } from './error-mapper.ts';
import { openApiDocument } from './openapi-document.ts';
import { registerRoutes, type RouteDefinition } from './route-definition.ts';
import { setSecurityHeaders } from './security-headers.ts';
import { allRoutes } from './routes/index.ts';
import { SESSION_COOKIE } from './routes/auth-routes.ts';
import { oidcRoutes } from './auth/oidc-sign-in.ts';
import type { TrustProxy } from './trust-proxy.ts';
import { BODY_LIMIT, FIELD_LIMITS } from './request-limits.ts';
import { registerScim, SCIM_PREFIX, SCIM_ROUTES, sendScimError } from './scim/scim-server.ts';
import type { ScimRouteDefinition } from './scim/scim-route-definition.ts';

export interface ApiServerOptions {
  /** JSON lines with request ids (see api-logger.ts); off when absent or false. */
  readonly logger?: ApiLogOptions | false;
  /**
   * Proxies in front whose X-Forwarded-* headers are believed (client address for sign-in limits, scheme for
   * Secure cookies and HSTS): a hop count or their addresses/CIDR ranges; never "any proxy" (see trust-proxy.ts).
   */
  readonly trustProxy?: TrustProxy;
}

/** A hop count becomes "the first n hops" (what Fastify does with a number, which its types do not allow). */
function fastifyTrustProxy(trust: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return trust === false ? false : [...trust];
}

/**
 * Builds the server (not listening yet).
 * @example
 * const app = await buildApiServer(deps);
 * await app.listen({ host: '127.0.0.1', port: 8080 });
 */
export async function buildApiServer(given: ApiDeps, options: ApiServerOptions = {}): Promise<FastifyInstance & { routes: readonly RouteDefinition[]; scimRoutes: readonly ScimRouteDefinition[] }> {
  // One principal cache for every route of this server, so invalidation reaches all of them.
  const deps: ApiDeps = { ...given, principalCache: given.principalCache ?? createPrincipalCache() };
  const app = Fastify({
    logger: options.logger ? apiLoggerOptions(options.logger) : false,
    trustProxy: fastifyTrustProxy(options.trustProxy ?? false),
    genReqId: () => randomUUID(),
    bodyLimit: BODY_LIMIT,
    // Path parameters up to a few times the longest key reach the route's schema (a 400 naming the field);
    // longer ones, and URLs the router cannot decode (`%FF`, `%`), are answered by the error mapper, in the error schema.
    routerOptions: { maxParamLength: 4 * FIELD_LIMITS.key },
    // A URL under /scim/v2 the router cannot take is refused in SCIM's error schema, as every SCIM refusal is.
    frameworkErrors: (error, request, reply) =>
      given.services.inbound && request.url.startsWith(`${SCIM_PREFIX}/`) ? sendScimError(error, request, reply.header('x-request-id', request.id)) : mapError(error, request, reply.header('x-request-id', request.id)),
    // Stack traces stay in the log; the mapper answers clients.
    return503OnClosing: true,
  });
  await app.register(cookie);
  const credentials = createCredentialStore(deps);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (!request.url.startsWith('/api/')) return;
    const bearer = request.headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (bearer) {
      request.principal = await credentials.resolveApiToken(bearer);
      return;
    }
    const token = request.cookies[SESSION_COOKIE];
    if (token) request.principal = await credentials.resolveSession(token);
  });
  app.addHook('onSend', async (request, reply) => {
    setSecurityHeaders(request, reply);
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.observe(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.setErrorHandler((error, request, reply) => mapError(error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    if (deps.webDir && request.method === 'GET' && !request.url.startsWith('/api/')) return reply.type('text/html').sendFile('index.html');
    return mapError(Object.assign(new Error(`no route ${request.method} ${request.url.split('?')[0]}`), { statusCode: 404 }), request, reply);
  });

  const routes = [...allRoutes(deps), ...oidcRoutes(deps)];
  registerRoutes(app, deps, routes);
  // Inbound SCIM has its own tokens, media type and error schema: a plugin of its own under /scim/v2.
  const inbound = deps.services.inbound;
  if (inbound) await app.register(async (scope) => registerScim(scope, deps, inbound), { prefix: SCIM_PREFIX });
  // The SCIM routes are described whether or not this server has scim sources (without them they answer 404).
  const document = openApiDocument(routes, '0.1.0', SCIM_ROUTES);
  app.get('/api/openapi.json', async () => document);
  app.get('/healthz', async (_request, reply) => {
    try {
      await sql`select 1`.execute(deps.db);
      return { status: 'ok', backend: deps.backend };
    } catch {
      return reply.status(503).send({ status: 'unavailable', backend: deps.backend });
    }
  });
  app.get('/metrics', async (_request, reply) => {
    const statuses = await deps.db.selectFrom('identities').select(['status', sql<number>`count(*)::int`.as('n')]).groupBy('status').execute();
    const tasks = await deps.db.selectFrom('tasks').select(['status', sql<number>`count(*)::int`.as('n')]).groupBy('status').execute();
    reply.type('text/plain; version=0.0.4');
    return deps.metrics.render([
      { name: 'jml_identities', help: 'Identities by status.', values: statuses.map((s) => ({ labels: { status: s.status }, value: s.n })) },
      { name: 'jml_tasks', help: 'Manual tasks by status.', values: tasks.map((t) => ({ labels: { status: t.status }, value: t.n })) },
    ]);
  });
  if (deps.webDir && existsSync(path.join(deps.webDir, 'index.html'))) {
    await app.register(fastifyStatic, { root: path.resolve(deps.webDir), wildcard: false, index: 'index.html' });
  }
  return Object.assign(app as unknown as FastifyInstance, { routes, scimRoutes: SCIM_ROUTES });
}
