import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BerWriter, MessageParser, PagedResultsControl, SearchEntry, SearchResponse, type Entry } from 'ldapts';
import { createResponseDecoder, MalformedResponseError, toEntry, type SearchDone } from './ldap-response-decoder.ts';

type Values = readonly (string | Buffer)[];

function entryMessage(messageId: number, dn: string, attributes: readonly (readonly [string, Values])[]): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(messageId);
  w.startSequence(0x64);
  w.writeString(dn);
  w.startSequence();
  for (const [type, values] of attributes) {
    w.startSequence();
    w.writeString(type);
    w.startSequence(0x31);
    for (const v of values) {
      if (typeof v === 'string') w.writeString(v);
      else w.writeBuffer(v, 0x04);
    }
    w.endSequence();
    w.endSequence();
  }
  w.endSequence();
  w.endSequence();
  w.endSequence();
  return w.buffer;
}

function doneMessage(messageId: number, resultCode: number, diagnostic: string, cookie?: Buffer): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(messageId);
  w.startSequence(0x65);
  w.writeEnumeration(resultCode);
  w.writeString('');
  w.writeString(diagnostic);
  w.endSequence();
  if (cookie) {
    w.startSequence(0xa0);
    new PagedResultsControl({ value: { size: 0, cookie } }).write(w);
    w.endSequence();
  }
  w.endSequence();
  return w.buffer;
}

function referenceMessage(messageId: number, uri: string): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(messageId);
  w.startSequence(0x73);
  w.writeString(uri);
  w.endSequence();
  w.endSequence();
  return w.buffer;
}

interface Decoded {
  entries: Entry[];
  references: number;
  done: SearchDone[];
}

/** Our decoder over `bytes`, fed in chunks cut at `cuts`. */
function decode(bytes: Buffer, requested: readonly string[], cuts: readonly number[] = []): Decoded {
  const out: Decoded = { entries: [], references: 0, done: [] };
  const entry = toEntry(requested);
  const decoder = createResponseDecoder({
    entry: (_, e) => out.entries.push(entry(e)),
    reference: () => { out.references++; },
    done: (d) => out.done.push(d),
    other: () => assert.fail('no other message expected'),
  });
  decoder.expect(requested);
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    decoder.push(bytes.subarray(at, cut));
    at = cut;
  }
  return out;
}

/** What ldapts makes of the same bytes: its entry objects and its search responses. */
function ldapts(bytes: Buffer, requested: readonly string[]): { entries: Entry[]; responses: SearchResponse[] } {
  const parser = new MessageParser();
  const entries: Entry[] = [];
  const responses: SearchResponse[] = [];
  parser.on('message', (m) => {
    if (m instanceof SearchEntry) entries.push(m.toObject([...requested], []));
    else if (m instanceof SearchResponse) responses.push(m);
  });
  parser.on('error', (e) => assert.fail(e));
  parser.read(bytes, new Map());
  return { entries, responses };
}

/** Keys lower-cased: we name attributes as requested, ldapts as the server spelt them; both are case-insensitive. */
function byLowerKey(entry: Entry): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entry).map(([k, v]) => [k.toLowerCase(), v]));
}

const REQUESTED = ['uid', 'employeeNumber', 'cn', 'mail', 'title', 'jpegPhoto;binary', 'member'];
const NOT_UTF8 = Buffer.from([0xc3, 0x28, 0xff]);
const ENTRIES = [
  entryMessage(2, 'uid=jd,ou=people,dc=example,dc=org', [['uid', ['jd']], ['employeenumber', ['E1']], ['cn', ['Jane Doe', 'J. Doe']]]),
  entryMessage(2, 'cn=Zoë Ünal,ou=people,dc=example,dc=org', [['cn', ['Zoë Ünal 🎉']], ['mail', []], ['description', ['valid \uFFFD replacement char']]]),
  entryMessage(2, 'uid=bin,ou=people,dc=example,dc=org', [['uid', ['bin']], ['title', [NOT_UTF8]], ['jpegPhoto;binary', [Buffer.from('GIF89a')]], ['objectGUID', [Buffer.from('ok'), NOT_UTF8]]]),
  // AD sends big member lists in ranges: the ranged name is kept for the connector to follow up.
  entryMessage(2, 'CN=Staff,CN=Users,DC=samdom', [['cn', ['Staff']], ['member;range=0-1499', ['CN=a,CN=Users,DC=samdom', 'CN=b,CN=Users,DC=samdom']]]),
  entryMessage(2, 'cn=big,ou=groups,dc=example,dc=org', [['cn', ['big']], ['member', Array.from({ length: 3000 }, (_, i) => `uid=user${i},ou=people,dc=example,dc=org`)], ['description', ['x'.repeat(70_000)]]]),
];

