/**
 * The TLS session of a socket as `jml system test` reports it, and a probe
 * that opens one to an https host to describe it (fetch does not expose the
 * session it used).
 */
import { connect, TLSSocket, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TlsSession } from './connector.ts';

function nameOf(name: PeerCertificate['subject'] | undefined): string {
  if (!name) return '';
  if (name.CN) return String(name.CN);
  return Object.entries(name).map(([k, v]) => `${k}=${String(v)}`).join(', ');
}

/** The session of a TLS socket; null for a plain one. */
export function tlsSessionOf(socket: Duplex | undefined): TlsSession | null {
  if (!(socket instanceof TLSSocket)) return null;
  const cert = socket.getPeerCertificate();
  return {
    protocol: socket.getProtocol() ?? '',
    cipher: socket.getCipher()?.name ?? '',
    subject: nameOf(cert.subject),
    issuer: nameOf(cert.issuer),
    validTo: cert.valid_to ?? '',
    fingerprint256: cert.fingerprint256 ?? '',
  };
}

/**
 * Opens a TLS connection to the host of an https URL, verifying it as a request
 * would, and describes the session. Rejects as the handshake fails (bad
 * certificate, wrong name, nothing listening).
 */
export function probeTls(url: string, options: Pick<ConnectionOptions, 'ca'> & { readonly timeoutMs: number }): Promise<TlsSession> {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port || 443), ...(isIP(host) ? {} : { servername: host }), ...(options.ca ? { ca: options.ca } : {}), minVersion: 'TLSv1.2' });
    socket.setTimeout(options.timeoutMs, () => socket.destroy(Object.assign(new Error(`TLS handshake with ${host} timed out`), { code: 'ETIMEDOUT' })));
    socket.once('secureConnect', () => {
      const session = tlsSessionOf(socket);
      socket.end();
      resolve(session!);
    });
    socket.once('error', reject);
  });
}
