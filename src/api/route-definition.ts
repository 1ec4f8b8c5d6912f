/**
 * A route is declared once: method, path, zod schemas for params, query, body
 * and response, who may call it, and a handler. The same declaration
 * validates requests, authorizes them and feeds the OpenAPI document.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { JmlError } from '../domain/errors.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { ApiDeps } from './api-deps.ts';
import { hasAnyRole, type Principal, type Role } from './auth/principal.ts';
import { DEFAULT_MFA_POLICY, mfaStage, stepUpNeeded, type MfaStage } from './auth/mfa-policy.ts';
import { findUnstorableText } from './request-text.ts';
import { boundedString } from './request-limits.ts';

type AnyZod = z.ZodType;

/** `public`: anyone; `signed_in`: any principal; a role list: any of them. */
export type RouteAccess = 'public' | 'signed_in' | readonly Role[];

export interface RouteContext<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly principal: Principal;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly deps: ApiDeps;
  /** Records the refusal in the audit trail, then throws: 404 hides that the thing exists, 403 says it does. */
  deny(as: 'forbidden' | 'not_found', subject: string, reason: string): Promise<never>;
  /** The audit actor for this principal. */
  readonly actor: string;
}

export interface RouteDefinition<P extends AnyZod = AnyZod, Q extends AnyZod = AnyZod, B extends AnyZod = AnyZod, R extends AnyZod = AnyZod> {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Fastify path syntax (`/api/people/:key`). */
  readonly url: string;
  readonly summary: string;
  readonly tag: string;
  readonly access: RouteAccess;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  readonly response: R;
  /** Status of a successful response (200 unless said). */
  readonly status?: number;
  /**
   * Needs a browser session whose password sign-in is recent (`deps.recentSignInMs`, default 15 minutes),
   * not an API token: user and role administration, so a stolen token or an unattended console cannot make admins.
   */
  readonly recentSignIn?: true;
  /** Allowed while the caller must still choose a new password (after an administrator's reset). */
  readonly beforePasswordChange?: true;
  /**
   * Allowed to a half-signed-in session in these stages (see mfa-policy.ts): `enrol` (the policy requires a
   * second factor the user does not have yet) or `verify` (password given, second factor not yet). Every other
   * route refuses such a session.
   */
  readonly mfaStages?: readonly Exclude<MfaStage, 'complete'>[];
  /**
   * A sensitive action: a browser session of a user with a second factor must have proven it within the
   * step-up window (`deps.mfa.stepUpMs`, default 15 minutes), else 403 with `details.stepUp`.
   */
  readonly stepUp?: true;
  /** Largest request body in bytes, when this route takes more than the server's default (uploads). */
  readonly bodyLimit?: number;
  handler(ctx: RouteContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<z.input<R>>;
}

/** Declares a route with inferred types. @example defineRoute({ method: 'GET', url: '/api/x', ... }) */
export function defineRoute<P extends AnyZod, Q extends AnyZod, B extends AnyZod, R extends AnyZod>(def: RouteDefinition<P, Q, B, R>): RouteDefinition {
  return def as unknown as RouteDefinition;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const RECENT_SIGN_IN_MS = 15 * 60_000;

/** Why an API token, or a session signed in longer ago than `maxAgeMs`, is refused; null when the sign-in is recent. */
function recentSignInRefusal(principal: Principal, now: Date, maxAgeMs: number): JmlError | null {
  if (principal.via !== 'session' || principal.signedInAt === null) {
    return new JmlError('forbidden', 'user and role administration needs a signed-in browser session, not an API token');
  }
  // A user with a second factor proves recency by stepping up with it (the route's `stepUp`), not with the password.
  if (principal.mfa.enrolled) return null;
  // A second factor proven since (a step-up) is as recent as a new sign-in.
  const last = Math.max(principal.signedInAt.getTime(), principal.mfa.verifiedAt?.getTime() ?? 0);
  if (now.getTime() - last > maxAgeMs) {
    return new JmlError('forbidden', `user and role administration needs a sign-in within the last ${Math.round(maxAgeMs / 60_000)} minutes: sign in again`, { details: { signInAgain: true } });
  }
  return null;
}

/** Audits and throws when the principal must prove a second factor again before a sensitive action; see mfa-policy.ts. */
export async function requireStepUp(deps: ApiDeps, principal: Principal, what: string, trigger: string): Promise<void> {
  const reason = stepUpNeeded(principal, deps.mfa ?? DEFAULT_MFA_POLICY, deps.now());
  if (reason === null) return;
  await appendAudit(deps.db, { actor: actorOf(principal), action: 'access.denied', subject: what, trigger, details: { reason, stepUp: true, user: principal.username } }, deps.now());
  throw new JmlError('forbidden', reason, { details: { stepUp: true } });
}

export function actorOf(principal: Principal): string {
  return principal.identityKey ?? `user:${principal.username}`;
}

function invalid(where: string, problems: readonly { path: string; message: string }[]): JmlError {
  return new JmlError('invalid_input', `invalid ${where}: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, { details: { problems } });
}

function parse<T extends AnyZod>(schema: T | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const unstorable = findUnstorableText(value);
  if (unstorable) throw invalid(where, [{ path: [where, unstorable.path].filter((p) => p !== '').join('.'), message: unstorable.message }]);
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw invalid(where, result.error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message })));
}

/** Registers routes on the server: authentication check, CSRF for sessions, token scopes, roles, validation. */
export function registerRoutes(app: FastifyInstance, deps: ApiDeps, routes: readonly RouteDefinition[]): void {
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.url,
      ...(route.bodyLimit ? { bodyLimit: route.bodyLimit } : {}),
      handler: async (request, reply) => {
        const principal = request.principal;
        if (route.access !== 'public') {
          if (!principal) throw new JmlError('unauthenticated', 'sign in first');
          if (!SAFE_METHODS.has(route.method)) {
            if (principal.via === 'session' && request.headers['x-csrf-token'] !== principal.csrfToken) {
              throw new JmlError('forbidden', 'missing or wrong CSRF token (send the x-csrf-token header from /api/auth/session)');
            }
            if (principal.via === 'token' && !principal.scopes?.includes('write')) {
              throw new JmlError('forbidden', 'this API token is read-only');
            }
          }
        }
        const actor = principal ? actorOf(principal) : 'anonymous';
        const deny = async (as: 'forbidden' | 'not_found', subject: string, reason: string): Promise<never> => {
          await appendAudit(deps.db, { actor, action: 'access.denied', subject, trigger: `api:${request.id}`, details: { method: route.method, route: route.url, reason, user: principal?.username ?? null } }, deps.now());
          throw new JmlError(as, as === 'not_found' ? `not found: ${subject}` : `not allowed: ${reason}`);
        };
        const stage = principal ? mfaStage(principal, deps.mfa ?? DEFAULT_MFA_POLICY) : 'complete';
        if (stage !== 'complete' && !route.mfaStages?.includes(stage)) {
          throw new JmlError('forbidden', stage === 'enrol' ? 'your role requires a second factor: set up a passkey or an authenticator app first' : 'confirm your sign-in with your second factor first', { details: { mfa: stage } });
        }
        if (principal?.mustChangePassword && !route.beforePasswordChange) {
          throw new JmlError('forbidden', 'your password was reset: choose a new one first (POST /api/me/password)', { details: { mustChangePassword: true } });
        }
        if (Array.isArray(route.access) && !hasAnyRole(principal!, route.access as readonly Role[])) {
          await deny('forbidden', `route:${route.method} ${route.url}`, `needs one of the roles ${(route.access as readonly Role[]).join(', ')}`);
        }
        const notRecent = route.recentSignIn ? recentSignInRefusal(principal!, deps.now(), deps.recentSignInMs ?? RECENT_SIGN_IN_MS) : null;
        if (notRecent) {
          await appendAudit(deps.db, { actor, action: 'access.denied', subject: `route:${route.method} ${route.url}`, trigger: `api:${request.id}`, details: { method: route.method, route: route.url, reason: notRecent.message, user: principal!.username } }, deps.now());
          throw notRecent;
        }
        if (route.stepUp) await requireStepUp(deps, principal!, `route:${route.method} ${route.url}`, `api:${request.id}`);
        const ctx: RouteContext<unknown, unknown, unknown> = {
          params: parse(route.params, request.params, 'params'),
          query: parse(route.query, request.query, 'query'),
          body: parse(route.body, request.body, 'body'),
          principal: principal!,
          request,
          reply,
          deps,
          deny,
          actor,
        };
        const result = await route.handler(ctx as never);
        reply.status(route.status ?? 200);
        return result;
      },
    });
  }
}

/** Paging parameters shared by every list: opaque cursor and a bounded limit. */
export const pageQuery = z.object({
  cursor: boundedString('key').optional().describe('from the previous page’s nextCursor'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** The cursor of a list ordered by a sequence number: the last `seq` seen. */
export const sequenceCursor = z.string().max(15).regex(/^[0-9]{1,15}$/, 'not a cursor from this list').optional().describe('from the previous page’s nextCursor');

/** The cursor of a list ordered by time: the last instant seen, as ISO 8601. */
export const instantCursor = z.iso.datetime({ offset: true, message: 'not a cursor from this list' }).max(40).optional().describe('from the previous page’s nextCursor');

export function page<T extends AnyZod>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}
