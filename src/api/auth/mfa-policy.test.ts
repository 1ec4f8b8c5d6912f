import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MFA_POLICY, mfaStage, stepUpNeeded, userVerificationFor } from './mfa-policy.ts';
import type { Principal, Role } from './principal.ts';

const NOW = new Date('2026-12-05T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000);

function principal(roles: Role[], mfa: Partial<Principal['mfa']> = {}, via: Principal['via'] = 'session'): Principal {
  return { userId: 'u', username: 'u', displayName: 'u', identityKey: null, roles: new Set(roles), ownedSystems: [], via, scopes: null, csrfToken: 'c', signedInAt: NOW, mustChangePassword: false, mfa: { enrolled: false, verifiedAt: null, localPassword: true, ...mfa } };
}

test('the stage of a session follows the policy, the factors held and whether one was proven', () => {
  const cases: [string, Principal, string][] = [
    ['an admin without a factor must enrol', principal(['admin']), 'enrol'],
    ['hr without a factor must enrol', principal(['hr']), 'enrol'],
    ['a manager without a factor is not asked', principal(['manager', 'user']), 'complete'],
    ['an OIDC admin is left to the identity provider', principal(['admin'], { localPassword: false }), 'complete'],
    ['anyone with a factor who gave only the password must verify', principal(['user'], { enrolled: true }), 'verify'],
    ['a proven factor completes the session', principal(['admin'], { enrolled: true, verifiedAt: minutesAgo(1) }), 'complete'],
    ['an API token is complete', principal(['admin'], {}, 'token'), 'complete'],
  ];
  for (const [name, p, stage] of cases) assert.equal(mfaStage(p, DEFAULT_MFA_POLICY), stage, name);
  assert.equal(mfaStage(principal(['admin']), { ...DEFAULT_MFA_POLICY, requiredRoles: [] }), 'complete', 'a policy without roles requires nobody');
});

test('a sensitive action needs a factor proven within the window, only from users who have one', () => {
  assert.equal(stepUpNeeded(principal(['admin'], { enrolled: true, verifiedAt: minutesAgo(14) }), DEFAULT_MFA_POLICY, NOW), null);
  assert.match(stepUpNeeded(principal(['admin'], { enrolled: true, verifiedAt: minutesAgo(16) }), DEFAULT_MFA_POLICY, NOW) ?? '', /16 minutes ago; the window is 15 minutes/);
  assert.equal(stepUpNeeded(principal(['admin']), DEFAULT_MFA_POLICY, NOW), null, 'nothing to step up with');
  assert.equal(stepUpNeeded(principal(['admin'], { enrolled: true }, 'token'), DEFAULT_MFA_POLICY, NOW), null, 'API tokens are not asked');
});

test('passkeys must verify the person for admin and security, and should for everyone else', () => {
  assert.equal(userVerificationFor(new Set<Role>(['security'])), 'required');
  assert.equal(userVerificationFor(new Set<Role>(['admin', 'user'])), 'required');
  assert.equal(userVerificationFor(new Set<Role>(['hr'])), 'preferred');
});
