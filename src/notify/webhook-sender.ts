/**
 * Delivering one webhook: POST the JSON with its signature. A network error,
 * a timeout, 429 or 5xx is retryable (the job queue retries it with backoff);
 * another 4xx is terminal. The secret never appears in errors.
 */
import { JmlError } from '../domain/errors.ts';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signing.ts';

export interface WebhookEndpoint {
  readonly url: string;
  readonly secret: string;
}

/**
 * Posts `payload` to `endpoint`, signed; resolves with the HTTP status.
 * @throws JmlError('unavailable', retryable) or JmlError('invalid_input') for a refused delivery.
 */
export async function deliverWebhook(endpoint: WebhookEndpoint, payload: unknown, now: Date, timeoutMs = 10_000): Promise<number> {
  const body = JSON.stringify(payload);
  let response: Response;
  try {
    response = await fetch(endpoint.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(endpoint.secret, body, now) },
      body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (cause) {
    throw new JmlError('unavailable', `webhook ${new URL(endpoint.url).origin} unreachable: ${(cause as Error).message}`, { cause, retryable: true });
  }
  await response.body?.cancel();
  if (response.ok) return response.status;
  const retryable = response.status === 429 || response.status >= 500;
  throw new JmlError(retryable ? 'unavailable' : 'invalid_input', `webhook ${new URL(endpoint.url).origin} answered ${response.status}`, { retryable });
}
