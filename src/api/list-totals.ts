/**
 * The total a list shows ("1–25 of 100,000"), counted at most once every
 * `ttlMs` per filter and viewer. Counting every match scans the table (the
 * people list over 100,000 identities: about 12 ms of CPU on the embedded
 * database for the count, against 0.1 ms for the page itself, an index
 * lookup), and the console asks for the same total with every page it turns.
 * A total may therefore lag the data by up to `ttlMs`; the items never do.
 *
 * When every caller arriving during a recount shared it, a recount every 2 s
 * at 500 requests a second held back every request of its 12–50 ms
 * (PostgreSQL, 100,000 identities, EXPLAIN ANALYZE): 6–25 requests of 1,000,
 * 0.6–2.5 %, which is where the list's p99 sits. So past three quarters of
 * its life a total is recounted behind the callers' backs: they get the total
 * there is and do not wait; only a caller with no fresh total waits. (Three
 * quarters, not half: a recount costs what the count did, and under steady
 * traffic it then runs every 1.5 s, not every second, with 0.5 s to finish
 * before anyone would wait for it.)
 *
 * With a `changes` mark (what has been committed, as the database says it,
 * read before each count), a total whose mark has not moved since it was
 * counted is still exact: it is kept and its life starts again, without
 * counting. The mark is cheap (PostgreSQL's snapshot, no table read), so a
 * server nobody writes to no longer counts 100,000 rows every 1.5 s.
 */

/** How long a counted total is reused. */
export const LIST_TOTAL_TTL_MS = 2_000;

/** The share of a total's life after which the next caller starts a recount behind it. */
export const RECOUNT_AFTER = 0.75;

export interface ListTotals {
  /** The total under `key` (filters and who is asking), counted by `count` when none is fresh; callers at once share one count. */
  get(key: string, count: () => Promise<number>): Promise<number>;
}

/**
 * What has been committed, as a string that differs whenever anything has
 * (an unchanged mark means no transaction ended between its two readings).
 */
export type ChangeMark = () => Promise<string>;

interface Entry {
  /** When the count behind `total` started: the data it reflects is at least this recent. */
  readonly at: number;
  readonly total: Promise<number>;
  /** The change mark read before that count; null when there is no mark. */
  readonly mark: Promise<string | null>;
  recounting: boolean;
}

/**
 * Creates the totals of one server; `maxEntries` bounds memory under many
 * distinct filters; `changes`, when given, lets an unchanged total live on
 * without a recount.
 * @example createListTotals(deps.now, LIST_TOTAL_TTL_MS, 1_000, () => readChangeMark(db))
 */
export function createListTotals(now: () => Date, ttlMs = LIST_TOTAL_TTL_MS, maxEntries = 1_000, changes?: ChangeMark): ListTotals {
  const entries = new Map<string, Entry>();

  function store(key: string, at: number, total: Promise<number>, mark: Promise<string | null>): Entry {
    if (entries.size >= maxEntries && !entries.has(key)) entries.clear();
    const entry: Entry = { at, total, mark, recounting: false };
    entries.set(key, entry);
    return entry;
  }

  /**
   * The mark, then the count: the count sees at least what the mark says was
   * committed. When the mark is the one `previous` was counted under, nothing
   * has been committed since, and its total is still exact: it is not counted again.
   */
  function markThenCount(count: () => Promise<number>, previous: Entry | undefined): { mark: Promise<string | null>; total: Promise<number> } {
    if (!changes) return { mark: Promise.resolve(null), total: count() };
    const mark = changes();
    const total = mark.then(async (m) => (previous && m === (await previous.mark.catch(() => null)) ? previous.total : count()));
    return { mark, total };
  }

  function recountBehind(key: string, entry: Entry, at: number, count: () => Promise<number>): void {
    entry.recounting = true;
    const { mark, total } = markThenCount(count, entry);
    Promise.all([total, mark]).then(
      ([n, m]) => {
        if (entries.get(key) === entry) store(key, at, Promise.resolve(n), Promise.resolve(m));
      },
      // A failed recount keeps the total there is until it ages; the next caller past RECOUNT_AFTER tries again.
      () => (entry.recounting = false),
    );
  }

  return {
    get(key, count) {
      const at = now().getTime();
      const fresh = entries.get(key);
      if (fresh && at - fresh.at <= ttlMs) {
        if (at - fresh.at > ttlMs * RECOUNT_AFTER && !fresh.recounting) {
          // Only a settled total is recounted: while the first count runs, callers share it.
          void fresh.total.then(() => !fresh.recounting && entries.get(key) === fresh && recountBehind(key, fresh, at, count), () => undefined);
        }
        return fresh.total;
      }
      const { mark, total } = markThenCount(count, fresh);
      const entry = store(key, at, total, mark);
      // A failed count is not remembered: the next request counts again.
      total.catch(() => {
        if (entries.get(key) === entry) entries.delete(key);
      });
      return total;
    },
  };
}
