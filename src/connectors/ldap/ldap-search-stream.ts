/**
 * Paged subtree searches read straight off a connection that ldapts opened,
 * secured and bound: the listing's hot path. ldapts encodes the requests
 * (SearchRequest, PagedResultsControl, its filter parser); the responses go
 * through the lean decoder in ldap-response-decoder.ts instead of ldapts'
 * message objects. After the hand-over the ldapts client no longer reads the
 * socket, so the only thing still done through it is `unbind` on close.
 */
import type { Duplex } from 'node:stream';
import { FilterParser, PagedResultsControl, type Filter, SearchRequest, SearchResponse, StatusCodeParser, type Client } from 'ldapts';
import { createResponseDecoder, type DecodedEntry, type SearchDone } from './ldap-response-decoder.ts';

export interface SearchStreamOptions<T> {
  readonly filter: string;
  readonly attributes: readonly string[];
  readonly pageSize: number;
  /** Makes a page item of each entry as it is decoded (e.g. `toEntry(attributes)`). */
  readonly project: (entry: DecodedEntry) => T;
}

export interface SearchStream {
  /**
   * The entries under `base` (scope sub), one server page at a time.
   * Continuation references are skipped. Throws ldapts' ResultCodeError
   * subclasses for result codes, so callers classify them as for any ldapts call.
   */
  pages<T>(base: string, options: SearchStreamOptions<T>): AsyncGenerator<T[]>;
  /** Unbinds and closes the connection. */
  close(): Promise<void>;
}

/** A bound connection and the socket it talks over (the TLS socket after StartTLS). */
export interface HandedOverConnection {
  readonly client: Client;
  readonly socket: Duplex;
}

interface Pending {
  readonly messageId: number;
  readonly project: (entry: DecodedEntry) => unknown;
  readonly entries: unknown[];
  references: number;
  resolve(done: SearchDone): void;
  reject(error: Error): void;
}

function timedOut(ms: number): Error {
  return Object.assign(new Error(`LDAP search timed out after ${ms} ms`), { code: 'ETIMEDOUT' });
}

/**
 * Takes over reading `connection.socket` from its ldapts client. Call it on a
 * bound connection with no operation in flight.
 */
export function createSearchStream(connection: HandedOverConnection, timeoutMs: number): SearchStream {
  const { client, socket } = connection;
  let pending: Pending | null = null;
  let broken: Error | null = null;
  // Message IDs of the bind and StartTLS are behind us; ours only need to be unique from here on.
  let nextMessageId = 1000;

  function fail(error: Error): void {
    broken ??= error;
    const p = pending;
    pending = null;
    p?.reject(error);
  }

  const decoder = createResponseDecoder({
    entry(messageId, entry) {
      if (pending?.messageId === messageId) pending.entries.push(pending.project(entry));
    },
    reference(messageId) {
      if (pending?.messageId === messageId) pending.references++;
    },
    done(result) {
      if (pending?.messageId !== result.messageId) return;
      const p = pending;
      pending = null;
      p.resolve(result);
    },
    other(messageId, op) {
      // Message ID 0 is an unsolicited notification: the server is closing the connection.
      if (messageId === 0) fail(new Error(`LDAP connection closed by the server (notice 0x${op.toString(16)})`));
    },
  });

  // Synchronous swap: no chunk may reach ldapts' parser or fall between the two readers.
  socket.removeAllListeners('data');
  socket.on('data', (chunk: Buffer) => {
    try {
      decoder.push(chunk);
    } catch (error) {
      fail(error as Error);
      socket.destroy();
    }
  });
  socket.on('error', (error: Error) => fail(error));
  socket.on('close', () => fail(new Error('LDAP connection closed')));

  interface ServerPage<T> {
    readonly messageId: number;
    readonly entries: T[];
    readonly references: number;
    readonly done: SearchDone;
  }

  /** Sends one page request; resolves when the server's SearchResultDone for it arrives. */
  function requestPage<T>(base: string, filter: Filter, attributes: string[], options: SearchStreamOptions<T>, cookie: Buffer): Promise<ServerPage<T>> {
    if (broken) return Promise.reject(broken);
    if (pending) return Promise.reject(new Error('one search at a time on a search stream'));
    const messageId = nextMessageId++;
    const request = new SearchRequest({
      messageId, baseDN: base, scope: 'sub', filter, attributes,
      controls: [new PagedResultsControl({ value: { size: options.pageSize, cookie } })],
    });
    decoder.expect(attributes);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        fail(timedOut(timeoutMs));
        socket.destroy();
      }, timeoutMs);
      const entries: T[] = [];
      const p: Pending = {
        messageId,
        project: options.project,
        entries,
        references: 0,
        resolve: (done) => { clearTimeout(timer); resolve({ messageId, entries, references: p.references, done }); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      };
      pending = p;
      socket.write(request.write());
    });
  }

  return {
    async *pages(base, options) {
      const filter = FilterParser.parseString(options.filter);
      const attributes = [...options.attributes];
      let next = requestPage(base, filter, attributes, options, Buffer.alloc(0));
      for (;;) {
        const page = await next;
        const { done } = page;
        if (done.resultCode !== 0) {
          throw StatusCodeParser.parse(new SearchResponse({ messageId: page.messageId, status: done.resultCode, errorMessage: done.diagnostic }));
        }
        // As ldapts: a page with nothing in it ends the search even if a cookie came with it.
        const more = done.cookie.length > 0 && page.entries.length + page.references > 0;
        if (more) {
          // Ask for the next page before the caller turns this one into accounts: the server
          // produces it meanwhile (on another core) instead of waiting for our next call.
          next = requestPage(base, filter, attributes, options, done.cookie);
          next.catch(() => undefined); // a caller that stops early never awaits it; close() ends it
        }
        yield page.entries;
        if (!more) return;
      }
    },
    async close() {
      fail(new Error('LDAP search stream closed'));
      // ldapts would send an unbind over a dead StartTLS connection and wait out its timeout for an answer.
      if (socket.destroyed) return;
      await client.unbind().catch(() => undefined);
    },
  };
}
