/**
 * Checks a mapping against a file's header before any row is read: a column
 * the user named must exist, and so must the columns of required fields. A
 * wrong delimiter shows up here (the whole header reads as one column), so the
 * message says so.
 */
import type { RowError } from './source-record.ts';
import { sourceColumns, type ResolvedField, type ResolvedSourceConfig } from './source-config.ts';
import type { SourceTable } from './source-table.ts';

const CANDIDATE_DELIMITERS = [',', ';', '\t', '|'];

function requiredFields(config: ResolvedSourceConfig): string[] {
  const names = config.fields.has('display_name') ? ['display_name'] : ['first_name', 'last_name'];
  if (config.type === 'nhi') return ['key', 'kind', 'display_name', 'owner'];
  return ['key', 'start_date', ...names];
}

function columnsOf(field: ResolvedField): readonly string[] {
  return [...new Set(sourceColumns(field.source))];
}

function shown(delimiter: string): string {
  return delimiter === '\t' ? 'a tab' : `'${delimiter}'`;
}

function hint(table: SourceTable, column: string): string {
  const { columns, delimiter } = table;
  if (columns.length === 1) {
    const only = columns[0] ?? '';
    const counts = CANDIDATE_DELIMITERS.filter((d) => d !== delimiter).map((d) => [d, only.split(d).length - 1] as const);
    const best = counts.sort((a, b) => b[1] - a[1])[0];
    if (best && best[1] > 0) return `; the header has 1 column — is the delimiter ${shown(best[0])}?`;
    return '; the header has 1 column';
  }
  const near = columns.find((c) => c.toLowerCase().replace(/[\s_-]/g, '') === column.toLowerCase().replace(/[\s_-]/g, ''));
  if (near) return `; did you mean "${near}"?`;
  return ` in the header (${columns.join(', ')})`;
}

/**
 * The fields that can be read from this file, and an error for every column
 * that must exist but does not. Default fields whose column is absent and that
 * are not required are dropped: an export need not carry every default column.
 */
export function checkColumns(
  table: SourceTable,
  config: ResolvedSourceConfig,
): { readonly errors: readonly RowError[]; readonly fields: ReadonlyMap<string, ResolvedField> } {
  if (!table.fixedColumns) return { errors: [], fields: config.fields };
  const present = new Set(table.columns);
  const required = new Set(requiredFields(config));
  const errors: RowError[] = [];
  const fields = new Map<string, ResolvedField>();
  for (const [name, field] of config.fields) {
    const missing = columnsOf(field).filter((c) => !present.has(c));
    if (missing.length === 0) fields.set(name, field);
    else if (field.explicit || required.has(name)) {
      for (const column of missing) {
        errors.push({ file: table.file, row: 0, column, message: `column ${column} not found${hint(table, column)}` });
      }
    }
  }
  for (const name of required) {
    if (!config.fields.has(name) && !(config.type === 'nhi' && name === 'kind')) {
      errors.push({ file: table.file, row: 0, column: null, message: `the mapping has no ${name}` });
    }
  }
  return { errors, fields };
}
