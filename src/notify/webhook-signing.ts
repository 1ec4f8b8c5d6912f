/**
 * Signed webhooks: the body is JSON, and `X-Jml-Signature: t=<unix seconds>,v1=<hex>`
 * carries HMAC-SHA256 over `<t>.<body>` with the endpoint's shared secret
 * (the scheme Stripe and GitHub receivers already know). The timestamp lets a
 * receiver refuse replays older than its tolerance.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Jml-Signature';

/** The signature header value for `body` sent at `at`. */
export function signWebhook(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/**
 * Whether `header` is a valid signature of `body` made within `toleranceSeconds` of `now` (for receivers and tests).
 * @example verifyWebhook(secret, rawBody, req.headers['x-jml-signature'], new Date())
 */
export function verifyWebhook(secret: string, body: string, header: string | undefined, now: Date, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || typeof parts.v1 !== 'string' || Math.abs(now.getTime() / 1000 - t) > toleranceSeconds) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  const given = Buffer.from(parts.v1);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
