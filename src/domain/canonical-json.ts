/**
 * Canonical JSON: the one text that hashes are taken over (audit chain, plan
 * fingerprints, policy versions). Two equal values always give the same text,
 * across processes and across a JSONB round trip (which reorders keys).
 *
 * The rules, which the audit chain pins (changing any of them breaks the
 * verification of entries already written):
 * - object keys sorted by UTF-16 code units, except keys that are array indices
 *   ("0", "9", "10"), which come first in numeric order (the order JavaScript
 *   gives any object holding them, so also a JSONB value read back);
 * - no insignificant whitespace; strings and numbers as `JSON.stringify` writes them;
 * - a member that is `undefined`, a function or a symbol is left out; in an
 *   array it is written `null`, and so is a top-level `undefined`;
 * - a Date is its ISO instant, and any other value with `toJSON` is written as
 *   what `toJSON` returns (as it would be stored);
 * - a number that is not finite (NaN, ±Infinity) is an error, not a silent `null`:
 *   the text must say what the value was.
 *
 * Written as a sorted copy handed to `JSON.stringify`, which gives the key
 * order above by itself: measured faster than writing the text by hand (an
 * import hashes 100,000 audit entries, a plan a million accounts).
 */
export function canonicalJson(value: unknown): string {
  try {
    return JSON.stringify(sortedCopy(value)) ?? 'null';
  } catch (error) {
    if (error instanceof NotWritable) throw new RangeError(`canonical JSON: ${error.what} at ${pathToUnwritable(value) || 'the top'} ${error.reason}`);
    throw error;
  }
}

class NotWritable extends Error {
  readonly what: string;
  readonly reason: string;
  constructor(what: string, reason: string) {
    super(`${what} ${reason}`);
    this.what = what;
    this.reason = reason;
  }
}

/**
 * The value with every object's keys inserted in sorted order (JavaScript then
 * lists array indices first, numerically), dates and `toJSON` values resolved,
 * left-out members dropped (a `__proto__` key stays an ordinary member).
 */
function sortedCopy(value: unknown): unknown {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new NotWritable(String(value), 'is not a finite number');
    return value;
  }
  if (typeof value === 'bigint') throw new NotWritable('a bigint', 'has no JSON form');
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i += 1) out[i] = sortedCopy(value[i]);
    return out;
  }
  if (value instanceof Date) return value.toISOString();
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return sortedCopy(toJSON.call(value));
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
    if (key === '__proto__') Object.defineProperty(out, key, { value: sortedCopy(member), enumerable: true, writable: true, configurable: true });
    else out[key] = sortedCopy(member);
  }
  return out;
}

/** Where the first value without a JSON form sits (`a.b[1]`), found only once the copy has failed: the copy itself carries no path. */
function pathToUnwritable(value: unknown, path = ''): string | null {
  if ((typeof value === 'number' && !Number.isFinite(value)) || typeof value === 'bigint') return path;
  if (typeof value !== 'object' || value === null || value instanceof Date) return null;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return pathToUnwritable(toJSON.call(value), path);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const found = pathToUnwritable(value[i], `${path}[${i}]`);
      if (found !== null) return found;
    }
    return null;
  }
  for (const key of Object.keys(value).sort()) {
    const found = pathToUnwritable((value as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
    if (found !== null) return found;
  }
  return null;
}
