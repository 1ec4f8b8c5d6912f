/**
 * The SIEM stream as a job of the worker: a stream configured under
 * `audit.streams` is sent by `jml worker`'s runtime to a real rsyslog over
 * TLS, slice after slice, and a worker started again after a stop resumes at
 * the stream's checkpoint: every entry arrives, in seq order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import { parseConfigText } from '../../src/app/config-file.ts';
import { streamCursor } from '../../src/app/siem/siem-stream.ts';
import { startWorkerRuntime } from '../../src/jobs/worker-runtime.ts';
import { appendAudit } from '../../src/store/audit-log.ts';
import type { Database } from '../../src/store/database.ts';
import { testBackends } from '../support/backends.ts';
import { FAKE_WIKI_POLICY, writePolicyDir } from '../support/jml-fixture.ts';
import { rsyslogSkipReason, startRsyslog, type RsyslogPeer } from '../peers/rsyslog.ts';

async function seed(db: Kysely<Database>, from: number, count: number): Promise<void> {
  await appendAudit(db, Array.from({ length: count }, (_, i) => ({ actor: 'test', action: 'identity.edited', subject: `E${(from + i) % 3}`, trigger: 'test', details: { n: from + i } })), new Date('2026-12-05T10:00:00Z'));
}

/** The audit seq of each syslog message received. */
function seqs(messages: readonly string[]): number[] {
  return messages.map((m) => {
    const sd = /\[jml@32473 seq="(\d+)"/.exec(m);
    assert.ok(sd, `structured data in ${m.slice(0, 200)}`);
    return Number(sd[1]);
  });
}

describe('SIEM stream run by the worker', { skip: rsyslogSkipReason(true) }, () => {
  let receiver: RsyslogPeer;
  before(async () => { receiver = await startRsyslog({ tls: true }); });
  after(async () => { await receiver?.close(); });

  for (const backend of testBackends()) {
    test(`a stream configured in audit.streams is delivered by the worker to rsyslog over TLS, and a restarted worker resumes at its checkpoint without losing an entry (${backend.name})`, async () => {
      const name = `siem-${backend.name}`;
      const config = parseConfigText(
        [
          'audit:',
          '  streams:',
          `    - name: ${name}`,
          `      target: syslog+tls://127.0.0.1:${receiver.port}`,
          '      format: ocsf',
          '      batch_size: 20',
          `      ca_file: ${receiver.tls!.caFile}`,
          '',
        ].join('\n'),
        'jml.config.yaml',
      );
      const store = await backend.open();
      const already = receiver.messages().length;
      const start = () => startWorkerRuntime({
        store,
        config: { ...config, policy_dir: writePolicyDir(FAKE_WIKI_POLICY) },
        actor: 'worker:test',
        // Short slices: the stream passes from one job to the next several times within the test.
        options: { schedules: false, auditStreamTiming: { sliceMs: 700, idleMs: 50 } },
      });
      const head = async () => (await store.db.selectFrom('audit_log').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow()).seq;
      /** Until rsyslog wrote every entry up to the audit head (the worker writes entries of its own too). */
      const caughtUp = async () => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const last = Number(await head());
          if (seqs(receiver.messages().slice(already)).includes(last)) return;
          assert.ok(Date.now() < deadline, `rsyslog did not receive entry ${last} within 30 s`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      try {
        await seed(store.db, 0, 50);
        let workers = await start();
        await caughtUp();
        // Past a slice boundary: the next slice (another job) carries on.
        await new Promise((r) => setTimeout(r, 1500));
        await seed(store.db, 50, 30);
        await caughtUp();
        await workers.stop();
        const checkpoint = await streamCursor(store.db, name);

        // Entries written while no worker runs wait at the checkpoint.
        await seed(store.db, 80, 45);
        assert.ok(Number(await head()) > checkpoint);
        workers = await start();
        try {
          await caughtUp();
          const got = seqs(receiver.messages().slice(already));
          const deduplicated = [...new Set(got)];
          const all = (await store.db.selectFrom('audit_log').select('seq').orderBy('seq').execute()).map((r) => Number(r.seq));
          assert.deepEqual(deduplicated, all, 'every entry once at least, in seq order');
          assert.ok(got.length - deduplicated.length <= 20, `duplicates at most one batch (at-least-once): ${got.length - deduplicated.length}`);
          assert.ok(got.length >= 125);
        } finally {
          await workers.stop();
        }
      } finally {
        await store.close();
      }
    });
  }
});
