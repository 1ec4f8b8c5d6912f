import type { JmlErrorCode } from '../domain/errors.ts';

/** Exit codes, stable for scripts. */
export const EXIT = {
  ok: 0,
  error: 1,
  invalidInput: 2,
  /** An import or plan was held by a safety guard; nothing changed. */
  held: 3,
  /** A check failed: audit chain broken, plan stale. */
  checkFailed: 4,
  notFound: 5,
  locked: 6,
  /** The data directory or master key file is open to other users (fix with chmod; see docs/operations.md). */
  unsafePermissions: 7,
  /** `jml system test`: the system could not be reached (nothing listening, refused, timed out). */
  systemUnreachable: 10,
  /** `jml system test`: the bind DN, password or token was refused, or no secret is stored. */
  systemCredentials: 11,
  /** `jml system test`: TLS could not be established (certificate, CA, name), or the server requires it. */
  systemTls: 12,
  /** `jml system test`: the base DN, an OU or the SCIM endpoint does not exist. */
  systemNotFound: 13,
} as const;

export function exitCodeFor(code: JmlErrorCode): number {
  switch (code) {
    case 'invalid_input':
      return EXIT.invalidInput;
    case 'held':
      return EXIT.held;
    case 'stale_plan':
      return EXIT.checkFailed;
    case 'not_found':
      return EXIT.notFound;
    case 'locked':
      return EXIT.locked;
    case 'unsafe_permissions':
      return EXIT.unsafePermissions;
    default:
      return EXIT.error;
  }
}
