/**
 * CSV for spreadsheets. A cell that begins with = + - @ (or a tab or carriage
 * return) would be read by Excel or LibreOffice as a formula, so it is
 * prefixed with an apostrophe (OWASP "CSV injection"); every cell is quoted.
 */

/** One cell, quoted, with formula-leading text neutralised. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

/**
 * A whole table: header row from `columns`, then one row per record.
 * @example toCsv(['name'], [{ name: '=1+1' }]) // '"name"\r\n"\'=1+1"\r\n'
 */
export function toCsv(columns: readonly string[], rows: readonly Readonly<Record<string, unknown>>[]): string {
  const lines = [columns.map(csvCell).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * The inverse of `csvCell`'s neutralising, for files jml reads back: a cell
 * that starts with an apostrophe followed by a formula character loses the
 * apostrophe. @example fromCsvCell("'=1+1") // '=1+1'
 */
export function fromCsvCell(text: string): string {
  return /^'[=+\-@\t\r]/.test(text) ? text.slice(1) : text;
}
