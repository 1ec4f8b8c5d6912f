/**
 * The wire formats jml streams its audit trail in. Each turns one classified
 * entry (siem-event.ts) into one record, and each carries the entry's
 * sequence number and hash so a SIEM can check it against `jml audit verify`.
 * - OCSF 1.8 JSON (or 1.9's User/Role Management classes with `ocsfVersion: '1.9'`)
 * - CEF:0, escaped as the CEF specification asks
 * - RFC 5424 syslog with jml's own structured-data element
 * - Splunk HEC event JSON
 */
import type { AuditEntry } from '../../store/audit-log.ts';
import { classify, type SiemClass, type SiemEvent } from './siem-event.ts';

export const SIEM_FORMATS = ['jsonl', 'ocsf', 'cef', 'syslog', 'hec'] as const;
export type SiemFormat = (typeof SIEM_FORMATS)[number];

export interface SiemFormatOptions {
  readonly ocsfVersion?: '1.8' | '1.9';
  /** HOSTNAME of syslog and `host` of HEC; default `jml`. */
  readonly hostname?: string;
  readonly productVersion?: string;
}

/**
 * SD-ID of jml's structured data. 32473 is the private enterprise number
 * RFC 5612 reserves for documentation; an organisation with its own number can substitute it.
 */
export const JML_SD_ID = 'jml@32473';

const CLASS_UID_18: Readonly<Record<SiemClass, number>> = { account_change: 3001, authentication: 3002, entity_management: 3004, user_access: 3005, base: 0 };
const CLASS_UID_19: Readonly<Record<SiemClass, number>> = { ...CLASS_UID_18, account_change: 3007, user_access: 3008 };
const CLASS_NAME: Readonly<Record<number, string>> = {
  0: 'Base Event', 3001: 'Account Change', 3002: 'Authentication', 3004: 'Entity Management', 3005: 'User Access Management', 3007: 'User Management', 3008: 'Role Management',
};

/** One entry as an OCSF event object. */
export function toOcsf(entry: AuditEntry, options: SiemFormatOptions = {}): Record<string, unknown> {
  const e = classify(entry);
  const version = options.ocsfVersion ?? '1.8';
  const classUid = (version === '1.9' ? CLASS_UID_19 : CLASS_UID_18)[e.cls];
  const time = Date.parse(entry.at);
  const user = { uid: e.target, name: e.target, type_id: 99 };
  const event: Record<string, unknown> = {
    class_uid: classUid,
    class_name: CLASS_NAME[classUid],
    category_uid: classUid === 0 ? 0 : 3,
    category_name: classUid === 0 ? 'Uncategorized' : 'Identity & Access Management',
    activity_id: e.activityId,
    activity_name: e.activityName,
    type_uid: classUid * 100 + e.activityId,
    severity_id: e.severityId,
    status_id: e.statusId,
    time,
    message: `${entry.action} ${entry.subject}`,
    metadata: {
      version: `${version}.0`,
      uid: entry.id,
      sequence: Number(entry.seq),
      log_name: 'jml-audit',
      logged_time: time,
      product: { name: 'jml', vendor_name: 'jml', version: options.productVersion ?? '0' },
    },
    actor: { user: { uid: entry.actor, name: entry.actor } },
    unmapped: { audit_seq: Number(entry.seq), audit_hash: entry.hash, audit_prev_hash: entry.prev_hash, action: entry.action, trigger: entry.trigger, details: entry.details },
  };
  if (e.cls === 'authentication') {
    event.user = user;
    event.auth_protocol_id = 99;
    event.is_mfa = false;
    event.service = { name: 'jml' };
  } else if (e.cls === 'account_change') {
    event.user = user;
  } else if (e.cls === 'user_access') {
    event.user = user;
    event.privileges = e.privileges;
    if (version === '1.9') event.role = { name: e.privileges.join(', ') || entry.action };
  } else if (e.cls === 'entity_management') {
    event.entity = { uid: e.target, name: e.target, type: 'identity' };
  }
  if (e.system !== null) event.dst_endpoint = { name: e.system };
  return event;
}

/** CEF header fields escape `\` and `|`. */
export function cefHeader(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

/** CEF extension values escape `\`, `=` and line breaks. */
export function cefValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r\n|\n/g, '\\n').replace(/\r/g, '\\r');
}

