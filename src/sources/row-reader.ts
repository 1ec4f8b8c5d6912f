/**
 * One row seen through the resolved mapping: canonical field → value, and
 * where in the file that value came from (for error messages). Pure.
 */
import type { SourceRow } from './source-table.ts';
import { normaliseMapKey, type ResolvedField } from './source-config.ts';

/** The mapping's view of one row: values by canonical field, and where each came from. */
export interface RowReader {
  readonly file: string;
  /** The trimmed, mapped value of a field; null when empty or unmapped. */
  value(field: string): string | null;
  /** The trimmed raw value before any value map. */
  raw(field: string): string | null;
  /** The file column a field is read from (first one of a template). */
  column(field: string): string | null;
  /** The line of a field's value. */
  line(field: string): number;
  has(field: string): boolean;
}

/** Reads canonical fields from one row through the resolved mapping. */
export function createRowReader(row: SourceRow, fields: ReadonlyMap<string, ResolvedField>, file: string): RowReader {
  const cell = (column: string): string | null => {
    const v = row.values[column]?.trim();
    return v ? v : null;
  };
  const raw = (field: string): string | null => {
    const f = fields.get(field)?.source;
    if (!f) return null;
    if (f.from === 'const') return f.value || null;
    if (f.from === 'template') {
      if (f.columns.every((c) => cell(c) === null)) return null;
      return f.template.replace(/\{([^}]+)\}/g, (_, c: string) => cell(c) ?? '').replace(/\s+/g, ' ').trim() || null;
    }
    return cell(f.column);
  };
  const column = (field: string): string | null => {
    const f = fields.get(field)?.source;
    return !f || f.from === 'const' ? null : f.from === 'column' ? f.column : (f.columns[0] ?? null);
  };
  return {
    file,
    raw,
    column,
    has: (field) => fields.has(field),
    line: (field) => {
      const c = column(field);
      return (c && row.lines?.[c]) || row.row;
    },
    value(field) {
      const v = raw(field);
      const f = fields.get(field)?.source;
      if (v === null || f?.from !== 'column' || !f.map) return v;
      return f.map.get(normaliseMapKey(v)) ?? v;
    },
  };
}
