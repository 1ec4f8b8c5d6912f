/**
 * HTTP to one SCIM service provider: bearer auth, timeouts, Retry-After, and
 * the retryable/terminal split. Every failure leaves as a `JmlError('connector')`
 * whose details carry the HTTP status and SCIM `scimType`; callers decide what
 * a 404 or a 409 means in their context. The token is revealed only into the
 * Authorization header of requests to the configured base URL.
 */
import { JmlError } from '../../domain/errors.ts';
import { createCallSlots } from '../call-slots.ts';
import { redactSecrets, type Secret } from '../secrets/secret.ts';
import { insecureHttpRefusal, warnInsecureHttpOnce, type ScimSettings } from './scim-settings.ts';

export interface ScimClientDeps {
  readonly token: Secret;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Where the once-per-process plain-http warning goes; stderr by default. */
  readonly warn?: (message: string) => void;
}

export interface ScimResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface ScimFailureDetails {
  readonly status: number | null;
  readonly scimType: string | null;
  readonly retryAfterMs: number | null;
}

export interface ScimClient {
  /** Sends one request when a slot is free (at most `maxInFlight` unanswered; a leaver's calls first). */
  request(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<ScimResponse>;
  /**
   * As `request`, with the body composed when the request's turn comes: what
   * waited for the slot can be folded into it (group member PATCHes).
   */
  requestComposed(method: 'PATCH', path: string, compose: () => unknown): Promise<ScimResponse>;
}

const SCIM_JSON = 'application/scim+json';

/** Reads the failure details a ScimClient put on a JmlError (all null for other errors). */
export function scimFailure(error: unknown): ScimFailureDetails {
  const details = error instanceof JmlError ? error.details : {};
  return {
    status: typeof details.status === 'number' ? details.status : null,
    scimType: typeof details.scimType === 'string' ? details.scimType : null,
    retryAfterMs: typeof details.retryAfterMs === 'number' ? details.retryAfterMs : null,
  };
}

/** 408, 429 and 5xx may succeed later; everything else will not without someone changing something. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function parseRetryAfter(header: string | null, nowMs: number): number | null {
  if (header === null || header.trim() === '') return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/** A client for the SCIM endpoints under `settings.baseUrl`. */
const IDEMPOTENT = new Set(['GET', 'PUT', 'DELETE']);

function isStaleConnection(cause: unknown): boolean {
  const inner = (cause as { cause?: { code?: string } } | undefined)?.cause;
  const code = inner?.code ?? (cause as { code?: string } | undefined)?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
}

export function createScimClient(settings: ScimSettings, system: string, deps: ScimClientDeps): ScimClient {
  const doFetch = deps.fetch ?? fetch;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const base = settings.baseUrl.replace(/\/+$/, '');
  const baseUrl = new URL(settings.baseUrl);
  const inClear = insecureHttpRefusal(settings.baseUrl, settings.allowInsecureHttp) !== null;
  if (baseUrl.protocol === 'http:' && settings.allowInsecureHttp) warnInsecureHttpOnce(system, settings.baseUrl, deps.warn);

  async function once(method: string, path: string, body: unknown): Promise<{ response: ScimResponse; retryAfterMs: number | null }> {
    try {
      return await attempt(method, path, body);
    } catch (error) {
      // A kept-alive connection the server closed while idle fails before any answer: safe to resend an idempotent request once.
      if (IDEMPOTENT.has(method) && isStaleConnection((error as JmlError).cause)) return attempt(method, path, body);
      throw error;
    }
  }

  async function attempt(method: string, path: string, body: unknown): Promise<{ response: ScimResponse; retryAfterMs: number | null }> {
    if (inClear) {
      throw new JmlError('connector', `scim ${system}: refusing to send the token in clear to ${baseUrl.host}; use https, or set allow_insecure_http: true for a test system`, {
        details: { system, status: null, scimType: null, retryAfterMs: null },
      });
    }
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        headers: {
          accept: SCIM_JSON,
          authorization: `Bearer ${deps.token.reveal()}`,
          ...(body === undefined ? {} : { 'content-type': SCIM_JSON }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'error', // a redirect would carry the token to wherever it points
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
    } catch (cause) {
      const timedOut = (cause as Error).name === 'TimeoutError';
      const reason = timedOut ? `no answer within ${settings.timeoutMs} ms` : describeNetworkError(cause);
      throw new JmlError('connector', `scim ${system}: ${method} ${path} failed: ${redactSecrets(reason, [deps.token])}`, {
        cause,
        retryable: true,
        details: { system, status: null, scimType: null, retryAfterMs: null, unreachable: true },
      });
    }
    const text = await res.text().catch(() => '');
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { response: { status: res.status, body: parsed }, retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), Date.now()) };
  }

  const slots = createCallSlots(settings.maxInFlight);

  async function send(method: string, path: string, body: unknown): Promise<ScimResponse> {
    let { response, retryAfterMs } = await once(method, path, body);
    // One bounded retry in place for a short Retry-After; the engine owns longer waits and further attempts.
    const throttled = response.status === 429 || response.status === 503;
    if (throttled && retryAfterMs !== null && retryAfterMs <= settings.maxInlineRetryMs) {
      await sleep(retryAfterMs);
      ({ response, retryAfterMs } = await once(method, path, body));
    }
    if (response.status < 400) return response;
    const error = response.body as { detail?: unknown; scimType?: unknown } | null;
    const detail = typeof error?.detail === 'string' ? error.detail : typeof response.body === 'string' ? response.body.slice(0, 200) : '';
    const scimType = typeof error?.scimType === 'string' ? error.scimType : null;
    throw new JmlError('connector', redactSecrets(`scim ${system}: ${method} ${path} answered ${response.status}${detail ? `: ${detail}` : ''}`, [deps.token]), {
      retryable: isRetryableStatus(response.status),
      details: { system, status: response.status, scimType, retryAfterMs },
    });
  }

  return {
    request: (method, path, body) => slots.run(() => send(method, path, body)),
    requestComposed: (method, path, compose) => slots.run(() => send(method, path, compose())),
  };
}

function describeNetworkError(cause: unknown): string {
  const inner = (cause as { cause?: { code?: string; message?: string } }).cause;
  return inner?.code ?? inner?.message ?? (cause as Error).message ?? String(cause);
}
