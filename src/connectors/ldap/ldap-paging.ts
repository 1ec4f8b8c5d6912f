/**
 * One connector page per call over LDAP's simple paged results (RFC 2696).
 * A paged-results cookie is only valid on the connection that started the
 * search, so each listing keeps a dedicated connection and its page stream
 * in memory between calls; the opaque cursor names that listing and the
 * page it expects next. When the listing is gone (another process, expired,
 * restarted) the stream is started again and the pages already returned are
 * skipped: slower, still correct while the directory does not change.
 */
import { randomUUID } from 'node:crypto';
import { JmlError } from '../../domain/errors.ts';

/** What a listing holds between calls: a connection of its own. */
export interface ListingSession {
  close(): Promise<void>;
}

interface Listing<T> {
  readonly session: ListingSession;
  readonly pages: AsyncIterator<readonly T[]>;
  /** Pages handed to callers so far. */
  served: number;
  /** The page read ahead to learn whether the last one served was the last. */
  ahead: readonly T[] | null;
  /**
   * The page after `ahead`, already requested: the server produces it while the
   * caller works on the page just served (the read is then bounded by parsing, not
   * by round trips).
   */
  prefetch: Promise<readonly T[] | null> | null;
  timer: NodeJS.Timeout | undefined;
}

interface CursorBody {
  readonly l: string;
  readonly k: string;
  readonly p: number;
}

export interface PagedLister<S extends ListingSession> {
  /**
   * The page after `cursor` of the stream `kind` that `start` produces on a
   * dedicated session.
   */
  page<T>(
    kind: string,
    cursor: string | null,
    start: (session: S) => AsyncIterator<readonly T[]>,
  ): Promise<{ items: readonly T[]; nextCursor: string | null }>;
  close(): Promise<void>;
}

/** `idleMs`: how long an unfinished listing keeps its connection. */
export function createPagedLister<S extends ListingSession>(dedicated: () => Promise<S>, idleMs = 5 * 60_000): PagedLister<S> {
  const listings = new Map<string, Listing<unknown>>();

  function drop(id: string): void {
    const listing = listings.get(id);
    if (!listing) return;
    listings.delete(id);
    clearTimeout(listing.timer);
    void listing.pages.return?.().catch(() => undefined);
    void listing.session.close().catch(() => undefined);
  }

  async function nextOrNull<T>(pages: AsyncIterator<readonly T[]>): Promise<readonly T[] | null> {
    const result = await pages.next();
    return result.done ? null : result.value;
  }

  function keepAlive(id: string, listing: Listing<unknown>): void {
    clearTimeout(listing.timer);
    listing.timer = setTimeout(() => drop(id), idleMs);
    listing.timer.unref();
  }

  function decode(cursor: string, kind: string): CursorBody {
    try {
      const body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorBody;
      if (typeof body.l === 'string' && body.k === kind && Number.isInteger(body.p) && body.p > 0) return body;
    } catch {
      // fall through
    }
    throw new JmlError('invalid_input', `not a cursor for ${kind}: ${cursor.slice(0, 40)}`);
  }

  return {
    async page<T>(kind: string, cursor: string | null, start: (session: S) => AsyncIterator<readonly T[]>) {
      const body = cursor === null ? null : decode(cursor, kind);
      const wanted = body?.p ?? 0;
      let id = body?.l ?? '';
      let listing = listings.get(id) as Listing<T> | undefined;
      if (listing && listing.served !== wanted) {
        drop(id);
        listing = undefined;
      }
      try {
        if (!listing) {
          id = randomUUID();
          const session = await dedicated();
          listing = { session, pages: start(session), served: 0, ahead: null, prefetch: null, timer: undefined };
          listings.set(id, listing as Listing<unknown>);
          for (; listing.served < wanted; listing.served++) {
            if ((await listing.pages.next()).done) break;
          }
        }
        keepAlive(id, listing as Listing<unknown>);
        const current = listing.ahead ?? (await nextOrNull(listing.pages));
        const pending = listing.prefetch ?? (current === null ? Promise.resolve(null) : nextOrNull(listing.pages));
        listing.prefetch = null;
        listing.ahead = await pending;
        listing.served++;
        if (listing.ahead === null) {
          drop(id);
          return { items: current ?? [], nextCursor: null };
        }
        const prefetch = nextOrNull(listing.pages);
        prefetch.catch(() => undefined); // surfaces on the next call, which awaits it
        listing.prefetch = prefetch;
        const nextCursor = Buffer.from(JSON.stringify({ l: id, k: kind, p: listing.served } satisfies CursorBody)).toString('base64url');
        return { items: current ?? [], nextCursor };
      } catch (error) {
        drop(id);
        throw error;
      }
    },
    async close() {
      for (const id of [...listings.keys()]) drop(id);
    },
  };
}
