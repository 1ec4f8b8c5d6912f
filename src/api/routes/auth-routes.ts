/**
 * Sign-in (local password or OIDC), sign-out, the current session, and the
 * caller's API tokens.
 */
import { z } from 'zod';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { ApiDeps } from '../api-deps.ts';
import { createCredentialStore, SESSION_TTL_MS } from '../auth/credential-store.ts';
import { ROLES, TOKEN_SCOPES, type Principal } from '../auth/principal.ts';
import { createHashingGate, defaultHashingGateOptions } from '../auth/hashing-gate.ts';
import { createSignInLimiter, DEFAULT_SIGN_IN_LIMIT, signInLimits } from '../auth/sign-in-limiter.ts';
import { checkPassword } from '../auth/user-store.ts';
import { DEFAULT_MFA_POLICY, mfaRequired, mfaStage, type MfaPolicy } from '../auth/mfa-policy.ts';
import { defineRoute, type RouteDefinition } from '../route-definition.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { boundedArray, boundedString } from '../request-limits.ts';

export const SESSION_COOKIE = 'jml_session';

export const sessionView = z.object({
  user: z.object({ username: z.string(), displayName: z.string(), identityKey: z.string().nullable(), roles: z.array(z.enum(ROLES)), ownedSystems: z.array(z.string()) }),
  csrfToken: z.string().nullable(),
  oidc: z.boolean(),
  mustChangePassword: z.boolean(),
  mfa: z.object({ stage: z.enum(['enrol', 'verify', 'complete']), required: z.boolean() }),
});

/** What the console is told of a session; `policy` decides the multi-factor stage. */
export function sessionOf(principal: Principal, oidc: boolean, policy: MfaPolicy = DEFAULT_MFA_POLICY): z.input<typeof sessionView> {
  return {
    mfa: { stage: mfaStage(principal, policy), required: mfaRequired(principal, policy) },
    user: { username: principal.username, displayName: principal.displayName, identityKey: principal.identityKey, roles: [...principal.roles], ownedSystems: [...principal.ownedSystems] },
    csrfToken: principal.csrfToken,
    oidc,
    mustChangePassword: principal.mustChangePassword,
  };
}

