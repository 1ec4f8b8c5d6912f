/**
 * Every error jml raises on purpose. The `code` is what callers branch on; HTTP
 * status codes and CLI exit codes are derived from it at the boundaries only.
 */
export type JmlErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'held'
  | 'stale_plan'
  /** A request larger than a limit it was told (SCIM Bulk's maxOperations). */
  | 'too_large'
  /** The caller's expected version (If-Match) is not the current one: read it again, then retry. */
  | 'precondition_failed'
  | 'locked'
  | 'source_unreadable'
  | 'connector'
  | 'forbidden'
  | 'unauthenticated'
  | 'rate_limited'
  | 'unavailable'
  /** A data directory or key file others could read or change: jml refuses to use it. */
  | 'unsafe_permissions'
  | 'internal';

export interface JmlErrorOptions {
  readonly cause?: unknown;
  /** True when the same operation may succeed if tried again later (timeouts, 429, 503). */
  readonly retryable?: boolean;
  /** Structured, non-secret context (file, row, column, system…). */
  readonly details?: Readonly<Record<string, unknown>>;
  /** For a retryable refusal (rate_limited, unavailable): how long the caller should wait before trying again. */
  readonly retryAfterMs?: number;
}

export class JmlError extends Error {
  readonly code: JmlErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>>;
  readonly retryAfterMs: number | undefined;

  constructor(code: JmlErrorCode, message: string, options: JmlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'JmlError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isJmlError(value: unknown, code?: JmlErrorCode): value is JmlError {
  return value instanceof JmlError && (code === undefined || value.code === code);
}
