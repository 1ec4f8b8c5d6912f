/**
 * The server's log: one JSON object per line (pino, Fastify's own logger),
 * each with the request id (`reqId`). What a line may hold is decided here:
 * method, path without its query string (queries carry names people search
 * for), status, timing, the client address, and for an unexpected error its
 * type, code, message and stack. Headers and bodies are never logged; the
 * fields that would hold a secret are redacted anyway, in case a future line
 * carries one.
 */
import type { FastifyServerOptions } from 'fastify';
import { JmlError } from '../domain/errors.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ApiLogOptions {
  readonly level: LogLevel;
  /** Where lines go; standard error when absent (standard output is the CLI's own text). */
  readonly stream?: { write(line: string): void };
}

/** Paths pino replaces with "[redacted]" wherever a logged object has them. */
export const REDACTED_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  ...['password', 'token', 'secret', 'csrfToken', 'cookie', 'authorization', 'body'].flatMap((field) => [field, `*.${field}`]),
];

/** The log level from `JML_LOG_LEVEL` (default `info`); anything else is refused by name. */
export function logLevelFromEnv(env: Readonly<Record<string, string | undefined>>): LogLevel {
  const value = env.JML_LOG_LEVEL?.trim().toLowerCase() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new JmlError('invalid_input', `JML_LOG_LEVEL: "${env.JML_LOG_LEVEL}" is not one of ${LOG_LEVELS.join(', ')}`);
  return value as LogLevel;
}

type LoggedError = {
  readonly [field: string]: unknown;
  readonly type: string;
  readonly message: string;
  readonly code?: string;
  readonly stack: string;
  readonly cause?: LoggedError;
};

/** Type, code, message and stack, and the same for its cause; not the error's other fields (a driver error's `detail` quotes the row). */
function errorSerializer(error: unknown, depth = 0): LoggedError {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error), stack: '' };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    stack: error.stack ?? '',
    ...(error.cause !== undefined && depth < 3 ? { cause: errorSerializer(error.cause, depth + 1) } : {}),
  };
}

/**
 * Fastify's `logger` option for these settings.
 * @example Fastify({ logger: apiLoggerOptions({ level: logLevelFromEnv(process.env) }) })
 */
export function apiLoggerOptions(options: ApiLogOptions): NonNullable<FastifyServerOptions['logger']> & { level: string } {
  return {
    level: options.level,
    stream: options.stream ?? process.stderr,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    serializers: {
      req: (request: { method: string; url: string; ip?: string; socket?: { remoteAddress?: string } }) => ({
        method: request.method,
        path: request.url.split('?')[0],
        remoteAddress: request.ip ?? request.socket?.remoteAddress,
      }),
      res: (reply: { statusCode: number }) => ({ statusCode: reply.statusCode }),
      err: (error: unknown) => errorSerializer(error),
    },
  };
}
