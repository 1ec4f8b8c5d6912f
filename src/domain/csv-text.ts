/**
 * CSV for people to open in a spreadsheet (RFC 4180 quoting, CRLF line ends),
 * with formula injection neutralised (OWASP "CSV injection"): text starting
 * with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'` so
 * a spreadsheet shows it as text. Numbers and booleans are written as they
 * are (a number is not a formula). The one CSV writer of jml: evidence packs,
 * review exports and the Snipe-IT asset export all use it.
 */

const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell: null/undefined is empty, a date its ISO instant, an object its JSON; quoted when it holds a comma, quote or line break. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  let text = value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * A CSV document from rows as arrays: the header row, then each row.
 * @example csvText(['who', 'comment'], [['M1', '=HYPERLINK("x")']]) // "who,comment\r\nM1,\"'=HYPERLINK(\"\"x\"\")\"\r\n"
 */
export function csvText(header: readonly string[], rows: Iterable<readonly unknown[]>): string {
  const lines = [header.map(csvCell).join(',')];
  for (const row of rows) lines.push(row.map(csvCell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * A CSV document from records: header row from `columns`, then one row per record.
 * @example toCsv(['name'], [{ name: '=1+1' }]) // "name\r\n'=1+1\r\n"
 */
export function toCsv(columns: readonly string[], rows: readonly Readonly<Record<string, unknown>>[]): string {
  return csvText(columns, rows.map((row) => columns.map((c) => row[c])));
}

/**
 * The inverse of `csvCell`'s neutralising, for files jml reads back: a cell
 * that starts with an apostrophe followed by a formula character loses the
 * apostrophe. @example fromCsvCell("'=1+1") // '=1+1'
 */
export function fromCsvCell(text: string): string {
  return /^'[=+\-@\t\r]/.test(text) ? text.slice(1) : text;
}
