/**
 * Settings of a SCIM 2.0 system, as they appear in configuration. The bearer
 * token belongs in the secret store (encrypted, bound to the host of
 * `baseUrl`) and reaches the connector as a `Secret`; a plain string is
 * accepted for tests and is wrapped at once so it never prints.
 */
import { z } from 'zod';
import { Secret } from '../secrets/secret.ts';

/** A SCIM attribute path we may put into a filter unquoted: letters, digits, `.`, `:` and `_` only. */
const attributePath = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*(?:[.:][A-Za-z0-9_]+)*$/, 'an attribute path such as externalId or name.familyName');

export const scimSettingsSchema = z.object({
  /** The SCIM base URL, e.g. https://example.test/scim/v2 (Users and Groups live under it). */
  baseUrl: z.url({ protocol: /^https?$/ }),
  /** The bearer token; usually passed in deps from the secret store instead. */
  token: z
    .union([z.string().min(1), z.instanceof(Secret)])
    .transform((t) => (typeof t === 'string' ? new Secret(t) : t))
    .optional(),
  /** Where jml writes the identity key on accounts it creates, and how it finds them again. */
  correlationAttribute: attributePath.default('externalId'),
  /** Per-request timeout. */
  timeoutMs: z.number().int().positive().max(120_000).default(15_000),
  /**
   * Requests this process has sent to the provider and not yet had answered
   * (policy files: `max_in_flight`); more wait their turn, a leaver's first.
   * Providers work through their own queue in order, so this bounds how many
   * calls a leaver's disable can find in front of it there.
   */
  maxInFlight: z.number().int().min(1).max(64).default(4),
  /** A 429/503 whose Retry-After is at most this long is retried once in place; longer waits go back to the engine. */
  maxInlineRetryMs: z.number().int().min(0).max(10_000).default(2_000),
  /**
   * Permit plain http (policy files: `allow_insecure_http: true`). The bearer
   * token then travels in clear, even on loopback where any local process may
   * listen on the port; jml warns once per process when it is used.
   */
  allowInsecureHttp: z.boolean().default(false),
});

export type ScimSettings = z.infer<typeof scimSettingsSchema>;
export type ScimSettingsInput = z.input<typeof scimSettingsSchema>;

/** Why a base URL may not carry the token, or null when it may: plain http needs `allow_insecure_http: true`. */
export function insecureHttpRefusal(baseUrl: string, allowInsecureHttp: boolean): string | null {
  if (allowInsecureHttp || !/^http:/i.test(baseUrl)) return null;
  return `${baseUrl} is plain http: the bearer token would travel in clear; use https, or set allow_insecure_http: true for a test system`;
}

const warnedInsecure = new Set<string>();

/**
 * Says once per process and system, on `warn` (stderr by default), that a
 * system sends its token over plain http because its settings allow it.
 */
export function warnInsecureHttpOnce(system: string, baseUrl: string, warn: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): void {
  const key = `${system}\u0000${baseUrl}`;
  if (warnedInsecure.has(key)) return;
  warnedInsecure.add(key);
  warn(`WARNING: scim system ${system} sends its bearer token over plain http to ${new URL(baseUrl).host} (allow_insecure_http is set): anyone who can read that traffic can act as jml there`);
}
