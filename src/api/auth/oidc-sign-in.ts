/**
 * Optional OIDC sign-in (authorization code + PKCE, `openid-client`). The
 * verified email claim is matched to an identity's email; a console user is
 * created on first sign-in and linked to that identity, so the usual rules
 * apply (a leaver cannot sign in). Enabled when `deps.oidc` is set.
 */
import { z } from 'zod';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { ApiDeps } from '../api-deps.ts';
import { defineRoute, type RouteDefinition } from '../route-definition.ts';
import { setSessionCookie } from '../routes/auth-routes.ts';
import { createCredentialStore } from './credential-store.ts';
import { userForOidc } from './user-store.ts';
import { boundedString } from '../request-limits.ts';

const FLOW_COOKIE = 'jml_oidc';

/** Routes for the OIDC flow; none when OIDC is not configured. */
export function oidcRoutes(deps: ApiDeps): RouteDefinition[] {
  const settings = deps.oidc;
  if (!settings) return [];
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
        const url = oc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid email profile', code_challenge: await oc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state });
        reply.setCookie(FLOW_COOKIE, `${state}.${verifier}`, { path: '/api/auth/oidc', httpOnly: true, sameSite: 'lax', secure: request.protocol === 'https', maxAge: 600 });
        reply.redirect(url.toString());
        return null;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/auth/oidc/callback',
      summary: 'Completes OIDC sign-in and sets the session cookie.',
      tag: 'auth',
      access: 'public',
      query: z.object({ code: boundedString('text').optional(), state: boundedString('text').optional(), error: boundedString('text').optional() }).passthrough(),
      response: z.null(),
      async handler({ request, reply }) {
        const oc = await client();
        const flow = request.cookies[FLOW_COOKIE]?.split('.');
        if (!flow || flow.length !== 2) throw new JmlError('unauthenticated', 'the OIDC sign-in expired; start again');
        const config = await configuration();
        const current = new URL(request.url, settings.baseUrl);
        const tokens = await oc.authorizationCodeGrant(config, current, { pkceCodeVerifier: flow[1]!, expectedState: flow[0]! }).catch((cause: unknown) => {
          throw new JmlError('unauthenticated', 'the identity provider did not confirm the sign-in', { cause });
        });
        const claims = tokens.claims();
        if (!claims) throw new JmlError('unauthenticated', 'the identity provider sent no ID token');
        const email = claims.email_verified === false ? undefined : (claims.email as string | undefined);
        const user = await userForOidc(deps.db, { sub: claims.sub, email, name: claims.name as string | undefined }, settings.issuer);
        const session = await credentials.createSession(user.id);
        const principal = await credentials.resolveSession(session.token);
        if (!principal) throw new JmlError('forbidden', 'this account may not sign in');
        await appendAudit(deps.db, { actor: principal.identityKey ?? `user:${user.username}`, action: 'auth.signed_in', subject: `user:${user.id}`, trigger: `api:${request.id}`, details: { via: 'oidc', issuer: settings.issuer } }, deps.now());
        setSessionCookie(request, reply, session.token);
        reply.clearCookie(FLOW_COOKIE, { path: '/api/auth/oidc' });
        reply.redirect('/');
        return null;
      },
    }),
  ];
}
