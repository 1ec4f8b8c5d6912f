/**
 * One row seen through the resolved mapping: canonical field → value, and
 * where in the file that value came from (for error messages). Evaluates
 * `first_of`, `cases`, templates and value maps. Pure.
 */
import type { SourceRow } from './source-table.ts';
import { normaliseMapKey, type ResolvedField, type ValueMap, type ValueSource } from './source-config.ts';
import { testCondition } from './case-condition.ts';

/** The mapping's view of one row: values by canonical field, and where each came from. */
export interface RowReader {
  readonly file: string;
  /** The trimmed value after every value map; null when empty, unmapped or mapped to "" (no value). */
  value(field: string): string | null;
  /** The trimmed text the value was read from, before the value maps (for messages). */
  raw(field: string): string | null;
  /** The file column the value came from (for a first_of, the part that gave it). */
  column(field: string): string | null;
  /** The date format of the part that gave the value (`iso` when none is configured). */
  format(field: string): string;
  /** Why a field could not be evaluated (a `cases` number comparison on a non-number). */
  problem(field: string): { readonly column: string; readonly message: string } | null;
  /** The line of a field's value. */
  line(field: string): number;
  has(field: string): boolean;
}

interface Evaluated {
  readonly value: string | null;
  readonly raw: string | null;
  readonly column: string | null;
  readonly format: string | null;
  readonly problem: { readonly column: string; readonly message: string } | null;
}

const NOTHING: Evaluated = { value: null, raw: null, column: null, format: null, problem: null };

function mapped(value: string | null, map: ValueMap | null): string | null {
  if (value === null || !map) return value;
  const to = map.get(normaliseMapKey(value));
  return to === undefined ? value : to.trim() || null;
}

/** Reads canonical fields from one row through the resolved mapping. */
export function createRowReader(row: SourceRow, fields: ReadonlyMap<string, ResolvedField>, file: string): RowReader {
  const cell = (column: string): string | null => {
    const v = row.values[column]?.trim();
    return v ? v : null;
  };
  const evaluate = (source: ValueSource): Evaluated => {
    switch (source.from) {
      case 'const':
        return { ...NOTHING, value: source.value.trim() || null, raw: source.value.trim() || null };
      case 'dates':
        return { ...NOTHING, value: 'from_dates', raw: 'from_dates' };
      case 'column': {
        const raw = cell(source.column);
        return { value: mapped(raw, source.map), raw, column: source.column, format: source.format, problem: null };
      }
      case 'template': {
        const column = source.columns[0] ?? null;
        if (source.columns.every((c) => cell(c) === null)) return { ...NOTHING, column, format: source.format };
        const raw = source.template.replace(/\{([^}]+)\}/g, (_, c: string) => cell(c) ?? '').replace(/\s+/g, ' ').trim() || null;
        return { value: mapped(raw, source.map), raw, column, format: source.format, problem: null };
      }
      case 'first_of': {
        for (const part of source.parts) {
          const got = evaluate(part);
          if (got.problem || got.value !== null) return { ...got, value: mapped(got.value, source.map) };
        }
        const first = source.parts[0] ? evaluate(source.parts[0]) : NOTHING;
        return { ...NOTHING, column: first.column, format: first.format };
      }
      case 'cases': {
        for (const c of source.cases) {
          const test = testCondition(c.when, cell);
          if ('error' in test) return { ...NOTHING, column: test.column, problem: { column: test.column, message: test.error } };
          if (test.matches) {
            const got = evaluate(c.value);
            return { ...got, value: mapped(got.value, source.map) };
          }
        }
        if (!source.fallback) return NOTHING;
        const got = evaluate(source.fallback);
        return { ...got, value: mapped(got.value, source.map) };
      }
    }
  };
  const cache = new Map<string, Evaluated>();
  const read = (field: string): Evaluated => {
    let got = cache.get(field);
    if (!got) {
      const f = fields.get(field);
      got = f ? evaluate(f.source) : NOTHING;
      cache.set(field, got);
    }
    return got;
  };
  return {
    file,
    value: (field) => read(field).value,
    raw: (field) => read(field).raw,
    column: (field) => read(field).column,
    format: (field) => read(field).format ?? 'iso',
    problem: (field) => read(field).problem,
    has: (field) => fields.has(field),
    line: (field) => {
      const c = read(field).column;
      return (c && row.lines?.[c]) || row.row;
    },
  };
}
