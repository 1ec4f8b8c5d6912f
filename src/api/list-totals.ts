/**
 * The total a list shows ("1–25 of 100,000"), counted at most once every
 * `ttlMs` per filter and viewer. Counting every match scans the table (the
 * people list over 100,000 identities: about 12 ms of CPU on the embedded
 * database for the count, against 0.1 ms for the page itself, an index
 * lookup), and the console asks for the same total with every page it turns.
 * A total may therefore lag the data by up to `ttlMs`; the items never do.
 */

/** How long a counted total is reused. */
export const LIST_TOTAL_TTL_MS = 2_000;

export interface ListTotals {
  /** The total under `key` (filters and who is asking), counted by `count` when none is fresh; callers at once share one count. */
  get(key: string, count: () => Promise<number>): Promise<number>;
}

/** Creates the totals of one server; `maxEntries` bounds memory under many distinct filters. */
export function createListTotals(now: () => Date, ttlMs = LIST_TOTAL_TTL_MS, maxEntries = 1_000): ListTotals {
  const entries = new Map<string, { readonly at: number; readonly total: Promise<number> }>();
  return {
    get(key, count) {
      const at = now().getTime();
      const fresh = entries.get(key);
      if (fresh && at - fresh.at <= ttlMs) return fresh.total;
      if (entries.size >= maxEntries) entries.clear();
      const total = count();
      entries.set(key, { at, total });
      // A failed count is not remembered: the next request counts again.
      total.catch(() => {
        if (entries.get(key)?.total === total) entries.delete(key);
      });
      return total;
    },
  };
}
