/**
 * The total a list shows ("1–25 of 100,000"), counted at most once every
 * `ttlMs` per filter and viewer. Counting every match scans the table (the
 * people list over 100,000 identities: about 12 ms of CPU on the embedded
 * database for the count, against 0.1 ms for the page itself, an index
 * lookup), and the console asks for the same total with every page it turns.
 * A total may therefore lag the data by up to `ttlMs`; the items never do.
 *
 * Past half its life a total is recounted behind the callers' backs: they get
 * the total they have and do not wait. Measured on PostgreSQL at 500 people-list
 * requests a second: when every caller arriving during a recount (a seq scan of
 * 30–50 ms) waited for it, a recount every 2 s made 2–3 % of the requests that
 * slow, which was the list's p99. Only a caller with no fresh total waits.
 */

/** How long a counted total is reused. */
export const LIST_TOTAL_TTL_MS = 2_000;

export interface ListTotals {
  /** The total under `key` (filters and who is asking), counted by `count` when none is fresh; callers at once share one count. */
  get(key: string, count: () => Promise<number>): Promise<number>;
}

interface Entry {
  /** When the count behind `total` started: the data it reflects is at least this recent. */
  readonly at: number;
  readonly total: Promise<number>;
  recounting: boolean;
}

/** Creates the totals of one server; `maxEntries` bounds memory under many distinct filters. */
export function createListTotals(now: () => Date, ttlMs = LIST_TOTAL_TTL_MS, maxEntries = 1_000): ListTotals {
  const entries = new Map<string, Entry>();

  function store(key: string, at: number, total: Promise<number>): Entry {
    if (entries.size >= maxEntries && !entries.has(key)) entries.clear();
    const entry: Entry = { at, total, recounting: false };
    entries.set(key, entry);
    return entry;
  }

  function recountBehind(key: string, entry: Entry, at: number, count: () => Promise<number>): void {
    entry.recounting = true;
    count().then(
      (n) => {
        if (entries.get(key) === entry) store(key, at, Promise.resolve(n));
      },
      // A failed recount keeps the total there is until it ages; the next caller past half its life tries again.
      () => (entry.recounting = false),
    );
  }

  return {
    get(key, count) {
      const at = now().getTime();
      const fresh = entries.get(key);
      if (fresh && at - fresh.at <= ttlMs) {
        if (at - fresh.at > ttlMs / 2 && !fresh.recounting) {
          // Only a settled total is recounted: while the first count runs, callers share it.
          void fresh.total.then(() => !fresh.recounting && entries.get(key) === fresh && recountBehind(key, fresh, at, count), () => undefined);
        }
        return fresh.total;
      }
      const total = count();
      const entry = store(key, at, total);
      // A failed count is not remembered: the next request counts again.
      total.catch(() => {
        if (entries.get(key) === entry) entries.delete(key);
      });
      return total;
    },
  };
}
