/**
 * CSV files → SourceTable. Parsing is csv-parse's (RFC 4180 quoting, quoted
 * commas, quotes and newlines); this module adds what an import needs on top:
 * the configured encoding, N header rows, the line each row starts on, and
 * structural errors that say where and why instead of "invalid CSV".
 */
import { parse, CsvError } from 'csv-parse/sync';
import type { RowError } from './source-record.ts';
import type { SourceEncoding } from './source-config.ts';
import { markBrokenCharacters, type SourceRow, type SourceTable } from './source-table.ts';

export interface CsvReadOptions {
  /** The file name errors carry. */
  readonly file: string;
  readonly delimiter: string;
  /** Header rows before the data; the last one holds the column names. */
  readonly headerRows: number;
}

export type DecodeResult = { readonly text: string } | { readonly error: string };

/**
 * Bytes → text in the configured encoding, without a byte order mark.
 * UTF-8 is decoded strictly so a Windows-1252 export read as UTF-8 is reported
 * instead of turning "Müller" into "M�ller".
 */
export function decodeSourceBytes(bytes: Uint8Array, encoding: SourceEncoding): DecodeResult {
  const label = encoding === 'latin1' ? 'windows-1252' : encoding;
  // Node's own UTF-16 decoding keeps a lone surrogate (TextDecoder would make it U+FFFD): the mapper reports it on its row.
  if (encoding === 'utf-16le') return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf16le').replace(/^\uFEFF/, '') };
  try {
    return { text: new TextDecoder(label, { fatal: encoding === 'utf-8' }).decode(bytes) };
  } catch {
    return { error: 'file is not valid UTF-8 — is it latin1/windows-1252 or utf-16le? set the source\'s encoding' };
  }
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n += 1;
  return n;
}

/** Where, within a raw record, the quote that never closed was opened: offset and field index. */
function openingQuote(raw: string, delimiter: string): { offset: number; field: number } {
  let inQuote = false;
  let fieldStart = true;
  let field = 0;
  let opened = { offset: 0, field: 0 };
  for (let i = 0; i < raw.length; i += 1) {
    const ch = raw[i];
    if (inQuote) {
      if (ch === '"' && raw[i + 1] === '"') i += 1;
      else if (ch === '"') inQuote = false;
    } else if (ch === '"' && fieldStart) {
      inQuote = true;
      opened = { offset: i, field };
    } else if (ch === delimiter) field += 1;
    else if (ch === '\n') field = 0;
    fieldStart = !inQuote && (ch === delimiter || ch === '\n');
  }
  return opened;
}

/** The header's name for a field index, read from the records before a structural error. */
function headerName(prefix: string, field: number | undefined, options: CsvReadOptions): string | null {
  if (field === undefined) return null;
  try {
    const records = parse(prefix, { delimiter: options.delimiter, relax_column_count: true, skip_empty_lines: true });
    if (records.length < options.headerRows) return null;
    return records[options.headerRows - 1]?.[field]?.trim() ?? null;
  } catch {
    return null;
  }
}

function structuralError(error: CsvError, text: string, options: CsvReadOptions): RowError {
  const info = error as CsvError & { lines?: number; raw?: string; column?: number | string };
  const { file } = options;
  if (error.code === 'CSV_QUOTE_NOT_CLOSED' && info.raw && text.endsWith(info.raw)) {
    // An unclosed quote swallows the rest of the file, so the open record is the text's tail.
    const body = info.raw.replace(/^\n+/, '');
    const prefix = text.slice(0, text.length - body.length);
    const quote = openingQuote(body, options.delimiter);
    const row = 1 + countNewlines(prefix) + countNewlines(body.slice(0, quote.offset));
    return {
      file,
      row,
      column: headerName(prefix, quote.field, options),
      message: `unbalanced quotes: a quote opened on row ${row} is never closed (the rest of the file was read as one field)`,
    };
  }
  const row = info.lines ?? 0;
  const prefix = text.split('\n').slice(0, Math.max(0, row - 1)).join('\n');
  const column = headerName(prefix, typeof info.column === 'number' ? info.column : undefined, options);
  const messages: Partial<Record<string, string>> = {
    CSV_INVALID_CLOSING_QUOTE: 'unbalanced quotes: text follows a closing quote (a quote inside a quoted value must be doubled: "")',
    INVALID_OPENING_QUOTE: 'a quote inside an unquoted value: quote the whole value and double the quote ("x""y")',
    CSV_MAX_RECORD_SIZE: 'a record is too long: is the delimiter or the quoting wrong?',
  };
  return { file, row, column, message: messages[error.code] ?? `malformed CSV: ${error.message}` };
}

interface ParsedRecord {
  readonly record: string[];
  readonly info: { readonly lines: number };
}

/**
 * The line a record starts on. csv-parse reports the line it ends on; with line
 * endings normalised, the newlines inside its (quoted) values are exactly the
 * lines it spans. Cheaper than asking csv-parse for each record's raw text.
 */