describe('createResponseDecoder', () => {
  test('entries read as ldapts reads them: single and multiple values, absent attributes as [], binary values as bytes', () => {
    const bytes = Buffer.concat(ENTRIES);
    const ours = decode(bytes, REQUESTED);
    const theirs = ldapts(bytes, REQUESTED);
    assert.equal(ours.entries.length, ENTRIES.length);
    assert.deepEqual(ours.entries.map(byLowerKey), theirs.entries.map(byLowerKey));
    assert.equal(ours.entries[0]!.employeeNumber, 'E1', 'named as requested, whatever case the server used');
    assert.deepEqual(ours.entries[2]!.title, NOT_UTF8, 'bytes that are not UTF-8 stay bytes');
    assert.deepEqual(ours.entries[3]!['member;range=0-1499'], ['CN=a,CN=Users,DC=samdom', 'CN=b,CN=Users,DC=samdom']);
    assert.deepEqual(ours.entries[3]!.member, [], 'the plain name is absent, as ldapts has it');
  });

  test('a message split across chunks at any point decodes the same', () => {
    const bytes = Buffer.concat([ENTRIES[0]!, ENTRIES[1]!, referenceMessage(2, 'ldap://x/dc=y'), doneMessage(2, 0, '', Buffer.from('c1'))]);
    const whole = decode(bytes, REQUESTED);
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.deepEqual(decode(bytes, REQUESTED, [cut]), whole, `cut at ${cut}`);
    }
    assert.deepEqual(decode(bytes, REQUESTED, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)), whole, 'one byte at a time');
    const big = Buffer.concat(ENTRIES);
    const cuts = Array.from({ length: Math.floor(big.length / 16_384) }, (_, i) => (i + 1) * 16_384);
    assert.deepEqual(decode(big, REQUESTED, cuts), decode(big, REQUESTED), 'TLS-record-sized chunks of a 150 kB group');
  });

  test('the end of a page carries the result code, the diagnostic and the paged-results cookie', () => {
    const bytes = Buffer.concat([referenceMessage(7, 'ldap://dc1/CN=Configuration,DC=x'), doneMessage(7, 0, '', Buffer.from([1, 2, 3])), doneMessage(8, 32, 'no such object'), doneMessage(9, 0, '')]);
    const ours = decode(bytes, []);
    assert.equal(ours.references, 1);
    assert.deepEqual(ours.done, [
      { messageId: 7, resultCode: 0, diagnostic: '', cookie: Buffer.from([1, 2, 3]) },
      { messageId: 8, resultCode: 32, diagnostic: 'no such object', cookie: Buffer.alloc(0) },
      { messageId: 9, resultCode: 0, diagnostic: '', cookie: Buffer.alloc(0) },
    ]);
    const theirs = ldapts(bytes, []).responses;
    assert.deepEqual(theirs.map((r) => [r.messageId, r.status, r.errorMessage]), ours.done.map((d) => [d.messageId, d.resultCode, d.diagnostic]));
    assert.deepEqual((theirs[0]!.controls?.[0] as PagedResultsControl).value?.cookie, ours.done[0]!.cookie);
  });

  test('malformed input is an error, never a silently wrong entry', () => {
    const good = ENTRIES[0]!;
    const wrongTag = Buffer.from(good);
    wrongTag[0] = 0x31;
    assert.throws(() => decode(wrongTag, REQUESTED), MalformedResponseError);
    const lying = Buffer.from(good);
    lying[lying.indexOf(Buffer.from('uid=jd')) - 1] = 0x7f; // DN length beyond the message
    assert.throws(() => decode(lying, REQUESTED), MalformedResponseError);
    const indefinite = Buffer.from([0x30, 0x80, 0x02, 0x01, 0x01]);
    assert.throws(() => decode(indefinite, REQUESTED), MalformedResponseError);
  });
});
