/**
 * Stable hashes for idempotency keys, plan fingerprints and policy versions.
 * Deterministic across processes: hashed over the one canonical JSON writer.
 */
import { createHash, type Hash } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json.ts';

/** SHA-256 (hex) of the canonical JSON of a value (`canonicalJson`: keys sorted, `undefined` dropped, dates as ISO instants). */
export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
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
