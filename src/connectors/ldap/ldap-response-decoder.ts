/**
 * A lean decoder of the LDAP responses a paged search produces (RFC 4511
 * §4.5.2): search result entries, references and the final result with its
 * paged-results cookie. It reads BER straight from the socket's chunks into
 * one slot per requested attribute, which a projection turns into what the
 * caller lists (an Account directly, or an entry of the shape ldapts returns),
 * without the message, attribute and entry objects ldapts builds first: a
 * 100,000 entry listing spent about half its CPU in that layer (measured in
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

/**
 * The values of one attribute, by ldapts' rules: null when there are none, a
 * scalar when there is one, bytes (all of them) when one value is not UTF-8 or
 * the type ends in `;binary`.
 */
export type SlotValue = string | Buffer | readonly string[] | readonly Buffer[] | null;

/**
 * One search result entry as decoded: `slots[i]` holds the values of the i-th
 * requested attribute; `extra` the attributes the server sent unasked (AD's
 * `member;range=0-1499`), by the server's name, or null. Valid only during the
 * sink call: the decoder reuses the slots.
 */
export interface DecodedEntry {
  readonly dn: string;
  readonly slots: readonly SlotValue[];
  readonly extra: Readonly<Record<string, SlotValue>> | null;
}

export interface ResponseSink {
  entry(messageId: number, entry: DecodedEntry): void;
  /** A continuation reference (AD points at its other naming contexts): not an entry. */
  reference(messageId: number): void;
  done(result: SearchDone): void;
  /** Any other response, e.g. a notice of disconnection (an extended response with message ID 0). */
  other(messageId: number, protocolOp: number): void;
}

export interface ResponseDecoder {
  /** Sets the attributes of the next search: the order of the entries' slots. */
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

/**
 * A projection to entries of the shape ldapts returns (`{ dn, attr: string |
 * string[] | … }`): requested attributes under the requested name, absent ones
 * as [], unasked ones under the server's name.
 */
export function toEntry(attributes: readonly string[]): (decoded: DecodedEntry) => Entry {
  return ({ dn, slots, extra }) => {
    const entry: Entry = { dn };
    for (let i = 0; i < attributes.length; i++) entry[attributes[i]!] = asEntryValue(slots[i] ?? null);
    if (extra) for (const [name, v] of Object.entries(extra)) entry[name] = asEntryValue(v);
    return entry;
  };
}

function asEntryValue(value: SlotValue): Entry[string] {
  return value === null ? [] : (value as Entry[string]);
}

/** Creates a decoder that reports to `sink`. */
export function createResponseDecoder(sink: ResponseSink): ResponseDecoder {
  let requested: readonly string[] = [];
  /** The requested names as lower-case ASCII bytes: types are matched without making strings of them. */
  let requestedBytes: readonly Buffer[] = [];
  let binaryAsked: readonly boolean[] = [];
  let slots: SlotValue[] = [];

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
    const dn = octets();
    slots.fill(null);
    let extra: Record<string, SlotValue> | null = null;
    const attributesEnd = contentsEnd(0x30, 'attribute list');
    while (pos < attributesEnd) {
      const attributeEnd = contentsEnd(0x30, 'attribute');
      const typeSize = tag(0x04, 'attribute type');
      const index = requestedIndex(typeSize);
      const unasked = index >= 0 ? null : buf.toString('latin1', pos, pos + typeSize);
      pos += typeSize;
      const binary = unasked === null ? binaryAsked[index]! : BINARY_TYPE.test(unasked);
      const setEnd = contentsEnd(0x31, 'value set');
      let values: SlotValue = null;
      if (pos < setEnd) {
        const first = value(tag(0x04, 'value'), binary);
        if (pos >= setEnd) {
          values = first;
        } else {
          const all = [first];
          while (pos < setEnd) all.push(value(tag(0x04, 'value'), binary));
          values = all.some((v) => typeof v !== 'string')
            ? all.map((v) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v))
            : (all as string[]);
        }
      }
      if (unasked === null) slots[index] = values;
      else (extra ??= {})[unasked] = values;
      pos = attributeEnd;
    }
    sink.entry(messageId, { dn, slots, extra });
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
      slots = requested.map(() => null);
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
