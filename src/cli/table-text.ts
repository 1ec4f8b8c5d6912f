/**
 * Lists as people read them on a terminal: a header row naming each column,
 * columns as wide as their widest cell, the last column left unpadded. And
 * the rule for `--limit`: read one row more than asked, so a list can say
 * whether it was cut short.
 */

export interface Column<T> {
  /** Printed upper-case in the header row. */
  readonly header: string;
  readonly value: (row: T) => string;
}

/**
 * The header line and one line per row.
 * @example tableLines([{ header: 'key', value: (i) => i.key }, { header: 'status', value: (i) => i.status }], identities)
 */
export function tableLines<T>(columns: readonly Column<T>[], rows: readonly T[]): string[] {
  const cells = [columns.map((c) => c.header.toUpperCase()), ...rows.map((row) => columns.map((c) => c.value(row)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** A list read with `limit + 1` rows, cut to `limit`: `truncated` says more rows matched. */
export interface LimitedList<T> {
  readonly items: readonly T[];
  readonly truncated: boolean;
  readonly limit: number;
}

/** Cuts rows read with `limit + 1` to `limit`, noting whether any were left out. */
export function limitedList<T>(rows: readonly T[], limit: number): LimitedList<T> {
  return { items: rows.slice(0, limit), truncated: rows.length > limit, limit };
}

/** The line under a cut list: how many are shown and how to see the rest. */
export function truncationNote(list: LimitedList<unknown>, noun: string): string | null {
  return list.truncated ? `showing the first ${list.limit} ${noun}; more match (raise --limit, or narrow the filter)` : null;
}