/** One entry as a CEF:0 line. */
export function toCef(entry: AuditEntry, options: SiemFormatOptions = {}): string {
  const e = classify(entry);
  const severity = [0, 1, 3, 5, 8, 10][e.severityId] ?? 1;
  const ext: [string, string][] = [
    ['rt', String(Date.parse(entry.at))],
    ['suser', entry.actor],
    ['duser', entry.subject],
    ['act', entry.action],
    ['outcome', e.statusId === 1 ? 'success' : 'failure'],
    ['externalId', entry.id],
    ['cn1Label', 'auditSeq'], ['cn1', String(entry.seq)],
    ['cs1Label', 'auditHash'], ['cs1', entry.hash],
    ['cs2Label', 'trigger'], ['cs2', entry.trigger],
    ['cs3Label', 'ocsfClass'], ['cs3', String(CLASS_UID_18[e.cls])],
  ];
  if (e.system) ext.push(['dhost', e.system]);
  if (e.privileges.length > 0) ext.push(['cs4Label', 'privileges'], ['cs4', e.privileges.join(',')]);
  if (entry.details !== null) ext.push(['msg', JSON.stringify(entry.details)]);
  const header = ['CEF:0', 'jml', 'jml', options.productVersion ?? '0', entry.action, `${entry.action} ${entry.subject}`, String(severity)].map((v, i) => (i === 0 ? v : cefHeader(v)));
  return `${header.join('|')}|${ext.map(([k, v]) => `${k}=${cefValue(v)}`).join(' ')}`;
}

/** RFC 5424 PARAM-VALUE escapes `"`, `\` and `]`. */
export function sdValue(value: string): string {
  return value.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

/** Syslog severity from OCSF severity_id: informational → 6, low → 5, medium → 4, high → 3, critical → 2. */
const SYSLOG_SEVERITY = [6, 6, 5, 4, 3, 2];
/** authpriv (10): security/authorisation messages. */
const FACILITY = 10;

/** One entry as an RFC 5424 message (without transport framing). */
export function toSyslog(entry: AuditEntry, options: SiemFormatOptions = {}): string {
  const e = classify(entry);
  const pri = FACILITY * 8 + (SYSLOG_SEVERITY[e.severityId] ?? 6);
  const host = (options.hostname ?? 'jml').replace(/[^\x21-\x7e]/g, '').slice(0, 255) || '-';
  const msgid = entry.action.replace(/[^\x21-\x7e]/g, '').slice(0, 32) || '-';
  const params: [string, string][] = [['seq', String(entry.seq)], ['hash', entry.hash], ['actor', entry.actor], ['subject', entry.subject], ['trigger', entry.trigger], ['class', String(CLASS_UID_18[e.cls])]];
  const sd = `[${JML_SD_ID} ${params.map(([k, v]) => `${k}="${sdValue(v)}"`).join(' ')}]`;
  const msg = JSON.stringify({ seq: Number(entry.seq), hash: entry.hash, action: entry.action, subject: entry.subject, details: entry.details, before: entry.before, after: entry.after });
  return `<${pri}>1 ${entry.at} ${host} jml - ${msgid} ${sd} ${msg}`;
}

/** RFC 5425/6587 octet counting: `LEN SP MSG`, LEN in bytes. */
export function octetFrame(message: string): string {
  return `${Buffer.byteLength(message)} ${message}`;
}

/** One entry as a Splunk HEC event object. */
export function toHec(entry: AuditEntry, options: SiemFormatOptions = {}): Record<string, unknown> {
  return {
    time: Date.parse(entry.at) / 1000,
    host: options.hostname ?? 'jml',
    source: 'jml',
    sourcetype: 'jml:audit',
    event: { ...entry, seq: Number(entry.seq) },
    fields: { audit_seq: Number(entry.seq), audit_hash: entry.hash, action: entry.action },
  };
}

/** One entry as one line of the format (syslog without framing). */
export function formatEntry(format: SiemFormat, entry: AuditEntry, options: SiemFormatOptions = {}): string {
  switch (format) {
    case 'jsonl': return JSON.stringify(entry);
    case 'ocsf': return JSON.stringify(toOcsf(entry, options));
    case 'cef': return toCef(entry, options);
    case 'syslog': return toSyslog(entry, options);
    case 'hec': return JSON.stringify(toHec(entry, options));
  }
}

export type { SiemEvent };
