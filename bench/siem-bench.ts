/**
 * SIEM streaming benchmark: an audit trail of N entries (default 1,000,000;
 * a mix of account changes, grants, sign-ins and lifecycle events), then the
 * stream (src/app/siem/siem-stream.ts: read after the cursor, format, send,
 * commit the cursor) in each format to a file, and in syslog to a real
 * rsyslog over TLS (RFC 5425), and in HEC to a local HTTPS receiver.
 *
 *   node bench/siem-bench.ts [--entries N] [--backend pglite|postgres] [--json]
 *
 * Goal (issue 13): ≥ 20,000 events/s to a file, ≥ 5,000 events/s over TLS syslog.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { appendAudit, type AuditEntryInput } from '../src/store/audit-log.ts';
import { openStore } from '../src/store/open-store.ts';
import { SIEM_FORMATS } from '../src/app/siem/siem-formats.ts';
import { fileSink, hecSink, syslogSink } from '../src/app/siem/siem-sinks.ts';
import { runAuditStream } from '../src/app/siem/siem-stream.ts';
import { createScratchDatabase } from '../test/support/scratch-database.ts';
import { rsyslogSkipReason, startRsyslog } from '../test/peers/rsyslog.ts';
import { makeTestTls } from '../test/peers/tls.ts';

const { values } = parseArgs({ options: { entries: { type: 'string', default: '1000000' }, backend: { type: 'string', default: 'pglite' }, json: { type: 'boolean' } } });
const N = Number(values.entries);
const BATCH = 5000;
const dir = mkdtempSync(path.join(tmpdir(), 'jml-siem-bench-'));
const scratch = values.backend === 'postgres' ? await createScratchDatabase(process.env.DATABASE_URL ?? process.env.JML_TEST_DATABASE_URL ?? '', 'jml_bench') : null;
const store = await openStore(scratch ? { databaseUrl: scratch.url } : { dataDir: 'memory://' });
const results: Record<string, unknown>[] = [];
/** Issue 13's goals, in events/s, by workload. */
const goalOf = (name: string): number | null => (name.startsWith('file ') ? 20_000 : name.startsWith('tls syslog') ? 5_000 : null);
const report = (name: string, events: number, ms: number, extra: Record<string, unknown> = {}) => {
  const perSecond = Math.round(events / (ms / 1000));
  const goal = goalOf(name);
  const load = loadavg()[0]!.toFixed(1);
  results.push({ workload: name, backend: values.backend, events, ms: Math.round(ms), perSecond, goal, load, ...extra });
  const verdict = goal === null ? 'no goal' : `goal ≥ ${goal.toLocaleString('en')}/s ${perSecond >= goal ? 'met' : 'MISSED'}`;
  if (!values.json) console.log(`${name.padEnd(22)} ${String(events).padStart(8)} events in ${(ms / 1000).toFixed(1).padStart(6)} s = ${String(perSecond).padStart(7)} events/s  ${verdict}, load ${load}${extra.note ? `  (${String(extra.note)})` : ''}`);
};

function* entries(): Generator<AuditEntryInput> {
  const kinds = ['create_account', 'add_grant', 'remove_grant', 'disable_account'];
  for (let i = 0; i < N; i++) {
    const who = `E${String(i % 10000).padStart(5, '0')}`;
    const r = i % 10;
    if (r < 6) yield { actor: 'worker:1', action: 'change.confirmed', subject: who, trigger: `plan:p${i >> 10}`, details: { change: `c${i}`, kind: kinds[i % 4], system: 'directory', entitlement: 'staff', attempts: 1 } };
    else if (r < 8) yield { actor: who, action: 'auth.signed_in', subject: who, trigger: 'api:req', details: { method: 'oidc' } };
    else yield { actor: 'cli:hr', action: 'lifecycle.mover', subject: who, trigger: 'import:x', after: { changes: { department: ['A', 'B'] } } };
  }
}

try {
  let t = performance.now();
  await appendAudit(store.db, entries(), new Date('2026-12-05T10:00:00Z'));
  report('seed audit trail', N, performance.now() - t, { note: `${values.backend}` });

  for (const format of SIEM_FORMATS) {
    const file = path.join(dir, `out.${format}`);
    const sink = fileSink(file);
    t = performance.now();
    const { sent } = await runAuditStream({ db: store.db, name: `file-${format}`, sink, format, batchSize: BATCH, untilCaughtUp: true });
    await sink.close();
    report(`file ${format}`, sent, performance.now() - t, { note: `${Math.round(statSync(file).size / 2 ** 20)} MiB` });
    rmSync(file);
  }

  const skip = rsyslogSkipReason(true);
  if (skip) console.log(`tls syslog skipped: ${skip}`);
  else {
    const receiver = await startRsyslog({ tls: true });
    try {
      const sink = syslogSink({ host: '127.0.0.1', port: receiver.port, tls: { ca: receiver.tls!.caPem, servername: 'localhost' } });
      t = performance.now();
      const { sent } = await runAuditStream({ db: store.db, name: 'tls-syslog', sink, format: 'syslog', batchSize: BATCH, untilCaughtUp: true });
      const handedOver = performance.now() - t;
      await receiver.waitFor(sent, 600_000);
      const written = performance.now() - t;
      await sink.close();
      report('tls syslog (sent)', sent, handedOver);
      report('tls syslog (in file)', sent, written, { note: 'until rsyslog wrote every message' });
    } finally {
      await receiver.close();
    }
  }

  const tls = makeTestTls(path.join(dir, 'tls'));
  let received = 0;
  const server = createServer({ key: readFileSync(tls.keyFile), cert: readFileSync(tls.certFile) }, (req, res) => {
    let lines = 0;
    req.on('data', (c: Buffer) => { for (const b of c) if (b === 10) lines++; });
    req.on('end', () => { received += lines + 1; res.writeHead(200).end('{"text":"Success","code":0}'); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const sink = hecSink({ url: `https://localhost:${(server.address() as AddressInfo).port}/services/collector/event`, token: 'bench', ca: tls.caPem });
    t = performance.now();
    const { sent } = await runAuditStream({ db: store.db, name: 'hec', sink, format: 'hec', batchSize: BATCH, untilCaughtUp: true });
    report('https hec', sent, performance.now() - t, { note: `receiver counted ${received}` });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  if (values.json) for (const r of results) console.log(JSON.stringify(r));
} finally {
  await store.close();
  await scratch?.drop();
  rmSync(dir, { recursive: true, force: true });
}
