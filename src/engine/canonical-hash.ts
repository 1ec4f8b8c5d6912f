/**
 * Stable hashes for idempotency keys, plan fingerprints and policy versions.
 * Deterministic across processes: object keys are sorted before hashing.
 */
import { createHash, type Hash } from 'node:crypto';

/** SHA-256 (hex) of the canonical JSON of a value: keys sorted, `undefined` dropped. */
export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalText(value)).digest('hex');
}

/** JSON with object keys sorted, so equal values always give equal text. */
export function canonicalText(value: unknown): string {
  return JSON.stringify(value, (_key, member: unknown) => {
    if (member === null || typeof member !== 'object' || Array.isArray(member)) return member;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(member).sort()) sorted[key] = (member as Record<string, unknown>)[key];
    return sorted;
  });
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
