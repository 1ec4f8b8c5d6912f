/**
 * Evaluates a `cases` condition against one row's values. Declarative only:
 * text comparisons are case-insensitive on trimmed text, number comparisons
 * parse the cell with the configured decimal separator. No expression is ever
 * evaluated as code. Pure.
 */
import type { Comparison, Condition } from './mapping-schema.ts';

/** A condition's outcome, or why the row cannot be tested (the column and value that are not a number). */
export type ConditionResult = { readonly matches: boolean } | { readonly error: string; readonly column: string };

const text = (v: string): string => v.trim().toLowerCase();

/**
 * A number as an export writes it: `37,5` with decimal ",", `1.234,5` or
 * `1 234,5` with thousands separators, `37.5` with decimal ".". Null when the
 * text is not a number.
 * @example parseLocaleNumber('1.234,5', ',') // 1234.5
 */
export function parseLocaleNumber(value: string, decimal: ',' | '.'): number | null {
  const thousands = decimal === ',' ? '.' : ',';
  const cleaned = value.trim().replace(/[\s\u00a0\u202f']/g, '');
  const grouped = new RegExp(`^[-+]?\\d{1,3}(\\${thousands}\\d{3})+(\\${decimal}\\d+)?$`);
  const plain = new RegExp(`^[-+]?\\d+(\\${decimal}\\d+)?$|^[-+]?\\${decimal}\\d+$`);
  if (!grouped.test(cleaned) && !plain.test(cleaned)) return null;
  const n = Number(cleaned.split(thousands).join('').replace(decimal, '.'));
  return Number.isFinite(n) ? n : null;
}

function compare(c: Comparison, cell: (column: string) => string | null): ConditionResult {
  const raw = cell(c.column);
  if (c.empty !== undefined) return { matches: (raw === null) === c.empty };
  const value = raw ?? '';
  if (c.eq !== undefined) return { matches: text(value) === text(c.eq) };
  if (c.ne !== undefined) return { matches: text(value) !== text(c.ne) };
  if (c.in !== undefined) return { matches: c.in.some((v) => text(v) === text(value)) };
  if (c.not_in !== undefined) return { matches: !c.not_in.some((v) => text(v) === text(value)) };
  // An empty cell matches no number comparison; a non-number is an error, never a silent "no".
  if (raw === null) return { matches: false };
  const decimal = c.decimal ?? '.';
  const n = parseLocaleNumber(value, decimal);
  if (n === null) return { column: c.column, error: `"${value}" is not a number (decimal separator "${decimal}")` };
  if (c.lt !== undefined) return { matches: n < c.lt };
  if (c.le !== undefined) return { matches: n <= c.le };
  if (c.gt !== undefined) return { matches: n > c.gt };
  if (c.ge !== undefined) return { matches: n >= c.ge };
  return { matches: false };
}

/**
 * Tests a condition; `cell` returns a column's trimmed value or null when empty.
 * `all` and `any` stop at the first result that decides them.
 */
export function testCondition(condition: Condition, cell: (column: string) => string | null): ConditionResult {
  if ('all' in condition || 'any' in condition) {
    const parts = 'all' in condition ? condition.all : condition.any;
    const decisive = 'any' in condition;
    for (const part of parts) {
      const result = testCondition(part, cell);
      if ('error' in result || result.matches === decisive) return result;
    }
    return { matches: !decisive };
  }
  if ('not' in condition) {
    const result = testCondition(condition.not, cell);
    return 'error' in result ? result : { matches: !result.matches };
  }
  return compare(condition, cell);
}
