/**
 * A throwaway certificate authority and server certificate for the test
 * peers, made with the `openssl` CLI (node:crypto cannot issue X.509
 * certificates). Clients trust `caPem` only, so TLS is verified for real.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

export interface TestTls {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caPem: string;
}

/**
 * Writes ca.pem, server.pem and server.key (mode 0600) into `dir`. The server
 * certificate names localhost, 127.0.0.1 and any extra DNS names given.
 */
export function makeTestTls(dir: string, dnsNames: readonly string[] = []): TestTls {
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const certFile = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  openssl('req', '-x509', ...ec, '-keyout', caKey, '-out', caFile, '-days', '7', '-subj', '/CN=jml test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', ...ec, '-keyout', keyFile, '-out', csr, '-subj', `/CN=${dnsNames[0] ?? 'localhost'}`);
  const san = ['DNS:localhost', 'IP:127.0.0.1', ...dnsNames.map((name) => `DNS:${name}`)].join(',');
  writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
  openssl('x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '7', '-extfile', ext);
  chmodSync(keyFile, 0o600);
  chmodSync(caKey, 0o600);
  return { dir, caFile, certFile, keyFile, caPem: readFileSync(caFile, 'utf8') };
}
