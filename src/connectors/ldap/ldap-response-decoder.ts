/**
 * A lean decoder of the LDAP responses a paged search produces (RFC 4511
 * §4.5.2): search result entries, references and the final result with its
 * paged-results cookie. It reads BER straight from the socket's chunks into
 * entries of the shape ldapts returns (`{ dn, attr: string | string[] | … }`),
 * without the message and attribute objects ldapts builds first: a 100,000
 * entry listing spent about half its CPU in that layer (measured in
 * bench/ldap-bench.ts). Everything that is not on that hot path — connecting,
 * binding, encoding requests, every other operation — stays with ldapts.
 */
import { isUtf8 } from 'node:buffer';
import type { Entry } from 'ldapts';

/** The end of one search request (SearchResultDone). */
export interface SearchDone {
  readonly messageId: number;
  readonly resultCode: number;
  readonly diagnostic: string;
  /** The paged-results cookie; empty when the search is complete or not paged. */
  readonly cookie: Buffer;
}

export interface ResponseSink {
  entry(messageId: number, entry: Entry): void;
  /** A continuation reference (AD points at its other naming contexts): not an entry. */
  reference(messageId: number): void;
  done(result: SearchDone): void;
  /** Any other response, e.g. a notice of disconnection (an extended response with message ID 0). */
  other(messageId: number, protocolOp: number): void;
}

export interface ResponseDecoder {
  /** Sets the attributes of the next search: entries name them as requested and list absent ones as []. */
  expect(attributes: readonly string[]): void;
  /** Feeds socket bytes; calls the sink once per complete message. Throws on malformed BER. */
  push(chunk: Buffer): void;
}

const SEARCH_ENTRY = 0x64;
const SEARCH_DONE = 0x65;
const SEARCH_REFERENCE = 0x73;
const CONTROLS = 0xa0;
const PAGED_RESULTS_OID = '1.2.840.113556.1.4.319';
/** ldapts returns values of `…;binary` attribute types as bytes, UTF-8 or not. */
const BINARY_TYPE = /;binary$/i;

export class MalformedResponseError extends Error {
  constructor(what: string) {
    super(`malformed LDAP response: ${what}`);
    this.name = 'MalformedResponseError';
  }
}

