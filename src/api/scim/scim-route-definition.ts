/**
 * A SCIM route is declared once, like the API's (route-definition.ts): method,
 * path under /scim/v2, the token scope it needs, zod schemas for params, query
 * and body, and a handler. The same declaration is registered by the SCIM
 * plugin (which checks the scope before the handler runs), validated with
 * SCIM's error schema, bounded like every API field (request-limits.ts) and
 * described in the OpenAPI document (openapi-document.ts) under its own
 * security scheme.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { ScimCaller, ScimScope } from '../../app/inbound/scim-tokens.ts';
import { isJmlError, JmlError } from '../../domain/errors.ts';
import type { AuditEntryInput } from '../../store/audit-log.ts';
import { jmlErrorFromDriver } from '../../store/driver-errors.ts';
import type { ApiDeps, InboundPort } from '../api-deps.ts';
import { statusFor } from '../error-mapper.ts';
import { findUnstorableText } from '../request-text.ts';
import { SCIM_LIMITS } from './scim-discovery.ts';
import { SCIM_MESSAGES } from './scim-representation.ts';

export const SCIM_PREFIX = '/scim/v2';
export const SCIM_MEDIA_TYPE = 'application/scim+json';

type AnyZod = z.ZodType;

export interface ScimRouteContext<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** The token's source, name and scopes: every route but an unknown path has one. */
  readonly caller: ScimCaller;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly deps: ApiDeps;
  readonly inbound: InboundPort;
}

export interface ScimRouteDefinition<P extends AnyZod = AnyZod, Q extends AnyZod = AnyZod, B extends AnyZod = AnyZod> {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Fastify path syntax, under /scim/v2 (`/Users/:id`). */
  readonly url: string;
  readonly summary: string;
  /** `scim:read`: a read or a write token; `scim:write`: a write token only. */
  readonly scope: ScimScope;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** A check that answers before validation: a Bulk with too many operations is 413 tooMany, not a 400 about its body. */
  readonly precheck?: (request: FastifyRequest) => void;
  /** The status of a success, for the OpenAPI document (a handler may answer another: 201, 202, 204, 304). */
  readonly status: number;
  handler(ctx: ScimRouteContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown>;
}

/** Declares a SCIM route with inferred types. @example defineScimRoute({ method: 'GET', url: '/Users', scope: 'scim:read', … }) */
export function defineScimRoute<P extends AnyZod, Q extends AnyZod, B extends AnyZod>(def: ScimRouteDefinition<P, Q, B>): ScimRouteDefinition {
  return def as unknown as ScimRouteDefinition;
}

/** Whether a caller's scopes allow a route's: a write token may also read. */
export function scopeAllows(scopes: readonly ScimScope[], needed: ScimScope): boolean {
  return scopes.includes(needed) || (needed === 'scim:read' && scopes.includes('scim:write'));
}

/** The base URL clients reach this provider at (for Location and meta.location). */
export function scimBase(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}${SCIM_PREFIX}`;
}

/** `Jml-Dry-Run: true` or `?dryRun=true`: answer with the diff and write nothing. */
export function dryRunOf(request: FastifyRequest): boolean {
  const header = request.headers['jml-dry-run'];
  const query = (request.query as Record<string, unknown> | undefined)?.dryRun;
  return String(header ?? '').toLowerCase() === 'true' || String(query ?? '').toLowerCase() === 'true';
}

/** Validates a request part; a problem is SCIM's invalidValue (or invalidSyntax for a body that is not an object). */
export function parsePart<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const unstorable = findUnstorableText(value);
  if (unstorable) throw new JmlError('invalid_input', `${where}${unstorable.path ? `.${unstorable.path}` : ''}: ${unstorable.message}`, { details: { scimType: 'invalidValue' } });
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')} ${i.message}`).join('; ');
  throw new JmlError('invalid_input', `invalid ${where}: ${problems}`, { details: { scimType: where === 'body' ? 'invalidSyntax' : 'invalidValue' } });
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
  const fe = error as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const scimType = fe.statusCode === 413 ? undefined : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? undefined : 'invalidSyntax';
    const detail = fe.statusCode === 413 ? `the request body is larger than ${SCIM_LIMITS.maxPayloadSize} bytes` : String(fe.message);
    return { status: fe.statusCode, body: { schemas: [SCIM_MESSAGES.error], status: String(fe.statusCode), ...(scimType ? { scimType } : {}), detail } };
  }
  return { status: 500, body: { schemas: [SCIM_MESSAGES.error], status: '500', detail: 'internal error' } };
}

/**
 * Registers SCIM routes on the plugin's scope. The plugin's hook has already
 * authenticated the token (401) and counted it (429); here the route's scope is
 * checked (403), then params, query and body are validated and the handler runs.
 */
export function registerScimRoutes(app: FastifyInstance, deps: ApiDeps, inbound: InboundPort, routes: readonly ScimRouteDefinition[]): void {
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.url,
      handler: async (request, reply) => {
        const caller = request.scimCaller;
        if (!caller) throw new JmlError('unauthenticated', 'no SCIM bearer token');
        if (!scopeAllows(caller.scopes, route.scope)) {
          throw new JmlError('forbidden', route.scope === 'scim:write' ? `token ${caller.name} may only read (scope scim:read); writing needs scim:write` : `token ${caller.name} has no SCIM scope`);
        }
        route.precheck?.(request);
        const ctx: ScimRouteContext<unknown, unknown, unknown> = {
          params: route.params ? parsePart(route.params, request.params, 'params') : undefined,
          query: route.query ? parsePart(route.query, request.query, 'query') : undefined,
          body: route.body ? parsePart(route.body, request.body, 'body') : undefined,
          caller,
          request,
          reply: reply.status(route.status),
          deps,
          inbound,
        };
        return route.handler(ctx as never);
      },
    });
  }
}

/**
 * The `scim.request` audit entry of a request that no applied push audited: the token (never its secret),
 * the method, path and answer. Written by the SCIM plugin once the answer is sent, or — a synchronous Bulk
 * that recorded nothing — in its last push's transaction, with the 200 it answers.
 */
export function scimRequestAudit(request: FastifyRequest, status: number): AuditEntryInput {
  const caller = request.scimCaller;
  return {
    actor: caller?.actor ?? 'anonymous',
    action: 'scim.request',
    subject: caller ? `source:${caller.source}` : 'scim',
    trigger: `api:${request.id}`,
    details: { method: request.method, path: request.url.split('?')[0], status, ...(dryRunOf(request) ? { dryRun: true } : {}) },
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    scimCaller?: ScimCaller;
    /** The request is audited already: an applied push wrote entries with trigger `api:<request id>`, or its `scim.request` entry was written with its push. */
    scimAudited?: boolean;
  }
}
