/**
 * Optional OIDC sign-in (authorization code with PKCE S256, state and nonce,
 * `openid-client`). The verified email claim is matched to an identity's
 * email; a console user is created on first sign-in and linked to that
 * identity, so the usual rules apply (a leaver cannot sign in). Signing out
 * ends the jml session and, for a user who came through the provider, hands
 * the browser to the provider's end-session endpoint (RP-initiated logout).
 * Enabled when `deps.oidc` is set; `GET /api/auth/oidc` says whether it is.
 */
import { z } from 'zod';
import { isJmlError, JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { ApiDeps, OidcSettings } from '../api-deps.ts';
import { defineRoute, type RouteDefinition } from '../route-definition.ts';
import { SESSION_COOKIE, setSessionCookie } from '../routes/auth-routes.ts';
import { createCredentialStore } from './credential-store.ts';
import { userForOidc } from './user-store.ts';
import { boundedString } from '../request-limits.ts';

const FLOW_COOKIE = 'jml_oidc';

/** Where the browser lands after a refused or failed sign-in; the sign-in page explains the code. */
export const OIDC_REFUSED = '/?oidc=refused';
export const OIDC_FAILED = '/?oidc=failed';

/** Routes for the OIDC flow; only the status route when OIDC is not configured. */
export function oidcRoutes(deps: ApiDeps): RouteDefinition[] {
  const settings = deps.oidc;
  const status = defineRoute({
    method: 'GET',
    url: '/api/auth/oidc',
    summary: 'Whether sign-in through the organisation’s OpenID provider is offered (the sign-in page shows its button).',
    tag: 'auth',
    access: 'public',
    response: z.object({ enabled: z.boolean() }),
    handler: async () => ({ enabled: settings !== null }),
  });
  if (!settings) return [status];
  const credentials = createCredentialStore(deps);
  let discovered: Promise<import('openid-client').Configuration> | null = null;
  const client = () => import('openid-client');
  const configuration = async () => {
    const oc = await client();
    discovered ??= oc.discovery(new URL(settings.issuer), settings.clientId, settings.clientSecret).catch((cause: unknown) => {
      discovered = null;
      throw new JmlError('connector', `cannot reach the OIDC issuer ${settings.issuer}`, { cause, retryable: true });
    });
    return discovered;
  };
  const redirectUri = new URL('/api/auth/oidc/callback', settings.baseUrl).toString();
  return [
    status,
    defineRoute({
      method: 'GET',
      url: '/api/auth/oidc/start',
      summary: 'Starts OIDC sign-in: redirects to the identity provider.',
      tag: 'auth',
      access: 'public',
      response: z.null(),
      async handler({ reply, request }) {
        const oc = await client();
        const config = await configuration();
        const verifier = oc.randomPKCECodeVerifier();
        const state = oc.randomState();
        const nonce = oc.randomNonce();
        const url = oc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid email profile', code_challenge: await oc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce });
        // The three values are base64url, so '.' separates them safely; the cookie never leaves jml's callback path.
        reply.setCookie(FLOW_COOKIE, `${state}.${verifier}.${nonce}`, { path: '/api/auth/oidc', httpOnly: true, sameSite: 'lax', secure: request.protocol === 'https', maxAge: 600 });
        reply.redirect(url.toString());
        return null;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/auth/oidc/callback',
      summary: 'Completes OIDC sign-in (state, PKCE verifier and ID-token nonce checked), sets the session cookie and returns to the console; a refusal returns to the sign-in page, audited.',
      tag: 'auth',
      access: 'public',
      query: z.object({ code: boundedString('text').optional(), state: boundedString('text').optional(), error: boundedString('text').optional() }).passthrough(),
      response: z.null(),
      async handler({ request, reply }) {
        reply.clearCookie(FLOW_COOKIE, { path: '/api/auth/oidc' });
        try {
          const oc = await client();
          const flow = request.cookies[FLOW_COOKIE]?.split('.');
          if (!flow || flow.length !== 3) throw new JmlError('unauthenticated', 'the OIDC sign-in expired; start again');
          const [expectedState, pkceCodeVerifier, expectedNonce] = flow as [string, string, string];
          const config = await configuration();
          const current = new URL(request.url, settings.baseUrl);
          const tokens = await oc.authorizationCodeGrant(config, current, { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: true }).catch((cause: unknown) => {
            throw new JmlError('unauthenticated', `the identity provider did not confirm the sign-in: ${(cause as Error).message}`, { cause });
          });
          const idToken = tokens.claims();
          if (!idToken) throw new JmlError('unauthenticated', 'the identity provider sent no ID token');
          // A conforming provider puts scope claims (email, name) in the ID token only when it issues no access token:
          // otherwise they come from the userinfo endpoint, which checks that its `sub` is the ID token's.
          const claims = typeof idToken.email === 'string'
            ? idToken
            : await oc.fetchUserInfo(config, tokens.access_token, idToken.sub).then((info) => ({ ...info, sub: idToken.sub })).catch((cause: unknown) => {
              throw new JmlError('unauthenticated', `the identity provider's userinfo did not answer: ${(cause as Error).message}`, { cause });
            });
          const user = await userForOidc(deps.db, { sub: claims.sub, email: verifiedEmail(claims, settings), name: claims.name as string | undefined }, settings.issuer);
          const session = await credentials.createSession(user.id);
          const principal = await credentials.resolveSession(session.token);
          if (!principal) {
            await credentials.revokeSession(session.token);
            throw new JmlError('forbidden', `${user.username} may not sign in (disabled, or their identity has left)`);
          }
          await appendAudit(deps.db, { actor: principal.identityKey ?? `user:${user.username}`, action: 'auth.signed_in', subject: `user:${user.id}`, trigger: `api:${request.id}`, details: { via: 'oidc', issuer: settings.issuer } }, deps.now());
          setSessionCookie(request, reply, session.token);
          reply.redirect('/');
          return null;
        } catch (error) {
          if (!isJmlError(error, 'unauthenticated') && !isJmlError(error, 'forbidden')) throw error;
          await appendAudit(deps.db, { actor: 'anonymous', action: 'auth.sign_in_failed', subject: 'oidc', trigger: `api:${request.id}`, details: { via: 'oidc', issuer: settings.issuer, reason: error.message, ip: request.ip } }, deps.now());
          reply.redirect(isJmlError(error, 'forbidden') ? OIDC_REFUSED : OIDC_FAILED);
          return null;
        }
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/auth/oidc/sign-out',
      summary: 'Ends the current session; for a user who signed in through the provider, `logoutUrl` is the provider’s end-session address to send the browser to (null otherwise).',
      tag: 'auth',
      access: 'signed_in',
      beforePasswordChange: true,
      response: z.object({ ok: z.literal(true), logoutUrl: z.string().nullable() }),
      async handler({ request, reply, principal }) {
        const token = request.cookies[SESSION_COOKIE];
        if (token) await credentials.revokeSession(token);
        reply.clearCookie(SESSION_COOKIE, { path: '/' });
        const user = await deps.db.selectFrom('console_users').select('oidc_subject').where('id', '=', principal.userId).executeTakeFirst();
        if (!user?.oidc_subject?.startsWith(`${settings.issuer}#`)) return { ok: true as const, logoutUrl: null };
        const config = await configuration();
        if (!config.serverMetadata().end_session_endpoint) return { ok: true as const, logoutUrl: null };
        const oc = await client();
        return { ok: true as const, logoutUrl: oc.buildEndSessionUrl(config, { client_id: settings.clientId, post_logout_redirect_uri: new URL('/', settings.baseUrl).toString() }).toString() };
      },
    }),
  ];
}

/**
 * The email a first sign-in may be matched by: one the provider marks
 * verified (`email_verified` true, or the string "true" some providers send),
 * or, when the deployment says so, one sent with no such claim at all. An email
 * marked unverified is never used.
 */
export function verifiedEmail(claims: Readonly<Record<string, unknown>>, settings: Pick<OidcSettings, 'trustEmailWithoutVerifiedClaim'>): string | undefined {
  const email = claims['email'];
  if (typeof email !== 'string') return undefined;
  const marked = claims['email_verified'];
  if (marked === true || marked === 'true') return email;
  if (marked === undefined && settings.trustEmailWithoutVerifiedClaim === true) return email;
  return undefined;
}
