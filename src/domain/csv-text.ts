/**
 * Writing CSV for people to open in a spreadsheet (RFC 4180 quoting), with
 * formula injection neutralised: a cell starting with `=`, `+`, `-`, `@`, a tab
 * or a carriage return is prefixed with `'` so a spreadsheet shows it as text.
 */

const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell: null/undefined is empty; quoted when it holds a comma, quote or line break. */
export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * A CSV document: the header row, then each row, CRLF line ends.
 * @example csvText(['who', 'comment'], [['M1', '=HYPERLINK("x")']]) // "who,comment\r\nM1,\"'=HYPERLINK(\"\"x\"\")\"\r\n"
 */
export function csvText(header: readonly string[], rows: Iterable<readonly (string | number | boolean | null | undefined)[]>): string {
  const lines = [header.map(csvCell).join(',')];
  for (const row of rows) lines.push(row.map(csvCell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