/** Creates a decoder that reports to `sink`. */
export function createResponseDecoder(sink: ResponseSink): ResponseDecoder {
  let requested: readonly string[] = [];
  /** The requested names as lower-case ASCII bytes: types are matched without making strings of them. */
  let requestedBytes: readonly Buffer[] = [];
  let binaryAsked: readonly boolean[] = [];

  // Bytes of an incomplete message: kept as chunks and joined once the message is whole
  // (a big group arrives in many TLS records; joining on every record would be quadratic).
  let held: Buffer[] = [];
  let heldBytes = 0;
  let heldNeed = 0;

  // The message being read: `buf` holds it whole, `pos` moves through it, `end` bounds it.
  let buf: Buffer = Buffer.alloc(0);
  let pos = 0;
  let end = 0;

  function length(): number {
    const first = buf[pos++]!;
    if (first < 0x80) return fits(first);
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new MalformedResponseError('unsupported length');
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 256 + buf[pos++]!;
    return fits(value);
  }

  function fits(value: number): number {
    if (pos + value > end) throw new MalformedResponseError('length beyond message');
    return value;
  }

  function tag(expected: number, what: string): number {
    if (pos >= end || buf[pos] !== expected) throw new MalformedResponseError(`expected ${what}`);
    pos++;
    return length();
  }

  function skip(expected: number, what: string): void {
    const size = tag(expected, what);
    pos += size;
  }

  /** Reads a constructed element's header; returns where its contents end. */
  function contentsEnd(expected: number, what: string): number {
    const size = tag(expected, what);
    return pos + size;
  }

  function integer(expectedTag: number): number {
    const size = tag(expectedTag, 'integer');
    if (size < 1 || size > 4) throw new MalformedResponseError('integer size');
    let value = buf[pos]! & 0x80 ? -1 : 0;
    for (let i = 0; i < size; i++) value = value * 256 + buf[pos++]!;
    return value;
  }

  function octets(): string {
    const size = tag(0x04, 'octet string');
    const value = buf.toString('utf8', pos, pos + size);
    pos += size;
    return value;
  }

  /** Which requested attribute the type at buf[pos, pos + size) names, case-insensitively (ASCII); -1 for none. */
  function requestedIndex(size: number): number {
    for (let i = 0; i < requestedBytes.length; i++) {
      const name = requestedBytes[i]!;
      if (name.length !== size) continue;
      let j = 0;
      for (; j < size; j++) {
        const b = buf[pos + j]!;
        if ((b >= 0x41 && b <= 0x5a ? b | 0x20 : b) !== name[j]) break;
      }
      if (j === size) return i;
    }
    return -1;
  }

  /** One attribute value: a string when it is UTF-8 (ldapts' rule), else the raw bytes. */
  function value(size: number, binary: boolean): string | Buffer {
    const start = pos;
    pos += size;
    if (!binary) {
      const text = buf.toString('utf8', start, pos);
      // U+FFFD also stands for bytes that are not UTF-8: only then look closer.
      if (!text.includes('\uFFFD') || isUtf8(buf.subarray(start, pos))) return text;
    }
    return Buffer.from(buf.subarray(start, pos));
  }

  function searchEntry(messageId: number): void {
    const entry: Entry = { dn: octets() };
    const attributesEnd = contentsEnd(0x30, 'attribute list');
    let found = 0;
    while (pos < attributesEnd) {
      const attributeEnd = contentsEnd(0x30, 'attribute');
      const typeSize = tag(0x04, 'attribute type');
      const index = requestedIndex(typeSize);
      const key = index >= 0 ? requested[index]! : buf.toString('latin1', pos, pos + typeSize);
      pos += typeSize;
      if (index >= 0) found++;
      const binary = index >= 0 ? binaryAsked[index]! : BINARY_TYPE.test(key);
      const setEnd = contentsEnd(0x31, 'value set');
      if (pos >= setEnd) {
        entry[key] = [];
      } else {
        const first = value(tag(0x04, 'value'), binary);
        if (pos >= setEnd) {
          entry[key] = first; // one value is a scalar, as in ldapts
        } else {
          const vals = [first];
          while (pos < setEnd) vals.push(value(tag(0x04, 'value'), binary));
          // As ldapts: one value that is not UTF-8 makes the whole attribute bytes.
          entry[key] = vals.some((v) => typeof v !== 'string')
            ? vals.map((v) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v))
            : (vals as string[]);
        }
      }
      pos = attributeEnd;
    }
    if (found < requested.length) {
      for (const name of requested) if (entry[name] === undefined) entry[name] = [];
    }
    sink.entry(messageId, entry);
  }

  function searchDone(messageId: number, opEnd: number): void {
    const resultCode = integer(0x0a);
    octets(); // matchedDN
    const diagnostic = octets();
    pos = opEnd; // a referral ([3]) may follow; this decoder does not chase referrals
    let cookie: Buffer = Buffer.alloc(0);
    if (pos < end && buf[pos] === CONTROLS) {
      const controlsEnd = contentsEnd(CONTROLS, 'controls');
      while (pos < controlsEnd) {
        const controlEnd = contentsEnd(0x30, 'control');
        const oid = octets();
        if (pos < controlEnd && buf[pos] === 0x01) skip(0x01, 'criticality');
        if (oid === PAGED_RESULTS_OID && pos < controlEnd) {
          tag(0x04, 'control value');
          tag(0x30, 'paged results value');
          integer(0x02);
          const size = tag(0x04, 'cookie');
          cookie = Buffer.from(buf.subarray(pos, pos + size));
        }
        pos = controlEnd;
      }
    }
    sink.done({ messageId, resultCode, diagnostic, cookie });
  }

  /** Decodes the message in buf[pos, end). */
  function message(): void {
    const messageId = integer(0x02);
    if (pos >= end) throw new MalformedResponseError('no protocol operation');
    const op = buf[pos]!;
    pos++;
    const opSize = length();
    const opEnd = pos + opSize;
    if (op === SEARCH_ENTRY) searchEntry(messageId);
    else if (op === SEARCH_DONE) searchDone(messageId, opEnd);
    else if (op === SEARCH_REFERENCE) sink.reference(messageId);
    else sink.other(messageId, op);
  }

  /** Size of the message starting at buf[at], header included; null until the header is complete. */
  function messageSize(at: number): number | null {
    if (buf.length - at < 2) return null;
    if (buf[at] !== 0x30) throw new MalformedResponseError('expected a message');
    const first = buf[at + 1]!;
    if (first < 0x80) return 2 + first;
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new MalformedResponseError('unsupported length');
    if (buf.length - at < 2 + count) return null;
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 256 + buf[at + 2 + i]!;
    return 2 + count + value;
  }

  function hold(rest: Buffer, need: number): void {
    held = [rest];
    heldBytes = rest.length;
    heldNeed = need;
  }

  return {
    expect(attributes) {
      requested = [...attributes];
      requestedBytes = requested.map((a) => Buffer.from(a.toLowerCase(), 'latin1'));
      binaryAsked = requested.map((a) => BINARY_TYPE.test(a));
    },

    push(chunk) {
      if (heldBytes > 0) {
        held.push(chunk);
        heldBytes += chunk.length;
        if (heldBytes < heldNeed) return;
        chunk = Buffer.concat(held, heldBytes);
        held = [];
        heldBytes = 0;
      }
      buf = chunk;
      let at = 0;
      while (at < buf.length) {
        const size = messageSize(at);
        if (size === null || at + size > buf.length) {
          hold(buf.subarray(at), size ?? 0);
          return;
        }
        end = at + size;
        pos = at + 1;
        length();
        message();
        at = end;
      }
    },
  };
}
