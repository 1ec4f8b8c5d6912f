/**
 * Slows password guessing. Each sign-in reserves an attempt before its
 * password is hashed; the reservation counts as a failure unless the sign-in
 * succeeds. Three sliding-window limits, checked and reserved atomically
 * (advisory locks on the user and the address), so parallel requests cannot
 * slip past the check while earlier ones are still hashing:
 *
 * - per (user, address): `perUserAddress` (the fat-fingered user, one place);
 * - per user, from any address: `perUser` (guessing one password from many places);
 * - per address, any user: `perAddress` (spraying one password over many users).
 *
 * Attempts live in the database (`sign_in_attempts`), so every API instance on
 * one PostgreSQL server counts the same ones.
 */
import { createHash, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/database.ts';

export interface SignInLimits {
  readonly perUserAddress: number;
  readonly perUser: number;
  readonly perAddress: number;
  readonly windowMs: number;
}

export const SIGN_IN_WINDOW_MS = 15 * 60_000;
/** Failures allowed per (user, address) in the window unless the server is told otherwise. */
export const DEFAULT_SIGN_IN_LIMIT = 10;

/**
 * The limits from one number, the failures allowed per (user, address):
 * three times as many per user, five times as many per address.
 */
export function signInLimits(perUserAddress: number): SignInLimits {
  return { perUserAddress, perUser: 3 * perUserAddress, perAddress: 5 * perUserAddress, windowMs: SIGN_IN_WINDOW_MS };
}

export interface Reserved {
  readonly id: string;
  readonly usernameHash: string;
  readonly address: string;
}

export interface SignInLimiter {
  /** Reserves one attempt, or says how long to wait when a limit is reached. */
  reserve(username: string, address: string, now: Date): Promise<Reserved | { readonly retryAfterMs: number }>;
  /** The sign-in succeeded: forgets this attempt and the user's earlier failures from the same address. */
  succeeded(reservation: Reserved): Promise<void>;
  /** The attempt was not made (the server was too busy): it does not count. */
  cancel(reservation: Reserved): Promise<void>;
}

const hashUsername = (username: string): string => createHash('sha256').update(username.toLowerCase()).digest('hex');

/** Creates a limiter over the store. */
export function createSignInLimiter(db: Kysely<Database>, limits: SignInLimits): SignInLimiter {
  return {
    async reserve(username, address, now) {
      const usernameHash = hashUsername(username);
      const since = new Date(now.getTime() - limits.windowMs);
      return db.transaction().execute(async (trx): Promise<Reserved | { readonly retryAfterMs: number }> => {
        // Sorted, so two sign-ins never take the same two locks in opposite orders.
        for (const lock of [`sign-in:address:${address}`, `sign-in:user:${usernameHash}`].sort()) {
          await sql`select pg_advisory_xact_lock(hashtext(${lock}))`.execute(trx);
        }
        await trx.deleteFrom('sign_in_attempts').where('at', '<', since).execute();
        const counts = await trx
          .selectFrom('sign_in_attempts')
          .select([
            sql<number>`count(*) filter (where username_hash = ${usernameHash} and address = ${address})::int`.as('user_address'),
            sql<Date | null>`min(at) filter (where username_hash = ${usernameHash} and address = ${address})`.as('user_address_oldest'),
            sql<number>`count(*) filter (where username_hash = ${usernameHash})::int`.as('user'),
            sql<Date | null>`min(at) filter (where username_hash = ${usernameHash})`.as('user_oldest'),
            sql<number>`count(*) filter (where address = ${address})::int`.as('address'),
            sql<Date | null>`min(at) filter (where address = ${address})`.as('address_oldest'),
          ])
          .where((eb) => eb.or([eb('username_hash', '=', usernameHash), eb('address', '=', address)]))
          .where('at', '>=', since)
          .executeTakeFirstOrThrow();
        // When a limit is reached, one more attempt is allowed once its oldest counted attempt leaves the window.
        const waits = [
          [counts.user_address, limits.perUserAddress, counts.user_address_oldest],
          [counts.user, limits.perUser, counts.user_oldest],
          [counts.address, limits.perAddress, counts.address_oldest],
        ] as const;
        let retryAfterMs = 0;
        for (const [n, limit, oldest] of waits) {
          if (n >= limit && oldest) retryAfterMs = Math.max(retryAfterMs, new Date(oldest).getTime() + limits.windowMs - now.getTime(), 1000);
        }
        if (retryAfterMs > 0) return { retryAfterMs };
        const id = randomUUID();
        await trx.insertInto('sign_in_attempts').values({ id, username_hash: usernameHash, address, at: now.toISOString() }).execute();
        return { id, usernameHash, address };
      });
    },
    async cancel(reservation) {
      await db.deleteFrom('sign_in_attempts').where('id', '=', reservation.id).execute();
    },
    async succeeded(reservation) {
      await db.deleteFrom('sign_in_attempts').where('username_hash', '=', reservation.usernameHash).where('address', '=', reservation.address).execute();
    },
  };
}
