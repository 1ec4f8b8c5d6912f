/**
 * Requests per SCIM token in a fixed window: beyond the limit a request is
 * refused with 429 and Retry-After (the wait until the window ends). Kept in
 * the process: each API process limits on its own.
 */

export interface RateLimit {
  readonly requests: number;
  readonly windowMs: number;
}

export interface RateLimiter {
  /** Counts a request at `nowMs`; returns 0 when allowed, else the milliseconds until one will be. */
  take(key: string, nowMs: number): number;
}

/** @example const limiter = createRateLimiter({ requests: 200, windowMs: 10_000 }); if (limiter.take(tokenId, Date.now()) > 0) refuse(); */
export function createRateLimiter(limit: RateLimit): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    take(key, nowMs) {
      let w = windows.get(key);
      if (!w || nowMs - w.start >= limit.windowMs) {
        // Forgetting ended windows keeps the map as small as the set of active tokens.
        if (windows.size > 10_000) for (const [k, v] of windows) if (nowMs - v.start >= limit.windowMs) windows.delete(k);
        w = { start: nowMs, count: 0 };
        windows.set(key, w);
      }
      if (w.count >= limit.requests) return Math.max(1, w.start + limit.windowMs - nowMs);
      w.count += 1;
      return 0;
    },
  };
}
