/**
 * Urgent work (a leaver's changes) goes first within one process. The work is
 * marked by its async context (AsyncLocalStorage), so every statement and
 * connector call made on its behalf is recognised without passing a flag
 * through each function. Other work gives way while urgent work is in flight:
 * before each statement it takes a connection (the embedded store's one
 * connection, see `prioritisedPool`) and before each connector call (the
 * workers' connectors). Giving way is capped, so a stuck urgent job delays
 * the rest, it never stops it.
 *
 * Why: on PGlite the database runs in this process, on its one connection,
 * first come first served; a leaver's ten statements each queued behind a
 * joiner batch's, and a joiner batch of 16 connector calls in flight sat in
 * front of the leaver's call to the same system.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { PostgresPool, PostgresPoolClient } from 'kysely';

/** How long other work waits for urgent work at most, per statement or call. */
export const GIVE_WAY_MAX_MS = 1_000;

export interface PriorityLane {
  /** Runs `fn` as urgent work: its statements are served first, and other work gives way until it ends. */
  urgent<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Runs `fn` with its statements served first, without holding other work
   * back: for a loop that only looks for urgent work (its idle polls are not
   * urgent work in flight). What `fn` starts keeps the mark, after it returns too.
   */
  preferred<T>(fn: () => T): T;
  /** Whether the caller runs as urgent work (or preferred). */
  isUrgent(): boolean;
  /**
   * Resolves at once for urgent work or when none is in flight; otherwise
   * when the urgent work in flight has ended, or after `maxWaitMs`.
   */
  giveWay(maxWaitMs?: number): Promise<void>;
}

/**
 * A lane for one store's process.
 * @example
 * const lane = createPriorityLane();
 * await lane.urgent(() => disableLeaverAccounts());   // elsewhere: await lane.giveWay(); await createJoinerAccount();
 */
export function createPriorityLane(): PriorityLane {
  const context = new AsyncLocalStorage<true>();
  let inFlight = 0;
  let waiting: (() => void)[] = [];
  const release = () => {
    const woken = waiting;
    waiting = [];
    for (const wake of woken) wake();
  };
  return {
    async urgent(fn) {
      inFlight++;
      try {
        return await context.run(true, fn);
      } finally {
        if (--inFlight === 0) release();
      }
    },
    preferred: (fn) => context.run(true, fn),
    isUrgent: () => context.getStore() === true,
    giveWay(maxWaitMs = GIVE_WAY_MAX_MS) {
      if (inFlight === 0 || context.getStore() === true) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          waiting = waiting.filter((w) => w !== wake);
          resolve();
        }, maxWaitMs);
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        waiting.push(wake);
      });
    },
  };
}

/**
 * A single-connection pool (PGlite's) that serves urgent work's waiting
 * statements before anyone else's, and lets other work take the connection
 * only after giving way. A transaction holds the connection from BEGIN to
 * COMMIT and takes it once, so its statements are never held back midway.
 */
export function prioritisedPool(pool: PostgresPool, lane: PriorityLane): PostgresPool {
  const urgentQueue: (() => void)[] = [];
  const otherQueue: (() => void)[] = [];
  let held = false;
  const take = (urgent: boolean) =>
    new Promise<void>((resolve) => {
      if (!held) {
        held = true;
        resolve();
      } else (urgent ? urgentQueue : otherQueue).push(resolve);
    });
  const handOn = () => {
    const next = urgentQueue.shift() ?? otherQueue.shift();
    if (next) next();
    else held = false;
  };
  // Kysely keeps its connection object per client: the same wrapper for the same client.
  const wrapped = new WeakMap<PostgresPoolClient, PostgresPoolClient>();
  return {
    async connect() {
      const urgent = lane.isUrgent();
      if (!urgent) await lane.giveWay();
      await take(urgent);
      let client: PostgresPoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        handOn();
        throw error;
      }
      let wrapper = wrapped.get(client);
      if (!wrapper) {
        const inner = client;
        wrapper = {
          query: inner.query.bind(inner),
          release: () => {
            inner.release();
            handOn();
          },
        };
        wrapped.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}
