/**
 * A throwaway rsyslog receiver on 127.0.0.1 for the SIEM stream tests: its
 * own configuration in a temporary directory (never /etc/rsyslog.conf),
 * imtcp on a free port, plain TCP or TLS (RFC 5425, gtls driver, a test CA),
 * and omfile writing each message as received (`%rawmsg%`) to a file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, freePort, peerSkipReason, spawnPeer, waitForPort, type PeerProcess } from './peer-process.ts';
import { makeTestTls, type TestTls } from './tls.ts';

export interface RsyslogPeer {
  readonly port: number;
  readonly dir: string;
  readonly tls: TestTls | null;
  /** The messages received so far, one per line, in arrival order. */
  messages(): string[];
  /** Waits until at least `count` messages arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<string[]>;
  /** Stops the daemon; `start()` again brings it back on the same port and file (an outage). */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** For `describe(..., { skip: rsyslogSkipReason() })`. */
export function rsyslogSkipReason(tls = false): string | false {
  const missing = peerSkipReason('rsyslog', ['rsyslogd']);
  if (missing !== false || !tls) return missing;
  const driver = ['/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so', '/usr/lib/aarch64-linux-gnu/rsyslog/lmnsd_gtls.so'].some(existsSync);
  return driver ? false : peerSkipReason('rsyslog TLS', ['lmnsd_gtls (package rsyslog-gnutls)']);
}

/** Starts rsyslogd in the foreground with its own configuration. */
export async function startRsyslog(options: { readonly tls?: boolean } = {}): Promise<RsyslogPeer> {
  const binary = findBinary('rsyslogd');
  if (!binary) throw new Error('rsyslogd not found (run test/peers/install-debian.sh)');
  const dir = mkdtempSync(join(tmpdir(), 'jml-rsyslog-'));
  const port = await freePort();
  const tls = options.tls ? makeTestTls(join(dir, 'tls')) : null;
  const out = join(dir, 'received.log');
  const config = join(dir, 'rsyslog.conf');
  writeFileSync(config, [
    `global(workDirectory="${dir}" maxMessageSize="256k"${tls ? ` defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="${tls.caFile}" defaultNetstreamDriverCertFile="${tls.certFile}" defaultNetstreamDriverKeyFile="${tls.keyFile}"` : ''})`,
    tls ? 'module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")' : 'module(load="imtcp")',
    `input(type="imtcp" address="127.0.0.1" port="${port}")`,
    'template(name="raw" type="string" string="%rawmsg%\\n")',
    `action(type="omfile" file="${out}" template="raw" flushOnTXEnd="on" asyncWriting="off")`,
    '',
  ].join('\n'));
  let peer: PeerProcess | null = null;
  const start = async () => {
    peer = spawnPeer(binary, ['-n', '-f', config, '-i', join(dir, 'rsyslogd.pid')]);
    try {
      await waitForPort(port, 10_000, peer.child);
    } catch (error) {
      throw new Error(`rsyslogd did not start: ${(error as Error).message}\n${peer.output()}`);
    }
  };
  const messages = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((l) => l.length > 0) : []);
  await start();
  return {
    port, dir, tls, messages, start,
    async waitFor(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = messages();
        if (got.length >= count) return got;
        if (Date.now() > deadline) throw new Error(`rsyslog received ${got.length} of ${count} messages within ${timeoutMs} ms\n${peer?.output() ?? ''}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      await peer?.stop();
      peer = null;
    },
    async close() {
      await peer?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