/** Sets the session cookie: HttpOnly, SameSite=Lax (OIDC returns by top-level GET), Secure under TLS. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string): void {
  reply.setCookie(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'lax', secure: request.protocol === 'https', maxAge: SESSION_TTL_MS / 1000 });
}

const tokenInfo = z.object({ id: z.string(), name: z.string(), scopes: z.array(z.enum(TOKEN_SCOPES)), createdAt: z.string(), expiresAt: z.string(), lastUsedAt: z.string().nullable(), revoked: z.boolean() });

/** The routes; `deps` gives the store and clock. */
export function authRoutes(deps: ApiDeps): RouteDefinition[] {
  const credentials = createCredentialStore(deps);
  const limiter = createSignInLimiter(deps.db, signInLimits(deps.signInLimit ?? DEFAULT_SIGN_IN_LIMIT));
  const hashing = createHashingGate(deps.signInHashing ?? defaultHashingGateOptions());
  return [
    defineRoute({
      method: 'POST',
      url: '/api/auth/sign-in',
      summary: 'Sign in with a local account; sets the session cookie. Rate limited per (username, address), per username and per address (429); 503 when too many sign-ins wait for password hashing.',
      tag: 'auth',
      access: 'public',
      body: z.object({ username: boundedString('key').min(1), password: boundedString('password').min(1) }).strict(),
      response: sessionView,
      async handler({ body, request, reply }) {
        // Reserved before hashing, atomically: parallel guesses cannot pass the check while earlier ones still hash.
        const reservation = await limiter.reserve(body.username, request.ip, deps.now());
        if ('retryAfterMs' in reservation) throw new JmlError('rate_limited', 'too many failed sign-ins; try again later', { retryable: true, retryAfterMs: reservation.retryAfterMs });
        const slot = hashing.tryEnter();
        if (!slot) {
          // Not the caller's failure: the attempt is given back.
          await limiter.cancel(reservation);
          throw new JmlError('unavailable', 'too many sign-ins at once; try again in a moment', { retryable: true, retryAfterMs: 1000 });
        }
        const release = await slot;
        const { user, named } = await checkPassword(deps.db, body.username, body.password).finally(release);
        const principal = user && user.status === 'active' ? await (async () => {
          const session = await credentials.createSession(user.id);
          const p = await credentials.resolveSession(session.token);
          if (p) setSessionCookie(request, reply, session.token);
          else await credentials.revokeSession(session.token);
          return p;
        })() : null;
        // What someone typed as a username is not written to the append-only audit trail unless it names a user:
        // a password pasted into the username field would otherwise stay there for good.
        await appendAudit(deps.db, named
          ? { actor: named.identityKey ?? `user:${named.username}`, action: principal ? 'auth.signed_in' : 'auth.sign_in_failed', subject: `user:${named.id}`, trigger: `api:${request.id}`, details: { ip: request.ip } }
          : { actor: 'anonymous', action: 'auth.sign_in_failed', subject: 'user:unknown', trigger: `api:${request.id}`, details: { ip: request.ip, reason: 'no such user' } }, deps.now());
        if (!principal) throw new JmlError('unauthenticated', 'wrong username or password, or the account may not sign in');
        await limiter.succeeded(reservation);
        return sessionOf(principal, deps.oidc !== null, deps.mfa);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/auth/sign-out',
      summary: 'Ends the current session.',
      tag: 'auth',
      access: 'signed_in',
      beforePasswordChange: true,
      mfaStages: ['enrol', 'verify'],
      response: z.object({ ok: z.literal(true) }),
      async handler({ request, reply }) {
        const token = request.cookies[SESSION_COOKIE];
        if (token) await credentials.revokeSession(token);
        reply.clearCookie(SESSION_COOKIE, { path: '/' });
        return { ok: true as const };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/auth/session',
      summary: 'Who is signed in, their effective roles, whether they must change their password, and the CSRF token to send as x-csrf-token on changes.',
      tag: 'auth',
      access: 'signed_in',
      beforePasswordChange: true,
      mfaStages: ['enrol', 'verify'],
      response: sessionView,
      handler: async ({ principal }) => sessionOf(principal, deps.oidc !== null, deps.mfa),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/me/tokens',
      summary: 'The caller’s API tokens (never their values).',
      tag: 'auth',
      access: 'signed_in',
      response: z.object({ items: z.array(tokenInfo) }),
      handler: async ({ principal }) => ({ items: (await credentials.listApiTokens(principal.userId)).map((t) => ({ ...t, scopes: [...t.scopes] })) }),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/me/tokens',
      summary: 'Creates an API token for automation; its value is returned once. It acts with the caller’s roles, narrowed by its scopes.',
      tag: 'auth',
      access: 'signed_in',
      status: 201,
      body: z.object({ name: z.string().min(1).max(100), scopes: boundedArray(z.enum(TOKEN_SCOPES), TOKEN_SCOPES.length).min(1), expiresInDays: z.number().int().min(1).max(365).default(90) }).strict(),
      response: z.object({ token: z.string(), info: tokenInfo }),
      async handler({ body, principal, actor, request }) {
        if (principal.via === 'token') throw new JmlError('forbidden', 'an API token cannot create API tokens');
        const expiresAt = new Date(deps.now().getTime() + body.expiresInDays * 86_400_000);
        const created = await credentials.createApiToken(principal.userId, body.name, body.scopes, expiresAt);
        await appendAudit(deps.db, { actor, action: 'api_token.created', subject: `user:${principal.userId}`, trigger: `api:${request.id}`, after: { id: created.info.id, name: body.name, scopes: body.scopes, expiresAt: created.info.expiresAt } }, deps.now());
        return { token: created.token, info: { ...created.info, scopes: [...created.info.scopes] } };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/me/tokens/:id',
      summary: 'Revokes one of the caller’s API tokens.',
      tag: 'auth',
      access: 'signed_in',
      params: z.object({ id: boundedString('key') }),
      response: z.object({ ok: z.literal(true) }),
      async handler({ params, principal, actor, request }) {
        await credentials.revokeApiToken(principal.userId, params.id);
        await appendAudit(deps.db, { actor, action: 'api_token.revoked', subject: `user:${principal.userId}`, trigger: `api:${request.id}`, details: { id: params.id } }, deps.now());
        return { ok: true as const };
      },
    }),
  ];
}
