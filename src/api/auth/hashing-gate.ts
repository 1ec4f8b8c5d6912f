/**
 * Bounds how many passwords are hashed at once. scrypt runs on libuv's thread
 * pool (four threads by default), which also serves file reads: a burst of
 * sign-ins that fills the pool stalls every signed-in user loading the
 * console. At most `concurrency` hashes run, at most `maxWaiting` wait; beyond
 * that `tryEnter` refuses at once, so the caller can answer 503 instead of
 * queueing without bound.
 */
import os from 'node:os';

export interface HashingGateOptions {
  readonly concurrency: number;
  readonly maxWaiting: number;
}

export interface HashingGate {
  /** A slot (resolves when it may run; call the returned release when done), or null when the queue is full. */
  tryEnter(): Promise<() => void> | null;
}

/** Half the cores (at least one, at most two of libuv's four threads), and 32 waiting. */
export function defaultHashingGateOptions(): HashingGateOptions {
  return { concurrency: Math.max(1, Math.min(2, Math.floor(os.availableParallelism() / 2))), maxWaiting: 32 };
}

/** Creates a gate. */
export function createHashingGate(options: HashingGateOptions): HashingGate {
  let running = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  };
  return {
    tryEnter() {
      if (running < options.concurrency) {
        running += 1;
        return Promise.resolve(release);
      }
      if (waiting.length >= options.maxWaiting) return null;
      return new Promise((resolve) => waiting.push(() => resolve(release)));
    },
  };
}
