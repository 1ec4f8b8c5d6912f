/**
 * The SIEM stream against real receivers: Debian's rsyslog (TCP and TLS,
 * RFC 5425 octet counting, omfile) started on loopback by the harness, and a
 * node HTTPS server speaking the HEC protocol. Covers a receiver outage
 * (nothing lost, order kept) and a worker restart (resumes at the checkpoint,
 * duplicates only for the batch in flight).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testBackends } from '../support/backends.ts';
import { appendAudit } from '../../src/store/audit-log.ts';
import type { Database } from '../../src/store/database.ts';
import type { Kysely } from 'kysely';
import { hecSink, syslogSink, type SiemSink } from '../../src/app/siem/siem-sinks.ts';
import { runAuditStream, streamCursor } from '../../src/app/siem/siem-stream.ts';
import { rsyslogSkipReason, startRsyslog, type RsyslogPeer } from '../peers/rsyslog.ts';
import { makeTestTls } from '../peers/tls.ts';

const FAST = { baseDelayMs: 20, maxDelayMs: 200 };
const SUBJECTS = ['E1', 'E2', 'E3'];

async function seed(db: Kysely<Database>, from: number, count: number): Promise<void> {
  await appendAudit(db, Array.from({ length: count }, (_, i) => ({ actor: 'test', action: 'identity.edited', subject: SUBJECTS[(from + i) % 3]!, trigger: 'test', details: { n: from + i, text: 'quote " bracket ] backslash \\ ünïcode' } })), new Date('2026-12-05T10:00:00Z'));
}

/** seq, hash and subject of each syslog message received. */
function parsed(messages: readonly string[]): { seq: number; hash: string; subject: string }[] {
  return messages.map((m) => {
    const sd = /\[jml@32473 seq="(\d+)" hash="([0-9a-f]{64})" actor="[^"]*" subject="([^"]*)"/.exec(m);
    assert.ok(sd, `structured data in ${m.slice(0, 200)}`);
    return { seq: Number(sd[1]), hash: sd[2]!, subject: sd[3]! };
  });
}

function assertOrderPerIdentity(events: readonly { seq: number; subject: string }[]): void {
  const last = new Map<string, number>();
  for (const e of events) {
    assert.ok((last.get(e.subject) ?? 0) < e.seq || events.filter((x) => x.seq === e.seq).length > 1, `event ${e.seq} of ${e.subject} arrived after a later one`);
    last.set(e.subject, Math.max(last.get(e.subject) ?? 0, e.seq));
  }
}

describe('SIEM stream to rsyslog', { skip: rsyslogSkipReason(true) }, () => {
  let receiver: RsyslogPeer;
  before(async () => { receiver = await startRsyslog({ tls: true }); });
  after(async () => { await receiver?.close(); });

  for (const backend of testBackends()) {
    test(`entries reach rsyslog over TLS with their seq and hash, survive an outage without loss or reordering, and a restarted worker resumes at its checkpoint (${backend.name})`, async () => {
      const store = await backend.open();
      const name = `rsyslog-${backend.name}`;
      const already = receiver.messages().length;
      try {
        await seed(store.db, 0, 60);
        const sink = syslogSink({ host: '127.0.0.1', port: receiver.port, tls: { ca: receiver.tls!.caPem, servername: 'localhost' } });
        const first = await runAuditStream({ db: store.db, name, sink, format: 'syslog', batchSize: 25, untilCaughtUp: true, backoff: FAST });
        assert.deepEqual(first, { sent: 60, cursor: 60 });
        const received = parsed((await receiver.waitFor(already + 60)).slice(already));
        const rows = await store.db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq').execute();
        assert.deepEqual(received.map((r) => [r.seq, r.hash]), rows.map((r) => [Number(r.seq), r.hash]), 'every entry once, in order, with the hash jml audit verify checks');

        // Outage: the receiver is down while 40 more entries are written; the stream retries until it is back.
        await receiver.stop();
        await seed(store.db, 60, 40);
        let failures = 0;
        const second = await runAuditStream({
          db: store.db, name, sink, format: 'syslog', batchSize: 25, untilCaughtUp: true, backoff: FAST,
          onError: () => { failures++; },
          sleep: async (ms) => {
            if (failures === 3) await receiver.start();
            await new Promise((r) => setTimeout(r, ms));
          },
        });
        assert.ok(failures >= 3, `the outage was noticed (${failures} failed tries)`);
        assert.equal(second.cursor, 100);
        const afterOutage = parsed((await receiver.waitFor(already + 100)).slice(already));
        assert.deepEqual([...new Set(afterOutage.map((e) => e.seq))].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1), 'nothing lost');
        assertOrderPerIdentity(afterOutage);

        // Restart: the worker dies after handing a batch over but before committing its cursor.
        await seed(store.db, 100, 30);
        const crash = new AbortController();
        let batches = 0;
        const dying: SiemSink = {
          async send(records) {
            await sink.send(records);
            if (++batches === 1) {
              crash.abort();
              throw new Error('worker killed before commit');
            }
          },
          close: () => sink.close(),
        };
        await runAuditStream({ db: store.db, name, sink: dying, format: 'syslog', batchSize: 20, untilCaughtUp: true, backoff: FAST, signal: crash.signal });
        assert.equal(await streamCursor(store.db, name), 100, 'the batch in flight was not committed');
        const resumed = await runAuditStream({ db: store.db, name, sink, format: 'syslog', batchSize: 20, untilCaughtUp: true, backoff: FAST });
        assert.deepEqual(resumed, { sent: 30, cursor: 130 });
        const all = parsed((await receiver.waitFor(already + 100 + 20 + 30)).slice(already));
        const counts = new Map<number, number>();
        for (const e of all) counts.set(e.seq, (counts.get(e.seq) ?? 0) + 1);
        assert.deepEqual([...counts.keys()].sort((a, b) => a - b), Array.from({ length: 130 }, (_, i) => i + 1));
        const duplicated = [...counts].filter(([seq, n]) => n > 1 && seq > 100).map(([seq]) => seq).sort((a, b) => a - b);
        assert.deepEqual(duplicated, Array.from({ length: 20 }, (_, i) => 101 + i), 'duplicates only for the uncommitted batch');
        await sink.close();
      } finally {
        await store.close();
      }
    });
  }

  test('plain TCP syslog works too (octet-counted frames, one message per entry)', { skip: rsyslogSkipReason() }, async () => {
    const plain = await startRsyslog();
    const store = await testBackends()[0]!.open();
    try {
      await seed(store.db, 0, 5);
      const sink = syslogSink({ host: '127.0.0.1', port: plain.port });
      await runAuditStream({ db: store.db, name: 'tcp', sink, format: 'syslog', untilCaughtUp: true, backoff: FAST });
      await sink.close();
      assert.deepEqual(parsed(await plain.waitFor(5)).map((e) => e.seq), [1, 2, 3, 4, 5]);
    } finally {
      await store.close();
      await plain.close();
    }
  });
});

describe('SIEM stream to an HTTPS HEC receiver', () => {
  test('batches are POSTed with the HEC token; 503s are retried until accepted, in order, nothing lost', async () => {
    const tls = makeTestTls(mkdtempSync(join(tmpdir(), 'jml-hec-')));
    const received: { seq: number; hash: string }[] = [];
    const auth: string[] = [];
    let refuse = 2;
    const server = createServer({ key: readFileSync(tls.keyFile), cert: readFileSync(tls.certFile) }, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      req.on('end', () => {
        auth.push(req.headers.authorization ?? '');
        if (refuse-- > 0) {
          res.writeHead(503).end('{"text":"Server is busy","code":9}');
          return;
        }
        for (const line of body.split('\n')) {
          const event = JSON.parse(line) as { fields: { audit_seq: number; audit_hash: string } };
          received.push({ seq: event.fields.audit_seq, hash: event.fields.audit_hash });
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const store = await testBackends()[0]!.open();
    try {
      await seed(store.db, 0, 45);
      const url = `https://localhost:${(server.address() as AddressInfo).port}/services/collector/event`;
      const errors: string[] = [];
      const result = await runAuditStream({
        db: store.db, name: 'hec', sink: hecSink({ url, token: 'test-token', ca: tls.caPem }), format: 'hec', batchSize: 20, untilCaughtUp: true, backoff: FAST,
        onError: (e) => { errors.push((e as Error).message); },
      });
      assert.deepEqual(result, { sent: 45, cursor: 45 });
      assert.deepEqual(errors, ['HEC endpoint localhost:' + (server.address() as AddressInfo).port + ' answered 503', 'HEC endpoint localhost:' + (server.address() as AddressInfo).port + ' answered 503']);
      assert.deepEqual(received.map((r) => r.seq), Array.from({ length: 45 }, (_, i) => i + 1));
      const rows = await store.db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq').execute();
      assert.deepEqual(received.map((r) => r.hash), rows.map((r) => r.hash));
      assert.ok(auth.every((a) => a === 'Splunk test-token'));
    } finally {
      await store.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
