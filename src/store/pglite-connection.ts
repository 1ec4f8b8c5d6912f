/**
 * The connection node-postgres (`pg`) talks to the embedded database through,
 * modelled on PGlite's own bridge (`@electric-sql/pglite/node-postgres`) with
 * one difference that matters for speed. A statement with parameters is five
 * protocol messages (Parse, Bind, Describe, Execute, Sync); the stock bridge
 * hands each to PGlite on its own, five calls into the database per statement.
 * `pg` corks its stream around the messages of one statement; this connection
 * honours the cork and hands PGlite the whole exchange in one call, which
 * PGlite processes message by message exactly as a server reads a socket.
 *
 * Messages are serialised as `pg` serialises them for a socket (see `serialize`),
 * and PGlite's raw replies parsed as `pg` parses a socket (see `Parser`).
 * Everything else is as in the stock bridge: one PGlite instance, messages
 * executed in order on one queue, the backend's replies emitted as the
 * events `pg` listens for.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { protocol, PGlite } from '@electric-sql/pglite';
import type pg from 'pg';

/**
 * Messages are serialised by the serializer `pg` itself uses on a socket (its own dependency
 * pg-protocol, resolved from pg so the two always agree), not PGlite's copy of it: PGlite's
 * counts the UTF-8 length of every parameter in JavaScript, a character at a time, where
 * pg's asks Buffer.byteLength. The bytes are the same; measured on a first import of
 * 100,000 rows (whole parameters of 0.3–1 MB per chunk), 8–9 % of the process's CPU was that count.
 */
const fromPg = createRequire(createRequire(import.meta.url).resolve('pg'));
const serialize = fromPg('pg-protocol').serialize as typeof protocol.serialize;

/**
 * The backend's replies are parsed by pg's own parser too, as `pg` parses a socket, from PGlite's raw
 * output (`execProtocolRawStream`). `execProtocolStream`, which the stock bridge uses, parses them with
 * PGlite's copy of it, which copies each field's bytes before decoding them: in a profile of the API
 * benchmark's people lists (PGlite, 500 requests/s) that parse was ~24 % of the server's CPU, and a
 * page of 51 people (jsonb attributes) took 0.78 ms of CPU to read against 0.44 ms this way (medians of
 * 8 interleaved rounds of 1,000 queries).
 */
const { Parser } = fromPg('pg-protocol/dist/parser.js') as { Parser: new () => ReplyParser };
interface ReplyParser {
  parse(bytes: Buffer, each: (reply: Reply) => void): void;
}
/** A backend message as pg-protocol's parser makes it (`name`: the event pg listens for). */
interface Reply {
  readonly name: string;
}

/** The pg `connection` option: `new pg.Pool({ connection: new PgliteConnection(pglite), … })`. */
export class PgliteConnection extends EventEmitter {
  readonly #pglite: PGlite;
  /** As a socket's: a reply cut off at the end of a call's output (none should be) is completed by the next. */
  #parser = new Parser();
  #queue: Promise<unknown>;
  #emitMessage = false;
  /** Messages held while `pg` has the stream corked; sent together on uncork. */
  #corked: Uint8Array[] | null = null;

  /** Read by pg's Client.end(), which skips connection.end() without it. */
  _connecting = false;
  /** pg keeps prepared statement names here, per connection. */
  parsedStatements: Record<string, string> = {};
  submittedNamedStatements: Record<string, string> = {};

  /** pg corks around one statement's messages and destroys the stream when a client ends mid-query. */
  readonly stream = {
    cork: () => {
      this.#corked ??= [];
    },
    uncork: () => {
      const held = this.#corked;
      this.#corked = null;
      if (held && held.length > 0) this.#execute(held.length === 1 ? held[0]! : concat(held));
    },
    destroy: () => this.end(),
  };

