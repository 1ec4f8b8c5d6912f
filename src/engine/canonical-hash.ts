/**
 * Stable hashes for idempotency keys, plan fingerprints and policy versions.
 * Deterministic across processes: object keys are sorted before hashing.
 */
import { createHash, type Hash } from 'node:crypto';

/** SHA-256 (hex) of the canonical JSON of a value: keys sorted, `undefined` dropped. */
export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalText(value)).digest('hex');
}

/**
 * JSON with object keys sorted, so equal values always give equal text.
 * Hand-rolled rather than a JSON.stringify replacer: plans hash a million
 * accounts, and the replacer form is several times slower.
 */
export function canonicalText(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + canonicalText(value[i] === undefined ? null : value[i]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined || typeof member === 'function') continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalText(member)}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * A short, stable id from parts joined with a separator that cannot occur in them
 * unescaped. 128 bits of SHA-256 in base64url: collisions are not a practical concern.
 */
export function stableId(prefix: string, parts: readonly string[]): string {
  const digest = createHash('sha256').update(parts.join('\u001f')).digest('base64url');
  return `${prefix}_${digest.slice(0, 22)}`;
}

/** An incremental hash for large inputs, fed in a canonical order by the caller. */
export function streamingHash(): Hash {
  return createHash('sha256');
}
