/**
 * Proving a second factor: after the password (the session's `verify` stage),
 * again for a step-up, or with a passkey alone (passwordless, user
 * verification required). Each attempt is counted by the sign-in limiter like
 * a password; each success and failure is audited, a recovery code's use
 * too. Also the second admin's side of `jml users reset-mfa`.
 */
import { z } from 'zod';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { FastifyRequest } from 'fastify';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { ApiDeps } from '../api-deps.ts';
import { createCredentialStore } from '../auth/credential-store.ts';
import { DEFAULT_MFA_POLICY, mfaStage, userVerificationFor } from '../auth/mfa-policy.ts';
import { confirmMfaReset, pendingMfaResets } from '../auth/mfa-reset.ts';
import { authenticationOptions, verifyPasskey } from '../auth/passkey-factor.ts';
import type { Principal } from '../auth/principal.ts';
import { recoveryCodesLeft, useRecoveryCode } from '../auth/recovery-codes.ts';
import { createSignInLimiter, DEFAULT_SIGN_IN_LIMIT, signInLimits } from '../auth/sign-in-limiter.ts';
import { verifyTotp } from '../auth/totp-factor.ts';
import { boundedString } from '../request-limits.ts';
import { defineRoute, type RouteDefinition } from '../route-definition.ts';
import { SESSION_COOKIE, sessionOf, sessionView, setSessionCookie } from './auth-routes.ts';
import { relyingPartyOf, reserveCodeAttempt, webauthnResponse } from './mfa-routes.ts';

type Method = 'passkey' | 'totp' | 'recovery_code';

