/**
 * A user's own sign-in methods: passkeys, an authenticator app (TOTP) and
 * recovery codes. Enrolment is open to a complete session and to one the
 * policy sends to enrolment (no factor yet); never to a session that has only
 * given the password of a user who has a factor, or that password alone would
 * let someone add their own passkey. The first factor enrolled completes the
 * session and comes with ten recovery codes, shown once. Removing a factor or
 * replacing the codes is a step-up action. Every change is audited.
 */
import { z } from 'zod';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/database.ts';
import type { ApiDeps } from '../api-deps.ts';
import { createCredentialStore } from '../auth/credential-store.ts';
import { DEFAULT_MFA_POLICY, mfaRequired, mfaStage, userVerificationFor } from '../auth/mfa-policy.ts';
import { listPasskeys, registerPasskey, registrationOptions, removePasskey, type RelyingParty } from '../auth/passkey-factor.ts';
import type { Principal } from '../auth/principal.ts';
import { issueRecoveryCodes, recoveryCodesLeft } from '../auth/recovery-codes.ts';
import { beginTotpEnrolment, removeTotp, verifyTotp } from '../auth/totp-factor.ts';
import { createSignInLimiter, DEFAULT_SIGN_IN_LIMIT, signInLimits } from '../auth/sign-in-limiter.ts';
import { boundedString } from '../request-limits.ts';
import { defineRoute, type RouteDefinition } from '../route-definition.ts';
import type { FastifyRequest } from 'fastify';
import { SESSION_COOKIE } from './auth-routes.ts';

const passkeyView = z.object({ id: z.string(), name: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable(), deviceType: z.string(), backedUp: z.boolean() });

/** A WebAuthn credential as the browser returns it; SimpleWebAuthn checks the inside. */
export const webauthnResponse = z
  .object({
    id: boundedString('attribute').min(1),
    rawId: boundedString('attribute').min(1),
    type: z.literal('public-key'),
    // attestationObject, clientDataJSON, signature… as base64url; transports as a list; publicKeyAlgorithm a number.
    response: z.record(z.string().max(64), z.union([boundedString('text'), z.number(), z.array(boundedString('key')).max(10)])),
    clientExtensionResults: z.record(z.string().max(64), z.unknown()).default({}),
    authenticatorAttachment: z.string().max(40).optional(),
  })
  .strict();

/** The relying party, or 503 when this server was started without one. */
export function relyingPartyOf(deps: ApiDeps): RelyingParty {
  const rp = deps.relyingParty?.();
  if (!rp) throw new JmlError('unavailable', 'passkeys are not configured on this server (set JML_PUBLIC_URL to the address people use)');
  return rp;
}

/** Reserves a code attempt on the sign-in limiter (the same counts as passwords), or throws 429. */
export async function reserveCodeAttempt(deps: ApiDeps, limiter: ReturnType<typeof createSignInLimiter>, username: string, request: FastifyRequest) {
  const reservation = await limiter.reserve(username, request.ip, deps.now());
  if ('retryAfterMs' in reservation) throw new JmlError('rate_limited', 'too many failed sign-in attempts; try again later', { retryable: true, retryAfterMs: reservation.retryAfterMs });
  return reservation;
}

