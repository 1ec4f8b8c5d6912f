/**
 * Slows password guessing: at most `limit` failed sign-ins per username and
 * per client address in a sliding window. In memory, per process: behind a
 * load balancer each instance counts on its own, which bounds guessing to
 * limit × instances per window.
 */
export interface SignInLimiter {
  /** Milliseconds until another attempt is allowed, or 0. */
  retryAfterMs(keys: readonly string[]): number;
  recordFailure(keys: readonly string[]): void;
  recordSuccess(keys: readonly string[]): void;
}

/** Creates a limiter. */
export function createSignInLimiter(options: { limit: number; windowMs: number; now?: () => number }): SignInLimiter {
  const now = options.now ?? Date.now;
  const failures = new Map<string, number[]>();
  const recent = (key: string): number[] => {
    const cutoff = now() - options.windowMs;
    const list = (failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) failures.delete(key);
    else failures.set(key, list);
    return list;
  };
  return {
    retryAfterMs(keys) {
      let wait = 0;
      for (const key of keys) {
        const list = recent(key);
        if (list.length >= options.limit) wait = Math.max(wait, list[0]! + options.windowMs - now());
      }
      return wait;
    },
    recordFailure(keys) {
      for (const key of keys) failures.set(key, [...recent(key), now()]);
    },
    recordSuccess(keys) {
      for (const key of keys) if (key.startsWith('user:')) failures.delete(key);
    },
  };
}
