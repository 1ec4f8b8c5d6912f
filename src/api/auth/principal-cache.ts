/**
 * A short-lived cache of resolved principals, keyed by the SHA-256 of the
 * session or API token. Resolving costs two queries per request; at hundreds
 * of requests a second the cache serves most of them. Entries live
 * `ttlMs` (1 s by default); sign-out, token revocation, disabling a user and
 * changing an identity's status through this server drop the affected entries
 * at once. A change made elsewhere (an HR import making someone a leaver,
 * another instance disabling a user) takes effect within `ttlMs`.
 */
import type { Principal } from './principal.ts';

export const PRINCIPAL_TTL_MS = 1_000;

export interface PrincipalCache {
  get(tokenHash: string, at: number): Principal | null | undefined;
  set(tokenHash: string, principal: Principal | null, at: number): void;
  /** Drops one token's entry. */
  forget(tokenHash: string): void;
  /** Drops every entry of a console user or of the identity a user is linked to. */
  forgetWhere(match: { readonly userId?: string; readonly identityKey?: string }): void;
}

/** Creates an empty cache; `maxEntries` bounds memory under a flood of distinct tokens. */
export function createPrincipalCache(ttlMs = PRINCIPAL_TTL_MS, maxEntries = 10_000): PrincipalCache {
  const entries = new Map<string, { principal: Principal | null; expires: number }>();
  return {
    get(tokenHash, at) {
      const entry = entries.get(tokenHash);
      if (!entry) return undefined;
      if (entry.expires <= at) {
        entries.delete(tokenHash);
        return undefined;
      }
      return entry.principal;
    },
    set(tokenHash, principal, at) {
      if (ttlMs <= 0) return;
      if (entries.size >= maxEntries) entries.clear();
      entries.set(tokenHash, { principal, expires: at + ttlMs });
    },
    forget(tokenHash) {
      entries.delete(tokenHash);
    },
    forgetWhere(match) {
      for (const [hash, entry] of entries) {
        const p = entry.principal;
        if (p && ((match.userId !== undefined && p.userId === match.userId) || (match.identityKey !== undefined && p.identityKey === match.identityKey))) entries.delete(hash);
      }
    },
  };
}