function startLine(parsed: ParsedRecord): number {
  let inside = 0;
  for (const value of parsed.record) if (value.includes('\n')) inside += countNewlines(value);
  return parsed.info.lines - inside;
}

function errorWithRaw(text: string, delimiter: string): CsvError | null {
  try {
    parse(text, { delimiter, raw: true, relax_column_count: true, skip_empty_lines: true });
  } catch (error) {
    if (error instanceof CsvError) return error;
  }
  return null;
}

/** Structural errors reported in one read; past this the file is hardly CSV at all. */
const MAX_STRUCTURAL_ERRORS = 50;

/**
 * Parses the whole text, reporting every malformed line: on an error the
 * offending line is blanked (line numbers stay true, blank lines are skipped)
 * and the text parsed again. Costs one parse per malformed line, and only
 * on files that have them.
 */
function parseAll(text: string, options: CsvReadOptions): { records: ParsedRecord[]; structural: RowError[] } {
  const structural: RowError[] = [];
  let current = text;
  for (;;) {
    try {
      const records = parse(current, { delimiter: options.delimiter, info: true, relax_column_count: true, skip_empty_lines: true }) as unknown as ParsedRecord[];
      return { records, structural };
    } catch (error) {
      if (!(error instanceof CsvError)) throw error;
      // Only on this error path is each record's raw text worth its cost: it locates an unclosed quote.
      const detailed = error.code === 'CSV_QUOTE_NOT_CLOSED' ? (errorWithRaw(current, options.delimiter) ?? error) : error;
      const found = structuralError(detailed, current, options);
      structural.push(found);
      const line = (error as CsvError & { lines?: number }).lines ?? 0;
      // A malformed header leaves no columns to read the rows by.
      if (error.code === 'CSV_QUOTE_NOT_CLOSED' || line <= options.headerRows || structural.length >= MAX_STRUCTURAL_ERRORS) {
        if (structural.length >= MAX_STRUCTURAL_ERRORS) structural.push(fileError(options.file, `more than ${MAX_STRUCTURAL_ERRORS} malformed rows: fix these (or check the delimiter and encoding) first`));
        return { records: [], structural };
      }
      const lines = current.split('\n');
      lines[line - 1] = '';
      current = lines.join('\n');
    }
  }
}

function fileError(file: string, message: string): RowError {
  return { file, row: 0, column: null, message };
}

/**
 * Parses CSV text into rows keyed by the file's header names. Never throws for
 * bad input: structural problems come back in `errors`, and a file with a
 * structural error that stops parsing (unbalanced quotes) has no rows.
 */
export function parseCsvTable(text: string, options: CsvReadOptions): SourceTable {
  const { file, delimiter, headerRows } = options;
  const base = { file, fixedColumns: true, delimiter } as const;
  // One line ending keeps line numbers and multi-line values the same across exports.
  const normalised = markBrokenCharacters(text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n'));
  if (normalised.trim() === '') {
    return { ...base, columns: [], headerRow: 0, rowsTotal: 0, rows: [], errors: [fileError(file, 'file is empty')] };
  }
  const { records, structural } = parseAll(normalised, options);
  if (structural.some((e) => /never closed/.test(e.message)) || (records.length === 0 && structural.length > 0)) {
    // An unclosed quote swallows the rest of the file: no row after it can be trusted.
    return { ...base, columns: [], headerRow: 0, rowsTotal: 0, rows: [], errors: structural };
  }
  const header = records[headerRows - 1];
  if (!header) {
    const message = `file has ${records.length} row(s) but ${headerRows} header row(s) are configured`;
    return { ...base, columns: [], headerRow: 0, rowsTotal: 0, rows: [], errors: [fileError(file, message)] };
  }
  const headerRow = startLine(header);
  const columns = header.record.map((name) => name.trim());
  const errors: RowError[] = [...structural];
  const seen = new Set<string>();
  for (const name of columns) {
    if (name !== '' && seen.has(name)) {
      errors.push({ file, row: headerRow, column: name, message: `duplicate column name "${name}" in the header` });
    }
    seen.add(name);
  }
  const data = records.slice(headerRows);
  if (data.length === 0 && structural.length === 0) errors.push(fileError(file, 'file has a header but no data rows'));
  const rows: SourceRow[] = [];
  for (const parsed of data) {
    const row = startLine(parsed);
    const count = parsed.record.length;
    if (count !== columns.length) {
      const why =
        count < columns.length
          ? 'is the file truncated, or a value missing?'
          : `is there an unquoted "${delimiter}" inside a value?`;
      errors.push({ file, row, column: null, message: `row has ${count} field(s), the header has ${columns.length} — ${why}` });
      continue;
    }
    const values: Record<string, string> = {};
    columns.forEach((name, i) => {
      if (name !== '' && !(name in values)) values[name] = parsed.record[i] ?? '';
    });
    rows.push({ row, values });
  }
  errors.sort((a, b) => a.row - b.row);
  return { ...base, columns, headerRow, rowsTotal: data.length + structural.length, rows, errors };
}
