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
 * import hashes 100,000 audit entries, a plan a million accounts). Only what
 * is out of order is copied: a plain object whose keys already come in that
 * order, with nothing to leave out or resolve at any depth, is handed over as
 * it is (most of an entry's leaves, `{ from, to }`, and a JSONB value read back).
 * Handed over, an object's own getters are read a second time by JSON.stringify
 * and a Proxy's key order is taken as it lists it: neither is among the values
 * the audit trail and plans hash (plain data and JSON read back).
 */
export function canonicalJson(value: unknown): string {
  try {
    return JSON.stringify(sortedCopy(value)) ?? 'null';
  } catch (error) {
    if (!(error instanceof NotWritable)) throw error;
    // Described from the first such value in sorted key order (the copy may meet another first): the value and its path agree.
    const found = firstUnwritable(value);
    const { what, reason } = found ? notWritable(found.value)! : error;
    throw new RangeError(`canonical JSON: ${what} at ${found?.path || 'the top'} ${reason}`);
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
 * left-out members dropped (a `__proto__` key stays an ordinary member). A value
 * that `JSON.stringify` already writes that way is returned itself, not copied.
 */
function sortedCopy(value: unknown): unknown {
  const unwritable = notWritable(value);
  if (unwritable) throw unwritable;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return arrayCopy(value);
  if (value instanceof Date) return value.toISOString();
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return sortedCopy(toJSON.call(value));
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  const proto: unknown = Object.getPrototypeOf(record);
  if ((proto === Object.prototype || proto === null) && !isRawJson(record) && inCanonicalOrder(keys)) return orderedCopy(record, keys);
  const out: Record<string, unknown> = {};
  for (const key of keys.sort()) {
    const member = record[key];
    if (!leftOut(member)) setMember(out, key, sortedCopy(member));
  }
  return out;
}

/** An array's elements resolved; the array itself when none changes (an array with its own `toJSON` is always copied, which drops it). */
function arrayCopy(value: readonly unknown[]): unknown[] {
  let out: unknown[] | null = typeof (value as { toJSON?: unknown }).toJSON === 'function' ? new Array(value.length) : null;
  for (let i = 0; i < value.length; i += 1) {
    const element = value[i];
    const resolved = sortedCopy(element);
    if (out === null) {
      if (resolved === element) continue;
      out = new Array<unknown>(value.length);
      for (let j = 0; j < i; j += 1) out[j] = value[j];
    }
    out[i] = resolved;
  }
  return out ?? (value as unknown[]);
}

/**
 * A plain object whose keys are in canonical order: itself when every member stays as it is, else a copy
 * from the first member that changes or is left out (the members before it are taken as they are).
 */
function orderedCopy(record: Record<string, unknown>, keys: readonly string[]): unknown {
  let out: Record<string, unknown> | null = null;
  for (let k = 0; k < keys.length; k += 1) {
    const key = keys[k]!;
    const member = record[key];
    const omitted = leftOut(member);
    const resolved = omitted ? undefined : sortedCopy(member);
    if (out === null) {
      if (!omitted && resolved === member) continue;
      out = {};
      for (let j = 0; j < k; j += 1) setMember(out, keys[j]!, record[keys[j]!]);
    }
    if (!omitted) setMember(out, key, resolved);
  }
  return out ?? record;
}

/**
 * Whether keys listed by `Object.keys` are already in canonical order: the engine lists array-index keys first,
 * in numeric order, then the others as inserted, which must then ascend by code unit.
 */
function inCanonicalOrder(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i += 1) {
    const before = keys[i - 1]!;
    if (!(before < keys[i]!) && !isArrayIndex(before)) return false;
  }
  return true;
}

/** An array index as a property key: "0", "9", "10"… up to 2^32 − 2, without leading zeros. */
function isArrayIndex(key: string): boolean {
  if (key.length === 0) return false;
  const first = key.charCodeAt(0);
  if (first < 48 || first > 57 || (first === 48 && key.length > 1)) return false;
  for (let i = 1; i < key.length; i += 1) {
    const c = key.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return key.length <= 10 && Number(key) <= 4294967294;
}

/** A member `JSON.stringify` leaves out of an object. */
function leftOut(member: unknown): boolean {
  return member === undefined || typeof member === 'function' || typeof member === 'symbol';
}

/** Sets a member; `__proto__` as an ordinary own member, not the prototype. */
function setMember(out: Record<string, unknown>, key: string, member: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value: member, enumerable: true, writable: true, configurable: true });
  else out[key] = member;
}

/** A number or bigint without a JSON form, as the error to throw; null for any other value. */
function notWritable(value: unknown): NotWritable | null {
  if (typeof value === 'number' && !Number.isFinite(value)) return new NotWritable(String(value), 'is not a finite number');
  if (typeof value === 'bigint') return new NotWritable('a bigint', 'has no JSON form');
  return null;
}

/** `JSON.rawJSON` text (Node.js 21+): written as it is by JSON.stringify, so never handed over; copied, it is an object. */
const isRawJson: (value: object) => boolean = (JSON as { isRawJSON?: (value: unknown) => boolean }).isRawJSON ?? (() => false);

/** The first value without a JSON form and where it sits (`a.b[1]`), found only once the copy has failed: the copy itself carries no path. */
function firstUnwritable(value: unknown, path = ''): { readonly path: string; readonly value: unknown } | null {
  if (notWritable(value)) return { path, value };
  if (typeof value !== 'object' || value === null || value instanceof Date) return null;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return firstUnwritable(toJSON.call(value), path);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const found = firstUnwritable(value[i], `${path}[${i}]`);
      if (found !== null) return found;
    }
    return null;
  }
  for (const key of Object.keys(value).sort()) {
    const found = firstUnwritable((value as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
    if (found !== null) return found;
  }
  return null;
}
