/**
 * The one place where errors become HTTP responses. Clients get the code, a
 * message, safe details and the request id — never a stack trace; unexpected
 * errors are logged with the request id and answered with a generic message.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isJmlError, type JmlErrorCode } from '../domain/errors.ts';
import { jmlErrorFromDriver } from '../store/driver-errors.ts';

const STATUS: Readonly<Record<JmlErrorCode, number>> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  stale_plan: 409,
  precondition_failed: 412,
  too_large: 413,
  held: 409,
  locked: 423,
  source_unreadable: 422,
  connector: 502,
  rate_limited: 429,
  unavailable: 503,
  unsafe_permissions: 500,
  internal: 500,
};

/** HTTP status for an error code. */
export function statusFor(code: JmlErrorCode): number {
  return STATUS[code];
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly requestId: string; readonly details?: Readonly<Record<string, unknown>> };
}

/** Fastify error handler: maps JmlError codes, framework errors (bad JSON, too large) and everything else. */
export function mapError(raised: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const requestId = String(request.id);
  const driver = jmlErrorFromDriver(raised);
  // A value only the database caught is a validation the route is missing: worth a line, without the value.
  if (driver) request.log.warn({ sqlState: driver.details.sqlState, code: driver.code }, 'the database refused a value from this request');
  const error = driver ?? raised;
  if (isJmlError(error)) {
    const status = statusFor(error.code);
    if (status >= 500) request.log.error({ err: error, requestId }, error.message);
    const details = Object.keys(error.details).length > 0 ? error.details : undefined;
    // Whole seconds, never 0: a client told to wait 0 seconds retries at once.
    if (error.retryAfterMs !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
    return reply.status(status).send({ error: { code: error.code, message: status >= 500 && error.code === 'internal' ? 'internal error' : error.message, requestId, details } } satisfies ErrorBody);
  }
  const fe = error as FastifyError;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code = fe.statusCode === 429 ? 'rate_limited' : fe.statusCode === 404 ? 'not_found' : 'invalid_input';
    return reply.status(fe.statusCode).send({ error: { code, message: fe.message, requestId } } satisfies ErrorBody);
  }
  request.log.error({ err: error, requestId }, 'unexpected error');
  return reply.status(500).send({ error: { code: 'internal', message: 'internal error', requestId } } satisfies ErrorBody);
}
