/**
 * A stream's destination written as a URL, as the CLI and config take it:
 * `file:///var/log/jml.ocsf`, `syslog://host:514` (TCP), `syslog+tls://host:6514`
 * (RFC 5425), or `https://host:8088/services/collector/event` (HEC).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JmlError } from '../../domain/errors.ts';
import type { SiemFormat } from './siem-formats.ts';
import { fileSink, hecSink, syslogSink, type SiemSink } from './siem-sinks.ts';

/** The format records take for a target: a syslog receiver always gets RFC 5424 syslog. */
export function targetFormat(target: string, format: SiemFormat): SiemFormat {
  return target.startsWith('syslog') ? 'syslog' : format;
}

export interface SiemTargetOptions {
  /** PEM file of the CA that signed the receiver's certificate (TLS syslog, HTTPS). */
  readonly caFile?: string;
  /** HEC token; read from the environment by the caller, never logged. */
  readonly token?: string;
}

/** The sink a target URL names. */
export function sinkFor(target: string, options: SiemTargetOptions = {}): SiemSink {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new JmlError('invalid_input', `--to must be a URL (file:, syslog:, syslog+tls: or https:), not ${JSON.stringify(target)}`);
  }
  const ca = options.caFile ? readFileSync(options.caFile) : undefined;
  const port = (fallback: number) => (url.port ? Number(url.port) : fallback);
  switch (url.protocol) {
    case 'file:': return fileSink(fileURLToPath(url));
    case 'syslog:': return syslogSink({ host: url.hostname, port: port(514) });
    case 'syslog+tls:': return syslogSink({ host: url.hostname, port: port(6514), tls: { ...(ca ? { ca } : {}) } });
    case 'https:':
      if (!options.token) throw new JmlError('invalid_input', 'an HEC endpoint needs a token: set it in the environment variable named by --token-env');
      return hecSink({ url: url.toString(), token: options.token, ...(ca ? { ca } : {}) });
    default:
      throw new JmlError('invalid_input', `unsupported SIEM target ${url.protocol} (use file:, syslog:, syslog+tls: or https:)`);
  }
}
