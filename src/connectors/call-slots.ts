/**
 * A bound on the calls one process has sent to a system and not yet had
 * answered, with urgent calls (a leaver's lock-out) served before the others
 * waiting for a slot. The bound keeps a provider's own queue short: a call
 * marked urgent waits behind at most `max` calls already sent, never behind
 * everything a busy worker has started.
 *
 * Urgency travels with the async context (`asUrgentCall`), set by the
 * workers for the calls of urgent work, so connectors need no flag in their
 * interface.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const urgentCalls = new AsyncLocalStorage<true>();

/**
 * Runs `fn` with its connector calls marked urgent: they take the next free slot before other waiting calls.
 * @example
 * await asUrgentCall(() => connector.apply(disableLeaver));
 */
export function asUrgentCall<T>(fn: () => T): T {
  return urgentCalls.run(true, fn);
}

/** Whether the caller's connector calls are marked urgent. */
export function isUrgentCall(): boolean {
  return urgentCalls.getStore() === true;
}

export interface CallSlots {
  /** Waits for a slot (urgent callers first) and runs `fn` in it. */
  run<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * At most `max` calls at once; waiting calls go urgent first, then first come first served.
 * @example
 * const slots = createCallSlots(8);
 * const body = await slots.run(() => fetch(url));
 */
export function createCallSlots(max: number): CallSlots {
  let inFlight = 0;
  const urgent: (() => void)[] = [];
  const other: (() => void)[] = [];
  const take = (): Promise<void> | void => {
    if (inFlight < max) {
      inFlight++;
      return;
    }
    return new Promise<void>((resolve) => (isUrgentCall() ? urgent : other).push(resolve));
  };
  const release = () => {
    const next = urgent.shift() ?? other.shift();
    if (next) next();
    else inFlight--;
  };
  return {
    async run(fn) {
      await take();
      try {
        return await fn();
      } finally {
        release();
      }
    },
  };
}
