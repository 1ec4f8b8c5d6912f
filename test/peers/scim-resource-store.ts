/**
 * The test SCIM server's storage of one collection (Users or Groups), kept
 * the way a real provider keeps it: resources by id, plus an index on the
 * attributes clients look resources up by (id, userName, externalId,
 * displayName). A filter of `attr eq "value"` terms on those attributes,
 * joined by `or` — what a provisioning client sends to find one resource or
 * a page of them — is answered from the index; any other filter is checked
 * against the stored resources in place. Only what is returned is copied.
 *
 * Why: the first version copied every stored resource for every filtered
 * request, so at a few thousand users each look-up cost tens of
 * milliseconds and the one-request-at-a-time server became the queue every
 * provisioning call (a leaver's too) waited in. A provider without an index
 * would not be a fair peer to measure jml against.
 *
 * The index only narrows the candidates: the filter's own comparison still
 * decides (SCIMMY compares exactly; the wrapper's escaped-filter path
 * compares userName without regard to case), so answers are the same as a
 * full scan's. Index keys are lower-cased for that reason.
 */

export type Stored = Record<string, unknown> & { id: string; meta: { created: string; lastModified: string } };

/** A SCIMMY filter as parsed: an array of `or` terms, each an object of `and`-ed attribute expressions. */
export type ParsedFilter = readonly Record<string, unknown>[];

const INDEXED = ['id', 'userName', 'externalId', 'displayName'] as const;

export interface ResourceStore {
  get(id: string): Stored | undefined;
  set(resource: Stored): void;
  delete(id: string): boolean;
  clear(): void;
  values(): IterableIterator<Stored>;
  /** The stored resources the filter may match (by index), or null when the filter uses no index. Not copies: do not change them. */
  candidates(filter: ParsedFilter): Stored[] | null;
  /** The stored resource holding `value` in `attribute` (any case), other than `exceptId`: for uniqueness checks. */
  holder(attribute: string, value: string, exceptId?: string): Stored | undefined;
}

/**
 * An indexed in-memory collection.
 * @example
 * const users = createResourceStore();
 * users.set(user);
 * users.candidates([{ externalId: ['eq', 'E00001'] }]); // → [user], without a scan
 */
export function createResourceStore(): ResourceStore {
  const byId = new Map<string, Stored>();
  const index = new Map<string, Map<string, Set<string>>>(INDEXED.map((a) => [a.toLowerCase(), new Map()]));

  const keysOf = (resource: Stored) =>
    INDEXED.flatMap((attribute) => {
      const value = resource[attribute];
      return typeof value === 'string' ? [[attribute.toLowerCase(), value.toLowerCase()] as const] : [];
    });
  const unindex = (resource: Stored) => {
    for (const [attribute, key] of keysOf(resource)) index.get(attribute)!.get(key)?.delete(resource.id);
  };

  /** The ids one `or` term may match through the index, or null when the term has no indexed `eq`. */
  function termIds(term: Record<string, unknown>): ReadonlySet<string> | null {
    for (const [attribute, expression] of Object.entries(term)) {
      const values = index.get(attribute.toLowerCase());
      if (!values || !Array.isArray(expression) || expression.length !== 2) continue;
      const [comparator, expected] = expression as [unknown, unknown];
      if (typeof comparator !== 'string' || comparator.toLowerCase() !== 'eq' || typeof expected !== 'string') continue;
      return values.get(expected.toLowerCase()) ?? new Set();
    }
    return null;
  }

  return {
    get: (id) => byId.get(id),
    set(resource) {
      const previous = byId.get(resource.id);
      if (previous) unindex(previous);
      byId.set(resource.id, resource);
      for (const [attribute, key] of keysOf(resource)) {
        const values = index.get(attribute)!;
        values.set(key, (values.get(key) ?? new Set()).add(resource.id));
      }
    },
    delete(id) {
      const previous = byId.get(id);
      if (!previous) return false;
      unindex(previous);
      return byId.delete(id);
    },
    clear() {
      byId.clear();
      for (const values of index.values()) values.clear();
    },
    values: () => byId.values(),
    candidates(filter) {
      const ids = new Set<string>();
      for (const term of filter) {
        const found = termIds(term);
        if (found === null) return null;
        for (const id of found) ids.add(id);
      }
      return [...ids].map((id) => byId.get(id)!);
    },
    holder(attribute, value, exceptId) {
      const values = index.get(attribute.toLowerCase());
      if (values) {
        for (const id of values.get(value.toLowerCase()) ?? []) if (id !== exceptId) return byId.get(id);
        return undefined;
      }
      for (const other of byId.values()) {
        if (other.id !== exceptId && String(other[attribute]).toLowerCase() === value.toLowerCase()) return other;
      }
      return undefined;
    },
  };
}
