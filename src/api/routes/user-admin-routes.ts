/**
 * Password recovery: an admin resets a user's password (a one-time password,
 * to be replaced at the next sign-in), and every local user changes their own.
 * The list, creation and role changes of users are in overview-routes.ts.
 */
import { z } from 'zod';
import { JmlError } from '../../domain/errors.ts';
import type { ApiDeps } from '../api-deps.ts';
import { createSignInLimiter, DEFAULT_SIGN_IN_LIMIT, signInLimits } from '../auth/sign-in-limiter.ts';
import { changeOwnPassword, resetPassword } from '../auth/user-store.ts';
import { boundedString, newPassword } from '../request-limits.ts';
import { defineRoute, type RouteDefinition } from '../route-definition.ts';

/** The routes. */
export function userAdminRoutes(deps: ApiDeps): RouteDefinition[] {
  const limiter = createSignInLimiter(deps.db, signInLimits(deps.signInLimit ?? DEFAULT_SIGN_IN_LIMIT));
  return [
    defineRoute({
      method: 'POST',
      url: '/api/users/:id/password-reset',
      summary: 'Gives a local user a one-time password (returned once) that they must change at their next sign-in, and ends their sessions. Needs a recent admin sign-in.',
      tag: 'admin',
      access: ['admin'],
      recentSignIn: true,
      stepUp: true,
      params: z.object({ id: boundedString('key') }),
      response: z.object({ username: z.string(), oneTimePassword: z.string() }),
      async handler({ params, actor, principal, request }) {
        if (params.id === principal.userId) throw new JmlError('conflict', 'change your own password with POST /api/me/password');
        const { user, password } = await resetPassword(deps.db, params.id, actor, `api:${request.id}`, deps.now());
        deps.principalCache?.forgetWhere({ userId: user.id });
        return { username: user.username, oneTimePassword: password };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/me/password',
      summary: 'Changes the caller’s own password (browser session only); required after an administrator’s reset.',
      tag: 'auth',
      access: 'signed_in',
      beforePasswordChange: true,
      body: z.object({ currentPassword: boundedString('password').min(1), newPassword: newPassword() }).strict(),
      response: z.object({ ok: z.literal(true) }),
      async handler({ body, principal, actor, request }) {
        if (principal.via !== 'session') throw new JmlError('forbidden', 'an API token cannot change a password');
        // The current password is checked like a sign-in: a taken-over session cannot guess it without limit.
        const reservation = await limiter.reserve(principal.username, request.ip, deps.now());
        if ('retryAfterMs' in reservation) throw new JmlError('rate_limited', 'too many wrong passwords; try again later', { retryable: true, retryAfterMs: reservation.retryAfterMs });
        await changeOwnPassword(deps.db, principal.userId, body.currentPassword, body.newPassword, actor, `api:${request.id}`, deps.now());
        await limiter.succeeded(reservation);
        deps.principalCache?.forgetWhere({ userId: principal.userId });
        return { ok: true as const };
      },
    }),
  ];
}
