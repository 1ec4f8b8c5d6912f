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
 * Written directly rather than through a sorted copy and `JSON.stringify`: an
 * import hashes 100,000 audit entries and a plan a million accounts.
 */
export function canonicalJson(value: unknown): string {
  return write(value, '');
}

/** An array index as JavaScript orders it: a canonical non-negative integer below 2³² − 1. */
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;
const isArrayIndex = (key: string) => ARRAY_INDEX.test(key) && Number(key) < 4_294_967_295;

function write(value: unknown, path: string): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError(`canonical JSON: ${value} at ${path || 'the top'} is not a finite number`);
      return JSON.stringify(value);
    case 'bigint':
      throw new TypeError(`canonical JSON: a bigint at ${path || 'the top'} has no JSON form`);
    case 'object':
      break;
    default:
      return 'null';
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i += 1) {
      const item: unknown = value[i];
      out += (i === 0 ? '' : ',') + (omitted(item) ? 'null' : write(item, `${path}[${i}]`));
    }
    return `${out}]`;
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return write(toJSON.call(value), path);
  const record = value as Record<string, unknown>;
  let out = '{';
  let first = true;
  for (const key of orderedKeys(record)) {
    const member = record[key];
    if (omitted(member)) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${write(member, path ? `${path}.${key}` : key)}`;
    first = false;
  }
  return `${out}}`;
}

function omitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

function orderedKeys(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record).sort();
  if (!keys.some(isArrayIndex)) return keys;
  const indices = keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b));
  return [...indices, ...keys.filter((key) => !isArrayIndex(key))];
}