/** The routes. */
export function mfaRoutes(deps: ApiDeps): RouteDefinition[] {
  const policy = deps.mfa ?? DEFAULT_MFA_POLICY;
  const credentials = createCredentialStore(deps);
  const limiter = createSignInLimiter(deps.db, signInLimits(deps.signInLimit ?? DEFAULT_SIGN_IN_LIMIT));
  const audit = (principal: Principal, action: string, request: FastifyRequest, details: Record<string, unknown> = {}, db: Kysely<Database> = deps.db) =>
    appendAudit(db, { actor: principal.identityKey ?? `user:${principal.username}`, action, subject: `user:${principal.userId}`, trigger: `api:${request.id}`, details: { username: principal.username, ...details } }, deps.now());

  function sessionOnly(principal: Principal): void {
    if (principal.via !== 'session') throw new JmlError('forbidden', 'sign-in methods are managed from a browser session, not with an API token');
  }

  /** After a factor was enrolled: the session has just proven it, and a user without recovery codes gets ten. */
  async function afterEnrolment(principal: Principal, request: FastifyRequest): Promise<string[] | null> {
    const token = request.cookies[SESSION_COOKIE];
    if (token) await credentials.recordFactor(token, deps.now());
    deps.principalCache?.forgetWhere({ userId: principal.userId });
    // Checked, issued and audited in one transaction: the codes never exist without their audit entry.
    return deps.db.transaction().execute(async (trx) => {
      if ((await recoveryCodesLeft(trx, principal.userId)) > 0) return null;
      const codes = await issueRecoveryCodes(trx, principal.userId, deps.now());
      await audit(principal, 'mfa.recovery_codes_issued', request, { count: codes.length }, trx);
      return codes;
    });
  }

  /** Refuses removing the last factor of a user the policy requires to have one. */
  async function assertNotLast(principal: Principal, removing: 'passkey' | 'totp'): Promise<void> {
    if (!mfaRequired(principal, policy)) return;
    const passkeys = (await listPasskeys(deps.db, principal.userId)).length;
    const totp = await deps.db.selectFrom('mfa_totp').select('user_id').where('user_id', '=', principal.userId).where('confirmed_at', 'is not', null).executeTakeFirst();
    const left = passkeys + (totp ? 1 : 0) - 1;
    if (left < 1) throw new JmlError('conflict', `your role requires a second factor: add another before removing your ${removing === 'totp' ? 'authenticator app' : 'last passkey'}`);
  }

  return [
    defineRoute({
      method: 'GET',
      url: '/api/me/mfa',
      summary: 'The caller’s sign-in methods: stage of this session (enrol, verify, complete), whether the policy requires a second factor, passkeys, authenticator app, recovery codes left, and which methods this server offers.',
      tag: 'mfa',
      access: 'signed_in',
      beforePasswordChange: true,
      mfaStages: ['enrol', 'verify'],
      response: z.object({
        stage: z.enum(['enrol', 'verify', 'complete']),
        required: z.boolean(),
        passkeys: z.array(passkeyView),
        totp: z.boolean(),
        recoveryCodesLeft: z.number().int(),
        stepUpMinutes: z.number(),
        available: z.object({ passkeys: z.boolean(), totp: z.boolean() }),
      }),
      async handler({ principal }) {
        const stage = mfaStage(principal, policy);
        // Before the second factor only the kinds of method are told, not their names.
        const passkeys = await listPasskeys(deps.db, principal.userId);
        const totp = await deps.db.selectFrom('mfa_totp').select('user_id').where('user_id', '=', principal.userId).where('confirmed_at', 'is not', null).executeTakeFirst();
        return {
          stage,
          required: mfaRequired(principal, policy),
          passkeys: stage === 'verify' ? passkeys.map((p) => ({ ...p, name: 'passkey' })) : passkeys,
          totp: totp !== undefined,
          recoveryCodesLeft: await recoveryCodesLeft(deps.db, principal.userId),
          stepUpMinutes: Math.round(policy.stepUpMs / 60_000),
          available: { passkeys: deps.relyingParty?.() !== undefined, totp: Boolean(deps.keyring) },
        };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/me/passkeys/options',
      summary: 'Starts registering a passkey: WebAuthn creation options (attestation none; user verification required for admin and security) and the challenge id to send back.',
      tag: 'mfa',
      access: 'signed_in',
      beforePasswordChange: true,
      mfaStages: ['enrol'],
      response: z.object({ challengeId: z.string(), options: z.record(z.string(), z.unknown()) }),
      async handler({ principal }) {
        sessionOnly(principal);
        const made = await registrationOptions(deps.db, relyingPartyOf(deps), { id: principal.userId, username: principal.username, displayName: principal.displayName }, userVerificationFor(principal.roles), deps.now());
        return { challengeId: made.challengeId, options: made.options as unknown as Record<string, unknown> };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/me/passkeys',
      summary: 'Finishes registering a passkey. The first factor of a user also returns ten recovery codes, shown once.',
      tag: 'mfa',
      access: 'signed_in',
      beforePasswordChange: true,
      mfaStages: ['enrol'],
      status: 201,
      body: z.object({ challengeId: boundedString('key'), name: boundedString('name').trim().min(1).default('Passkey'), response: webauthnResponse }).strict(),
      response: z.object({ passkey: passkeyView, recoveryCodes: z.array(z.string()).nullable() }),
      async handler({ body, principal, request }) {
        sessionOnly(principal);
        const passkey = await registerPasskey(deps.db, relyingPartyOf(deps), principal.userId, { challengeId: body.challengeId, name: body.name, response: body.response as unknown as RegistrationResponseJSON }, userVerificationFor(principal.roles) === 'required', deps.now());
        await audit(principal, 'mfa.passkey_registered', request, { passkey: passkey.id, name: passkey.name, deviceType: passkey.deviceType, backedUp: passkey.backedUp });
        return { passkey, recoveryCodes: await afterEnrolment(principal, request) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/me/passkeys/:id',
      summary: 'Removes one of the caller’s passkeys (a step-up action; not the last factor of a user the policy requires to have one).',
      tag: 'mfa',
      access: 'signed_in',
      stepUp: true,
      params: z.object({ id: boundedString('key') }),
      response: z.object({ ok: z.literal(true) }),
      async handler({ params, principal, request }) {
        sessionOnly(principal);
        if (!(await listPasskeys(deps.db, principal.userId)).some((p) => p.id === params.id)) throw new JmlError('not_found', `you have no passkey ${params.id}`);
        await assertNotLast(principal, 'passkey');
        await removePasskey(deps.db, principal.userId, params.id);
        deps.principalCache?.forgetWhere({ userId: principal.userId });
        await audit(principal, 'mfa.passkey_removed', request, { passkey: params.id });
        return { ok: true as const };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/me/totp',
      summary: 'Starts setting up an authenticator app: a new secret, shown once as text and as a QR code (SVG). It counts only once confirmed with a code.',
      tag: 'mfa',
      access: 'signed_in',
      beforePasswordChange: true,
      mfaStages: ['enrol'],
      response: z.object({ secret: z.string(), uri: z.string(), qrSvg: z.string() }),
      async handler({ principal, request }) {
        sessionOnly(principal);
        const enrolment = await beginTotpEnrolment(deps.db, deps.keyring, { id: principal.userId, username: principal.username }, deps.now());
        await audit(principal, 'mfa.totp_setup_started', request);
        return enrolment;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/me/totp/confirm',
      summary: 'Confirms the authenticator app with a current code; the first factor of a user also returns ten recovery codes, shown once. Counted by the sign-in limiter.',
      tag: 'mfa',
      access: 'signed_in',
      beforePasswordChange: true,
      mfaStages: ['enrol'],
      body: z.object({ code: z.string().max(20) }).strict(),
      response: z.object({ recoveryCodes: z.array(z.string()).nullable() }),
      async handler({ body, principal, request }) {
        sessionOnly(principal);
        const reservation = await reserveCodeAttempt(deps, limiter, principal.username, request);
        const ok = await verifyTotp(deps.db, deps.keyring, { id: principal.userId, username: principal.username }, body.code, deps.now(), true);
        if (!ok) {
          await audit(principal, 'mfa.verify_failed', request, { method: 'totp', purpose: 'enrolment' });
          throw new JmlError('forbidden', 'that code is wrong or was already used: enter the current code from your app', { details: { field: 'code' } });
        }
        await limiter.succeeded(reservation);
        await audit(principal, 'mfa.totp_enrolled', request);
        return { recoveryCodes: await afterEnrolment(principal, request) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/me/totp',
      summary: 'Removes the caller’s authenticator app (a step-up action; not the last factor of a user the policy requires to have one).',
      tag: 'mfa',
      access: 'signed_in',
      stepUp: true,
      response: z.object({ ok: z.literal(true) }),
      async handler({ principal, request }) {
        sessionOnly(principal);
        await assertNotLast(principal, 'totp');
        if (!(await removeTotp(deps.db, principal.userId))) throw new JmlError('not_found', 'no authenticator app is set up');
        deps.principalCache?.forgetWhere({ userId: principal.userId });
        await audit(principal, 'mfa.totp_removed', request);
        return { ok: true as const };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/me/recovery-codes',
      summary: 'Replaces the caller’s recovery codes with ten new ones, shown once (a step-up action; needs a second factor).',
      tag: 'mfa',
      access: 'signed_in',
      stepUp: true,
      response: z.object({ recoveryCodes: z.array(z.string()) }),
      async handler({ principal, request }) {
        sessionOnly(principal);
        if (!principal.mfa.enrolled) throw new JmlError('conflict', 'set up a passkey or an authenticator app first: recovery codes stand in for one');
        const codes = await deps.db.transaction().execute(async (trx) => {
          const issued = await issueRecoveryCodes(trx, principal.userId, deps.now());
          await audit(principal, 'mfa.recovery_codes_issued', request, { count: issued.length }, trx);
          return issued;
        });
        return { recoveryCodes: codes };
      },
    }),
  ];
}
