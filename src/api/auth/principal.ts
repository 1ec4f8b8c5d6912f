/**
 * Who is calling. Granted roles (admin, security, hr) come from the user
 * record; manager, system owner and user follow from the identity the user is
 * linked to and are recomputed on every request, so a change in HR data or
 * policy takes effect at once.
 */

export const GRANTED_ROLES = ['admin', 'security', 'hr'] as const;
export type GrantedRole = (typeof GRANTED_ROLES)[number];
export const ROLES = ['admin', 'security', 'hr', 'manager', 'system_owner', 'user'] as const;
export type Role = (typeof ROLES)[number];

/** What an API token may do. `read` allows safe methods only; `write` also changes state. */
export const TOKEN_SCOPES = ['read', 'write'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export interface Principal {
  readonly userId: string;
  readonly username: string;
  readonly displayName: string;
  readonly identityKey: string | null;
  readonly roles: ReadonlySet<Role>;
  /** Systems whose owner (in policy) is this user's identity. */
  readonly ownedSystems: readonly string[];
  readonly via: 'session' | 'token';
  /** Token scopes; null for a browser session. */
  readonly scopes: readonly TokenScope[] | null;
  /** The session's CSRF token; null for API tokens (not sent by browsers on their own). */
  readonly csrfToken: string | null;
  /** When the session's password sign-in happened; null for API tokens. */
  readonly signedInAt: Date | null;
  /** An administrator reset the password: nothing but choosing a new one is allowed. */
  readonly mustChangePassword: boolean;
  /** Second factors: whether the user has one, and when this session last proved one (null: password only). */
  readonly mfa: PrincipalMfa;
}

export interface PrincipalMfa {
  readonly enrolled: boolean;
  readonly verifiedAt: Date | null;
  /** A local password account (OIDC users prove themselves to their identity provider). */
  readonly localPassword: boolean;
}

export interface PrincipalFacts {
  readonly grantedRoles: readonly string[];
  readonly identityKey: string | null;
  readonly hasReports: boolean;
  readonly ownedSystems: readonly string[];
}

/** The effective roles of a user from what is granted and what their identity implies. */
export function effectiveRoles(facts: PrincipalFacts): Set<Role> {
  const roles = new Set<Role>();
  for (const role of facts.grantedRoles) if ((GRANTED_ROLES as readonly string[]).includes(role)) roles.add(role as Role);
  if (facts.identityKey) roles.add('user');
  if (facts.identityKey && facts.hasReports) roles.add('manager');
  if (facts.ownedSystems.length > 0) roles.add('system_owner');
  return roles;
}

/** True when the principal holds any of the roles. */
export function hasAnyRole(principal: Principal, roles: readonly Role[]): boolean {
  return roles.some((r) => principal.roles.has(r));
}

/** Admin, security and HR see every identity; others only their own scope. */
export function seesEveryone(principal: Principal): boolean {
  return hasAnyRole(principal, ['admin', 'security', 'hr']);
}
