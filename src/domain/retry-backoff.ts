/**
 * The one backoff rule of jml: every retry (a change job, a reconcile page)
 * waits this long. Exponential from `baseDelayMs`, capped at `maxDelayMs`,
 * with jitter so many failures at once do not retry in step, and never
 * sooner than the system asked (Retry-After).
 */

export interface Backoff {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * The delay before try `attempt + 1`, after `attempt` failed tries (1-based).
 * `random` is in [0, 1); jitter keeps between half and all of the exponential step.
 * @example
 * retryDelayMs(3, { baseDelayMs: 100, maxDelayMs: 1_000 }, () => 1); // 400
 */
export function retryDelayMs(attempt: number, backoff: Backoff, random: () => number, retryAfterMs?: number): number {
  const exponential = Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** (Math.max(1, attempt) - 1));
  const jittered = Math.round(exponential * (0.5 + random() / 2));
  return Math.max(jittered, retryAfterMs ?? 0);
}