  constructor(pglite: PGlite) {
    super();
    this.#pglite = pglite;
    this.#queue = pglite.waitReady;
    this.on('newListener', (eventName) => {
      if (eventName === 'message') this.#emitMessage = true;
    });
  }

  #send(message: Uint8Array): void {
    if (this.#corked) this.#corked.push(message);
    else this.#execute(message);
  }

  #execute(message: Uint8Array): void {
    this.#queue = this.#queue
      .then(async () => {
        // Each chunk is a view on the database's memory, valid during the call: copied. They are parsed
        // together once the call is over: the parser reuses its buffer for a reply cut between two chunks,
        // which is safe on a socket, whose replies are handled as they are parsed, not for replies kept to
        // be emitted after the call (a CopyData reply is a view on that buffer).
        const chunks: Buffer[] = [];
        await this.#pglite.execProtocolRawStream(message, { onRawData: (chunk) => chunks.push(Buffer.from(chunk)) });
        const replies: Reply[] = [];
        this.#parser.parse(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), (reply) => replies.push(reply));
        return replies;
      })
      .then((replies) => {
        for (const reply of replies) {
          if (this.#emitMessage) this.emit('message', reply);
          // pg expects an ErrorResponse as 'errorMessage'.
          this.emit(reply.name === 'error' ? 'errorMessage' : reply.name, reply);
        }
      })
      .catch((error: unknown) => {
        // Whatever part of a reply the failed call left is not the start of the next call's replies.
        this.#parser = new Parser();
        this.emit('error', error);
      });
  }

  async connect(): Promise<void> {
    this._connecting = true;
    await this.#pglite.waitReady;
    process.nextTick(() => this.emit('readyForQuery'));
  }

  // The handshake has nothing to do: PGlite is in-process and trusts its caller.
  requestSsl(): void {}
  startup(): void {}
  cancel(): void {}
  password(): void {}
  ref(): void {}
  unref(): void {}

  query(text: string): void {
    this.#send(serialize.query(text));
  }
  parse(query: Parameters<typeof serialize.parse>[0]): void {
    this.#send(serialize.parse(query));
  }
  bind(config: Parameters<typeof serialize.bind>[0]): void {
    this.#send(serialize.bind(config));
  }
  execute(config: Parameters<typeof serialize.execute>[0]): void {
    this.#send(serialize.execute(config));
  }
  describe(message: Parameters<typeof serialize.describe>[0]): void {
    this.#send(serialize.describe(message));
  }
  close(message: Parameters<typeof serialize.close>[0]): void {
    this.#send(serialize.close(message));
  }
  flush(): void {
    this.#send(serialize.flush());
  }
  sync(): void {
    this.#send(serialize.sync());
  }
  sendCopyFromChunk(chunk: ArrayBuffer): void {
    this.#send(serialize.copyData(chunk));
  }
  endCopyFrom(): void {
    this.#send(serialize.copyDone());
  }
  sendCopyFail(message: string): void {
    this.#send(serialize.copyFail(message));
  }

  /** Like a socket closing; the PGlite instance belongs to the store and stays open. */
  end(): void {
    // Told to the ended client only, once its exchanges are done: by then the pool may have handed
    // this connection to its next client (it ends a client whose caller released it with an error),
    // whose own 'end' listener would take it for the database going away.
    const ended = this.listeners('end');
    this.#queue = this.#queue.then(() => {
      for (const listener of ended) listener.call(this);
    });
    // The pool hands this connection to its next client: the ended client's listeners must go.
    for (const name of this.eventNames()) if (name !== 'newListener') this.removeAllListeners(name);
    this.#emitMessage = false;
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** pg.Pool settings for one PGlite instance: one connection (which is also the mutex), the rest placeholders pg asks for. */
export function pglitePoolConfig(pglite: PGlite): pg.PoolConfig {
  return { connection: new PgliteConnection(pglite), max: 1, user: 'postgres', password: 'unused', database: 'postgres', host: 'localhost', port: 5432 } as pg.PoolConfig;
}
