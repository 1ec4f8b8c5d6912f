/**
 * Where a SIEM stream goes: a file (or stdout), a syslog receiver over TCP or
 * TLS (RFC 5425 octet-counted frames), or an HTTPS endpoint that speaks
 * Splunk's HTTP Event Collector protocol. A sink sends one batch at a time and
 * resolves only once the batch is handed over (written to the socket with
 * its callback, or answered 2xx): the stream advances its cursor after that.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { isIP, connect as tcpConnect, type Socket } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { JmlError } from '../../domain/errors.ts';
import { octetFrame } from './siem-formats.ts';

export interface SiemSink {
  /** Sends the records of one batch, in order. Throws JmlError (retryable when a retry may succeed). */
  send(records: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Newline-separated records appended to a file, or written to a stream (stdout). */
export function fileSink(target: string | NodeJS.WritableStream): SiemSink {
  const out: NodeJS.WritableStream | WriteStream = typeof target === 'string' ? createWriteStream(target, { flags: 'a' }) : target;
  return {
    send: (records) => new Promise<void>((resolve, reject) => {
      if (records.length === 0) return resolve();
      out.write(`${records.join('\n')}\n`, (error) => (error ? reject(new JmlError('unavailable', `writing the SIEM file failed: ${error.message}`, { cause: error, retryable: true })) : resolve()));
    }),
    close: () => new Promise<void>((resolve) => (typeof target === 'string' ? (out as WriteStream).end(resolve) : resolve())),
  };
}

export interface SyslogSinkOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly ca?: string | Buffer; readonly servername?: string; readonly rejectUnauthorized?: boolean };
  readonly connectTimeoutMs?: number;
}

/**
 * RFC 5424 messages over TCP, or TLS (RFC 5425), octet-counted. The
 * connection is opened on first use and again after a failure; a failed
 * write drops the connection and throws a retryable error (the stream sends
 * the batch again: at-least-once).
 */
export function syslogSink(options: SyslogSinkOptions): SiemSink {
  let socket: Socket | TLSSocket | null = null;
  const open = () => new Promise<Socket | TLSSocket>((resolve, reject) => {
    const s = options.tls
      ? tlsConnect({ host: options.host, port: options.port, ca: options.tls.ca, servername: options.tls.servername ?? (isIP(options.host) ? undefined : options.host), rejectUnauthorized: options.tls.rejectUnauthorized ?? true })
      : tcpConnect({ host: options.host, port: options.port });
    const timer = setTimeout(() => s.destroy(new Error('connect timed out')), options.connectTimeoutMs ?? 5000);
    s.once(options.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      s.removeListener('error', fail);
      s.on('error', () => { if (socket === s) socket = null; });
      s.on('close', () => { if (socket === s) socket = null; });
      resolve(s);
    });
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(new JmlError('unavailable', `syslog receiver ${options.host}:${options.port} unreachable: ${error.message}`, { cause: error, retryable: true }));
    };
    s.once('error', fail);
  });
  return {
    async send(records) {
      if (records.length === 0) return;
      socket ??= await open();
      const s = socket;
      const payload = records.map(octetFrame).join('');
      await new Promise<void>((resolve, reject) => {
        s.write(payload, (error) => {
          if (!error) return resolve();
          s.destroy();
          if (socket === s) socket = null;
          reject(new JmlError('unavailable', `sending to syslog receiver ${options.host}:${options.port} failed: ${error.message}`, { cause: error, retryable: true }));
        });
      });
    },
    async close() {
      const s = socket;
      socket = null;
      if (s) await new Promise<void>((resolve) => s.end(resolve));
    },
  };
}

export interface HecSinkOptions {
  /** `https://host:8088/services/collector/event` */
  readonly url: string;
  readonly token: string;
  readonly ca?: string | Buffer;
  readonly timeoutMs?: number;
}

/** Batches POSTed to an HTTPS endpoint speaking Splunk HEC (`Authorization: Splunk <token>`, events one after another). */
export function hecSink(options: HecSinkOptions): SiemSink {
  const url = new URL(options.url);
  if (url.protocol !== 'https:') throw new JmlError('invalid_input', `the HEC endpoint must be https, not ${url.protocol}`);
  return {
    send: (records) => new Promise<void>((resolve, reject) => {
      if (records.length === 0) return resolve();
      const body = records.join('\n');
      const req = httpsRequest(url, {
        method: 'POST', ca: options.ca, timeout: options.timeoutMs ?? 10_000,
        headers: { authorization: `Splunk ${options.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve();
          const retryable = status === 429 || status >= 500;
          reject(new JmlError(retryable ? 'unavailable' : 'connector', `HEC endpoint ${url.host} answered ${status}`, { retryable, details: { status } }));
        });
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (error) => reject(new JmlError('unavailable', `HEC endpoint ${url.host} unreachable: ${error.message}`, { cause: error, retryable: true })));
      req.end(body);
    }),
    close: async () => undefined,
  };
}
