/**
 * A real SMTP server on loopback for notification tests: Debian's aiosmtpd
 * with its Mailbox handler, which stores every message it accepts in a Maildir.
 * With `tls`, the server offers STARTTLS with a throwaway CA and refuses mail
 * before it (aiosmtpd's require_starttls), so a client must verify the CA to deliver.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, skipUnlessPeer, spawnPeer, waitForPort } from './peer-process.ts';
import { makeTestTls, type TestTls } from './tls.ts';

const PYTHON = '/usr/bin/python3';

export interface DecodedEmail {
  readonly to: string;
  readonly from: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

// Decoding with the standard library of the same Python that runs the server: no MIME parser of our own to trust.
const DECODE = `
import email, email.policy, json, sys
out = []
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        m = email.message_from_binary_file(f, policy=email.policy.default)
    part = lambda t: (m.get_body(preferencelist=(t,)) or None)
    text, html = part('plain'), part('html')
    out.append({'to': str(m['to']), 'from': str(m['from']), 'subject': str(m['subject']),
                'text': text.get_content() if text else '', 'html': html.get_content() if html else ''})
print(json.dumps(out))
`;

export interface SmtpPeer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly tls: TestTls | null;
  /** Raw RFC 5322 messages received so far, oldest first. */
  messages(): string[];
  /** The same messages decoded by Python's email package (headers, text and HTML parts). */
  decoded(): DecodedEmail[];
  stop(): Promise<void>;
}

/** False when aiosmtpd can run here; else why not (for `test(..., { skip })`). */
export function smtpSkipReason(): string | false {
  const installed = existsSync(PYTHON) && ['/usr/lib/python3/dist-packages/aiosmtpd'].some((p) => existsSync(p));
  return skipUnlessPeer('SMTP (aiosmtpd)', installed ? false : 'python3-aiosmtpd is not installed (run test/peers/install-debian.sh as root)');
}

/** Starts aiosmtpd on a free loopback port; `tls` turns on required STARTTLS. */
export async function startSmtpServer(options: { readonly tls?: boolean } = {}): Promise<SmtpPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'jml-smtp-'));
  const maildir = join(dir, 'Maildir');
  const port = await freePort();
  const tls = options.tls ? makeTestTls(join(dir, 'tls')) : null;
  const args = ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, ...(tls ? ['--tlscert', tls.certFile, '--tlskey', tls.keyFile] : []), '-c', 'aiosmtpd.handlers.Mailbox', maildir];
  const peer = spawnPeer(PYTHON, args);
  try {
    await waitForPort(port, 15_000, peer.child);
  } catch (error) {
    await peer.stop();
    throw new Error(`aiosmtpd did not start: ${(error as Error).message}\n${peer.output()}`);
  }
  return {
    host: '127.0.0.1',
    port,
    tls,
    messages: () => {
      const fresh = join(maildir, 'new');
      if (!existsSync(fresh)) return [];
      return receivedFiles(fresh).map((file) => readFileSync(file, 'utf8'));
    },
    decoded: () => {
      const fresh = join(maildir, 'new');
      if (!existsSync(fresh)) return [];
      const files = receivedFiles(fresh);
      return JSON.parse(execFileSync(PYTHON, ['-c', DECODE, ...files], { encoding: 'utf8' })) as DecodedEmail[];
    },
    stop: async () => {
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Maildir file names do not sort by arrival within a second: order by modification time. */
function receivedFiles(dir: string): string[] {
  return readdirSync(dir).map((name) => join(dir, name)).map((file) => ({ file, at: statSync(file, { bigint: true }).mtimeNs }))
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.file < b.file ? -1 : 1)).map((f) => f.file);
}
