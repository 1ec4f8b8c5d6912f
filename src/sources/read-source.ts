/**
 * The one entry point for reading a source file: read the bytes, pick the
 * reader for the configured format, map the rows. A file that cannot be read
 * is an error (JmlError 'source_unreadable'), never an empty snapshot: an
 * empty snapshot would read as "everyone left".
 */
import { readFile } from 'node:fs/promises';
import { JmlError } from '../domain/errors.ts';
import type { IdentityDirectory, SourceSnapshot } from './source-record.ts';
import type { SourceTable } from './source-table.ts';
import { resolveSourceConfig, sourceColumns, type ResolvedSourceConfig, type SourceConfig } from './source-config.ts';
import { decodeSourceBytes, parseCsvTable } from './csv-reader.ts';
import { parseInventoryYaml } from './inventory-yaml-reader.ts';
import { mapSourceTable } from './record-mapper.ts';
import { EMPTY_DIRECTORY } from './reference-resolver.ts';

export interface ReadSourceOptions {
  /** The source's name under `sources:` (hr, vendor, …). */
  readonly name: string;
  /** The source's validated configuration (`sourceConfigSchema.parse(...)`). */
  readonly config: SourceConfig;
  readonly filePath: string;
  /** The organisation's IANA time zone. */
  readonly timezone: string;
  /** Existing identities for references; defaults to none (a first import). */
  readonly directory?: IdentityDirectory;
  /** The import's date (YYYY-MM-DD), for a status `from_dates` (required when the mapping uses it). */
  readonly asOf?: string;
}

/**
 * Reads a source file into its raw table (rows keyed by the file's columns),
 * before any mapping. `jml source check` shows these next to the mapped values.
 * @throws JmlError('source_unreadable') when the file cannot be read;
 *   JmlError('invalid_input') when it is binary or not text in the configured encoding.
 */
export async function readSourceTable(options: Pick<ReadSourceOptions, 'name' | 'config' | 'filePath'>): Promise<SourceTable> {
  const { config, filePath } = options;
  let bytes: Uint8Array;
  try {
    bytes = await readFile(filePath);
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw new JmlError('source_unreadable', `source ${options.name}: cannot read ${filePath} (${reason})`, {
      cause,
      details: { source: options.name, file: filePath },
    });
  }
  const decoded = decodeSourceBytes(bytes, config.encoding);
  // Not a held import (that is for an empty file): the file is not text in the source's encoding at all.
  if ('error' in decoded) throw new JmlError('invalid_input', `${filePath}: ${decoded.error}`, { details: { source: options.name, file: filePath } });
  const firstLine = decoded.text.slice(0, decoded.text.search(/\n|$/));
  if (firstLine.includes('\u0000')) {
    throw new JmlError('invalid_input', `${filePath}: a binary file, not a ${config.format.toUpperCase()} text (NUL bytes in its first line)`, { details: { source: options.name, file: filePath } });
  }
  if (config.format === 'yaml') return parseInventoryYaml(decoded.text, filePath);
  return parseCsvTable(decoded.text, { file: filePath, delimiter: config.delimiter, headerRows: config.headerRows });
}

/**
 * Reads, validates and maps a source file.
 * @throws JmlError('source_unreadable') when the file cannot be read.
 * @example
 * const snapshot = await readSource({ name: 'hr', config, filePath: 'people.csv', timezone: 'Europe/Berlin' });
 * if (snapshot.errors.length > 0) // reject the import (or skip those rows with --skip-invalid)
 */
export async function readSource(options: ReadSourceOptions): Promise<SourceSnapshot> {
  const table = await readSourceTable(options);
  return mapSourceTable(table, {
    source: options.name,
    config: resolveSourceConfig(options.config),
    timezone: options.timezone,
    directory: options.directory ?? EMPTY_DIRECTORY,
    ...(options.asOf ? { asOf: options.asOf } : {}),
  });
}

function fieldsByColumn(config: ResolvedSourceConfig): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const [field, { source }] of config.fields) {
    for (const column of new Set(sourceColumns(source))) result.set(column, [...(result.get(column) ?? []), field]);
  }
  return result;
}

function mappedValue(snapshot: SourceSnapshot, key: string | undefined, field: string): string | null | undefined {
  const record = snapshot.records.find((r) => r.key === key);
  if (!record) return undefined;
  if (field === 'key') return record.key;
  if (field === 'start_date') return record.startDate;
  if (field === 'end_date') return record.endDate;
  if (field === 'status') return record.status;
  if (field === 'kind') return record.kind;
  if (field === 'owner') return record.owner;
  if (field === 'sponsor') return record.sponsor;
  if (field === 'systems') return record.systems?.join(', ') ?? null;
  if (field === 'credentials' || field.startsWith('credential_')) return `${record.credentials?.length ?? 0} credential(s)`;
  return record.attributes[field] ?? null;
}

/**
 * The text `jml source check <source> <file>` prints: for the first `limit`
 * rows, each file column → canonical field → value, then every error.
 * Pure: pass what readSourceTable and mapSourceTable (or readSource) returned.
 */
export function formatSourceCheck(snapshot: SourceSnapshot, table: SourceTable, limit: number, config: SourceConfig): string {
  const resolved = resolveSourceConfig(config);
  const byColumn = fieldsByColumn(resolved);
  const keyField = resolved.fields.get('key')?.source;
  const keyColumn = keyField?.from === 'column' ? keyField.column : null;
  const lines = [
    `source ${snapshot.source} · ${snapshot.file} · ${snapshot.rowsTotal} row(s), ${snapshot.records.length} valid, ${snapshot.errors.length} error(s)`,
  ];
  const width = Math.max(8, ...table.columns.map((c) => c.length));
  for (const row of table.rows.slice(0, limit)) {
    const key = keyColumn ? row.values[keyColumn]?.trim() : undefined;
    const valid = snapshot.records.some((r) => r.key === key && r.row === row.row);
    lines.push('', `row ${row.row}${key ? `  ${key}` : ''}${valid ? '' : '  (invalid)'}`);
    const columns = table.fixedColumns ? table.columns : Object.keys(row.values);
    for (const column of columns) {
      const raw = row.values[column] ?? '';
      const fields = byColumn.get(column) ?? [];
      if (fields.length === 0) {
        lines.push(`  ${column.padEnd(width)}  (not mapped)       ${JSON.stringify(raw)}`);
        continue;
      }
      for (const field of fields) {
        const value = valid ? mappedValue(snapshot, key, field) : undefined;
        const shown = value === undefined ? JSON.stringify(raw) : `${JSON.stringify(value)}${value === raw.trim() ? '' : `  ← ${JSON.stringify(raw)}`}`;
        lines.push(`  ${column.padEnd(width)}  → ${field.padEnd(16)} ${shown}`);
      }
    }
    for (const [field, { source }] of resolved.fields) {
      if (source.from === 'const') lines.push(`  ${'(constant)'.padEnd(width)}  → ${field.padEnd(16)} ${JSON.stringify(source.value)}`);
    }
  }
  if (snapshot.errors.length === 0) lines.push('', `no problems: every row of ${snapshot.file} maps`);
  if (snapshot.errors.length > 0) {
    lines.push('', 'errors:');
    for (const e of snapshot.errors) {
      lines.push(`  ${e.file}:${e.row}${e.column ? ` [${e.column}]` : ''}  ${e.message}`);
    }
  }
  return lines.join('\n');
}