/** The routes. */
export function mfaVerifyRoutes(deps: ApiDeps): RouteDefinition[] {
  const policy = deps.mfa ?? DEFAULT_MFA_POLICY;
  const credentials = createCredentialStore(deps);
  const limiter = createSignInLimiter(deps.db, signInLimits(deps.signInLimit ?? DEFAULT_SIGN_IN_LIMIT));
  const auditAs = (actor: string, userId: string, action: string, request: FastifyRequest, details: Record<string, unknown>) =>
    appendAudit(deps.db, { actor, action, subject: `user:${userId}`, trigger: `api:${request.id}`, details }, deps.now());
  const actorOf = (p: Principal) => p.identityKey ?? `user:${p.username}`;

  /**
   * One attempt at a second factor for the signed-in session: reserved on the limiter, checked, audited;
   * on success the session records the proof and the updated session is returned.
   */
  async function attempt(principal: Principal, method: Method, request: FastifyRequest, check: () => Promise<boolean>) {
    if (principal.via !== 'session') throw new JmlError('forbidden', 'a second factor is proven in a browser session, not with an API token');
    const purpose = mfaStage(principal, policy) === 'verify' ? 'sign-in' : 'step-up';
    const reservation = await reserveCodeAttempt(deps, limiter, principal.username, request);
    if (!(await check())) {
      await auditAs(actorOf(principal), principal.userId, 'mfa.verify_failed', request, { username: principal.username, method, purpose, ip: request.ip });
      throw new JmlError('forbidden', method === 'passkey' ? 'the passkey was not accepted' : 'that code is wrong or was already used', { details: { field: method === 'passkey' ? 'passkey' : 'code' } });
    }
    await limiter.succeeded(reservation);
    const token = request.cookies[SESSION_COOKIE]!;
    await credentials.recordFactor(token, deps.now());
    await auditAs(actorOf(principal), principal.userId, 'mfa.verified', request, { username: principal.username, method, purpose });
    if (method === 'recovery_code') {
      await auditAs(actorOf(principal), principal.userId, 'mfa.recovery_code_used', request, { username: principal.username, left: await recoveryCodesLeft(deps.db, principal.userId) });
    }
    const updated = await credentials.resolveSession(token);
    if (!updated) throw new JmlError('unauthenticated', 'the session ended');
    return sessionOf(updated, deps.oidc !== null, policy);
  }

  const verifyRoute = { tag: 'mfa', access: 'signed_in', beforePasswordChange: true, mfaStages: ['verify'], response: sessionView } as const;

  return [
    defineRoute({
      ...verifyRoute,
      method: 'POST',
      url: '/api/auth/mfa/passkey/options',
      summary: 'WebAuthn request options for the caller’s own passkeys (second factor after the password, or a step-up) and the challenge id to send back.',
      response: z.object({ challengeId: z.string(), options: z.record(z.string(), z.unknown()) }),
      async handler({ principal }) {
        const made = await authenticationOptions(deps.db, relyingPartyOf(deps), principal.userId, userVerificationFor(principal.roles), deps.now());
        return { challengeId: made.challengeId, options: made.options as unknown as Record<string, unknown> };
      },
    }),
    defineRoute({
      ...verifyRoute,
      method: 'POST',
      url: '/api/auth/mfa/passkey',
      summary: 'Proves the second factor with one of the caller’s passkeys; returns the session. Counted by the sign-in limiter; failures are audited.',
      body: z.object({ challengeId: boundedString('key'), response: webauthnResponse }).strict(),
      handler: ({ body, principal, request }) =>
        attempt(principal, 'passkey', request, async () => {
          const response = body.response as unknown as AuthenticationResponseJSON;
          const ok = await verifyPasskey(deps.db, relyingPartyOf(deps), principal.userId, { challengeId: body.challengeId, response }, userVerificationFor(principal.roles) === 'required', deps.now());
          return ok !== null;
        }),
    }),
    defineRoute({
      ...verifyRoute,
      method: 'POST',
      url: '/api/auth/mfa/totp',
      summary: 'Proves the second factor with a code from the authenticator app (one step either side of now; a code is never accepted twice); returns the session. Counted by the sign-in limiter.',
      body: z.object({ code: z.string().max(20) }).strict(),
      handler: ({ body, principal, request }) =>
        attempt(principal, 'totp', request, () => verifyTotp(deps.db, deps.keyring, { id: principal.userId, username: principal.username }, body.code, deps.now()).catch((error: unknown) => {
          if (error instanceof JmlError && error.code === 'not_found') return false;
          throw error;
        })),
    }),
    defineRoute({
      ...verifyRoute,
      method: 'POST',
      url: '/api/auth/mfa/recovery-code',
      summary: 'Proves the second factor with a recovery code, which is then used up (audited); returns the session. Counted by the sign-in limiter.',
      body: z.object({ code: z.string().max(40) }).strict(),
      handler: ({ body, principal, request }) => attempt(principal, 'recovery_code', request, () => useRecoveryCode(deps.db, principal.userId, body.code, deps.now())),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/auth/passkey/options',
      summary: 'Starts a passwordless sign-in: WebAuthn request options for any discoverable passkey (user verification required) and the challenge id.',
      tag: 'auth',
      access: 'public',
      response: z.object({ challengeId: z.string(), options: z.record(z.string(), z.unknown()) }),
      async handler() {
        const made = await authenticationOptions(deps.db, relyingPartyOf(deps), null, 'required', deps.now());
        return { challengeId: made.challengeId, options: made.options as unknown as Record<string, unknown> };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/auth/passkey/sign-in',
      summary: 'Signs in with a passkey alone (it proves both factors: possession and the PIN or biometric); sets the session cookie. Counted by the sign-in limiter.',
      tag: 'auth',
      access: 'public',
      body: z.object({ challengeId: boundedString('key'), response: webauthnResponse }).strict(),
      response: sessionView,
      async handler({ body, request, reply }) {
        const owner = await deps.db.selectFrom('mfa_passkeys as p').innerJoin('console_users as u', 'u.id', 'p.user_id').select(['u.id', 'u.username', 'u.identity_key', 'u.status']).where('p.credential_id', '=', body.response.id).executeTakeFirst();
        const username = owner?.username ?? 'passkey:unknown';
        const reservation = await reserveCodeAttempt(deps, limiter, username, request);
        const verified = await verifyPasskey(deps.db, relyingPartyOf(deps), null, { challengeId: body.challengeId, response: body.response as unknown as AuthenticationResponseJSON }, true, deps.now());
        const principal = verified && owner?.status === 'active' ? await (async () => {
          const session = await credentials.createSession(verified.userId, deps.now());
          const p = await credentials.resolveSession(session.token);
          if (p) setSessionCookie(request, reply, session.token);
          else await credentials.revokeSession(session.token);
          return p;
        })() : null;
        const actor = owner?.identity_key ?? `user:${username}`;
        await appendAudit(deps.db, { actor, action: principal ? 'auth.signed_in' : 'auth.sign_in_failed', subject: owner ? `user:${owner.id}` : 'passkey:unknown', trigger: `api:${request.id}`, details: { ip: request.ip, via: 'passkey' } }, deps.now());
        if (!principal) throw new JmlError('unauthenticated', 'the passkey was not accepted, or its account may not sign in');
        await limiter.succeeded(reservation);
        return sessionOf(principal, deps.oidc !== null, policy);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/mfa-resets',
      summary: 'Sign-in resets filed with `jml users reset-mfa` that wait for a second admin’s confirmation.',
      tag: 'admin',
      access: ['admin'],
      response: z.object({ items: z.array(z.object({ id: z.string(), userId: z.string(), username: z.string(), requestedBy: z.string(), requestedAt: z.string(), expiresAt: z.string() })) }),
      handler: async () => ({ items: await pendingMfaResets(deps.db, deps.now()) }),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/mfa-resets/:id/confirm',
      summary: 'Confirms a pending sign-in reset as a second admin (not one’s own): the user’s passkeys, authenticator app and recovery codes are removed and their sessions end. A step-up action.',
      tag: 'admin',
      access: ['admin'],
      recentSignIn: true,
      stepUp: true,
      params: z.object({ id: boundedString('key') }),
      response: z.object({ username: z.string() }),
      async handler({ params, principal, actor, request, deny }) {
        try {
          const done = await confirmMfaReset(deps.db, params.id, { userId: principal.userId, actor }, `api:${request.id}`, deps.now());
          deps.principalCache?.forgetWhere({ userId: principal.userId });
          return done;
        } catch (error) {
          if (error instanceof JmlError && error.code === 'forbidden') return deny('forbidden', `mfa-reset:${params.id}`, error.message);
          throw error;
        }
      },
    }),
  ];
}
