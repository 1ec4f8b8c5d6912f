/**
 * Credentials of a non-human identity in the inventory: API keys, secrets,
 * tokens, certificates, with created, last rotated and expiry times as ISO
 * instants (a date alone means 00:00 in the organisation's time zone). Pure.
 */
import { parse as parseYaml } from 'yaml';
import { CREDENTIAL_KINDS, type CredentialKind } from '../domain/identity.ts';
import type { CredentialRecord, RowError } from './source-record.ts';
import { parseInstant } from './date-format.ts';
import type { ResolvedField } from './source-config.ts';
import type { RowReader } from './row-reader.ts';
import type { SourceRow } from './source-table.ts';

export const CREDENTIAL_PARTS = ['system', 'kind', 'name', 'created', 'last_rotated', 'expires'] as const;
export type CredentialPart = (typeof CREDENTIAL_PARTS)[number];

/** One credential as read from a row, a YAML-form cell or a nested YAML entry. */
export interface CredentialEntry {
  readonly file: string;
  readonly values: Readonly<Partial<Record<CredentialPart, string>>>;
  /** Line of each part (YAML entries span lines). */
  readonly rowOf: (part: CredentialPart) => number;
  /** The file's column each part came from, for messages. */
  readonly columnOf: (part: CredentialPart) => string | null;
  /** Date format of the time parts. */
  readonly formatOf: (part: 'created' | 'last_rotated' | 'expires') => string;
}

export type CredentialResult = { readonly credential: CredentialRecord } | { readonly errors: readonly RowError[] };

function credentialKind(value: string): CredentialKind | null {
  const normal = value.trim().toLowerCase().replace(/[\s-]+/g, '_');
  const aliases: Readonly<Record<string, CredentialKind>> = { key: 'api_key', apikey: 'api_key', cert: 'certificate', ssh: 'ssh_key' };
  if ((CREDENTIAL_KINDS as readonly string[]).includes(normal)) return normal as CredentialKind;
  // Own keys only: "constructor" or "toString" must not come back as Object.prototype's functions.
  return Object.hasOwn(aliases, normal) ? (aliases[normal] ?? null) : null;
}

/** Validates one credential entry; every problem comes back as a row error. */
export function mapCredential(entry: CredentialEntry, timezone: string): CredentialResult {
  const errors: RowError[] = [];
  const fail = (part: CredentialPart, message: string): null => {
    errors.push({ file: entry.file, row: entry.rowOf(part), column: entry.columnOf(part), message });
    return null;
  };
  const text = (part: CredentialPart): string | null => {
    const v = entry.values[part]?.trim();
    return v ? v : null;
  };
  const system = text('system') ?? fail('system', 'credential system missing');
  const name = text('name') ?? fail('name', 'credential name missing');
  const kindText = text('kind');
  const kind = kindText
    ? (credentialKind(kindText) ?? fail('kind', `unknown credential kind "${kindText}" (use ${CREDENTIAL_KINDS.join(', ')})`))
    : fail('kind', 'credential kind missing');
  const instant = (part: 'created' | 'last_rotated' | 'expires'): string | null => {
    const v = text(part);
    if (v === null) return null;
    const format = entry.formatOf(part);
    return parseInstant(v, format, timezone) ?? fail(part, `invalid date "${v}" for format ${format}`);
  };
  const createdText = text('created');
  const createdAt = createdText === null ? fail('created', 'credential created time missing') : instant('created');
  const lastRotatedAt = instant('last_rotated');
  const expiresAt = instant('expires');
  if (errors.length > 0 || !system || !name || !kind || !createdAt) return { errors };
  return { credential: { system, kind, name, createdAt, lastRotatedAt, expiresAt } };
}

/**
 * Reads the YAML form of a `credentials` cell, e.g.
 * `[{ system: github, kind: api_key, name: deploy-key, created: 2025-01-10 }]`.
 * Returns the entries' values as strings, or why the cell cannot be read.
 */
export function parseCredentialCell(
  cell: string,
): { readonly entries: readonly Partial<Record<CredentialPart, string>>[] } | { readonly error: string } {
  let data: unknown;
  try {
    data = parseYaml(cell);
  } catch (error) {
    return { error: `credentials are not valid YAML: ${(error as Error).message.split('\n')[0]}` };
  }
  const list = Array.isArray(data) ? data : data && typeof data === 'object' ? [data] : null;
  if (!list || list.some((item) => !item || typeof item !== 'object' || Array.isArray(item))) {
    return { error: 'credentials must be a YAML list of { system, kind, name, created, last_rotated, expires }' };
  }
  return {
    entries: list.map((item: Record<string, unknown>) => {
      const values: Partial<Record<CredentialPart, string>> = {};
      for (const part of CREDENTIAL_PARTS) {
        const v = item[part];
        if (v !== undefined && v !== null) values[part] = String(v);
      }
      return values;
    }),
  };
}

/**
 * Every credential of one inventory row, from whichever form the file uses:
 * nested YAML entries, a YAML-form `credentials` cell, or the credential_*
 * columns of the row. Problems go to `report`; valid credentials are returned.
 */
export function readCredentials(
  row: SourceRow,
  read: RowReader,
  fields: ReadonlyMap<string, ResolvedField>,
  timezone: string,
  report: (error: RowError) => void,
): CredentialRecord[] {
  const entries: CredentialEntry[] = [];
  for (const nested of row.credentials ?? []) {
    entries.push({
      file: read.file,
      values: nested.values,
      rowOf: (part) => nested.lines?.[part] ?? nested.row,
      columnOf: (part) => part,
      formatOf: () => 'iso',
    });
  }
  const cell = read.value('credentials');
  if (cell !== null) {
    const parsed = parseCredentialCell(cell);
    if ('error' in parsed) report({ file: read.file, row: read.line('credentials'), column: read.column('credentials'), message: parsed.error });
    else {
      for (const values of parsed.entries) {
        entries.push({
          file: read.file,
          values,
          rowOf: () => read.line('credentials'),
          columnOf: () => read.column('credentials'),
          formatOf: () => 'iso',
        });
      }
    }
  }
  const field = (part: CredentialPart): string => `credential_${part}`;
  if (read.value('credential_system') !== null || read.value('credential_name') !== null) {
    const values: Partial<Record<CredentialPart, string>> = {};
    for (const part of CREDENTIAL_PARTS) {
      const v = read.value(field(part));
      if (v !== null) values[part] = v;
    }
    entries.push({
      file: read.file,
      values,
      rowOf: (part) => read.line(field(part)),
      columnOf: (part) => read.column(field(part)),
      formatOf: (part) => read.format(field(part)),
    });
  }
  const credentials: CredentialRecord[] = [];
  for (const entry of entries) {
    const result = mapCredential(entry, timezone);
    if ('credential' in result) credentials.push(result.credential);
    else result.errors.forEach(report);
  }
  return credentials;
}
