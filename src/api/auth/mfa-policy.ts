/**
 * Who must use a second factor, and when a sensitive action asks for it
 * again. Pure: the principal carries the facts (enrolled factors, when the
 * session last proved one), the caller passes `now`.
 *
 * A session moves through stages: `enrol` (the policy requires a factor and
 * the user has none: enrolment is all they may do), `verify` (the user has a
 * factor and has only given the password), `complete`.
 */
import type { GrantedRole, Principal, Role } from './principal.ts';

export interface MfaPolicy {
  /** Granted roles whose holders must have a second factor (local accounts; OIDC users are the identity provider's concern). */
  readonly requiredRoles: readonly GrantedRole[];
  /** Releasing a held import, applying a plan, approving privileged access and user administration need a factor proven within this window. */
  readonly stepUpMs: number;
}

export const DEFAULT_STEP_UP_MS = 15 * 60_000;
export const DEFAULT_MFA_POLICY: MfaPolicy = { requiredRoles: ['admin', 'security', 'hr'], stepUpMs: DEFAULT_STEP_UP_MS };

/** Roles whose holders must verify themselves on their passkey (PIN or biometric), not just touch it. */
const USER_VERIFICATION_ROLES: readonly Role[] = ['admin', 'security'];

export type MfaStage = 'enrol' | 'verify' | 'complete';

/** What a principal's session still has to prove. API tokens are complete: they were made from a complete session. */
export function mfaStage(principal: Principal, policy: MfaPolicy): MfaStage {
  if (principal.via !== 'session') return 'complete';
  if (principal.mfa.enrolled) return principal.mfa.verifiedAt ? 'complete' : 'verify';
  return mfaRequired(principal, policy) ? 'enrol' : 'complete';
}

/** Whether the policy requires this user to have a second factor. */
export function mfaRequired(principal: Pick<Principal, 'roles' | 'mfa'>, policy: MfaPolicy): boolean {
  return principal.mfa.localPassword && policy.requiredRoles.some((r) => principal.roles.has(r));
}

/** `required` for admin and security (a stolen unlocked key alone is not enough), else `preferred`. */
export function userVerificationFor(roles: ReadonlySet<Role>): 'required' | 'preferred' {
  return USER_VERIFICATION_ROLES.some((r) => roles.has(r)) ? 'required' : 'preferred';
}

/**
 * Why a sensitive action must first prove a factor again, or null when it may
 * go ahead: a browser session of a user with a factor whose last proof is
 * older than the window. Users without a factor, and API tokens, have nothing
 * to step up with (a token is scoped and made from a complete session).
 */
export function stepUpNeeded(principal: Principal, policy: MfaPolicy, now: Date): string | null {
  if (principal.via !== 'session' || !principal.mfa.enrolled) return null;
  const at = principal.mfa.verifiedAt;
  if (at && now.getTime() - at.getTime() <= policy.stepUpMs) return null;
  const minutes = (ms: number) => {
    const n = Math.round(ms / 60_000);
    return `${n} minute${n === 1 ? '' : 's'}`;
  };
  return `This action needs your second factor again (last proven ${at ? `${minutes(now.getTime() - at.getTime())} ago` : 'never in this session'}; the window is ${minutes(policy.stepUpMs)}).`;
}
