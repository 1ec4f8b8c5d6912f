/** The console talks only to the API: JSON, the session cookie, and the CSRF token on changes. */
export interface Session {
  user: { username: string; displayName: string; identityKey: string | null; roles: string[]; ownedSystems: string[] };
  csrfToken: string | null;
  oidc: boolean;
  mustChangePassword: boolean;
  /** `enrol`: must set up a second factor; `verify`: must prove it; `complete`: signed in. */
  mfa: { stage: 'enrol' | 'verify' | 'complete'; required: boolean };
}

export class ApiError extends Error {
  status: number;
  code: string;
  requestId: string;
  details: Record<string, unknown> | undefined;
  constructor(status: number, code: string, message: string, requestId: string, details?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.details = details;
  }
}

let csrf: string | null = null;
export function setCsrf(token: string | null): void {
  csrf = token;
}

/** Asks the person for their second factor again; resolves once proven, rejects when they cancel. */
let stepUp: ((reason: string) => Promise<void>) | null = null;
export function setStepUpHandler(handler: ((reason: string) => Promise<void>) | null): void {
  stepUp = handler;
}

/**
 * Calls the API. A sensitive action refused for an old second factor (403 with `details.stepUp`) asks for the
 * factor through the step-up handler and is sent once more.
 */
export async function api<T>(method: string, url: string, body?: unknown): Promise<T> {
  try {
    return await send<T>(method, url, body);
  } catch (error) {
    if (!(error instanceof ApiError) || !error.details?.stepUp || !stepUp) throw error;
    await stepUp(error.message);
    return send<T>(method, url, body);
  }
}

async function send<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const data = res.headers.get('content-type')?.includes('json') ? await res.json() : null;
  if (!res.ok) {
    const e = data?.error ?? {};
    throw new ApiError(res.status, e.code ?? 'error', e.message ?? res.statusText, e.requestId ?? '', e.details);
  }
  return data as T;
}
