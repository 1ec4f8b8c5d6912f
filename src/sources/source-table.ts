/**
 * What a file reader hands the record mapper: rows of raw string values keyed
 * by the file's own column names, with the line each row starts on. Readers
 * know formats (CSV, YAML); the mapper knows the configuration.
 */
import type { RowError } from './source-record.ts';

/**
 * What a reader puts in place of a UTF-16 surrogate without its pair (the CSV
 * parser would otherwise turn it into U+FFFD silently). A noncharacter: no
 * export holds it, and the mapper reports it as a row error.
 */
export const BROKEN_CHARACTER = '\uFFFF';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text with every lone surrogate replaced by BROKEN_CHARACTER. */
export function markBrokenCharacters(text: string): string {
  return text.replace(LONE_SURROGATE, BROKEN_CHARACTER);
}

export interface SourceRow {
  /** 1-based line where the row starts in the file. */
  readonly row: number;
  /** Raw values by the file's column name (CSV header or YAML key); absent when the row has no such column. */
  readonly values: Readonly<Record<string, string>>;
  /** Line of individual values when it differs from `row` (YAML entries span lines). */
  readonly lines?: Readonly<Record<string, number>>;
  /** Credentials given as nested entries (YAML inventory), each with its own line. */
  readonly credentials?: readonly SourceRow[];
}

export interface SourceTable {
  readonly file: string;
  /** The file's column names (CSV: the last header row; YAML: every key seen). */
  readonly columns: readonly string[];
  /** Whether every row is expected to have every column (CSV) or keys may be absent (YAML). */
  readonly fixedColumns: boolean;
  /** 1-based line of the header row holding the column names; 0 when there is none. */
  readonly headerRow: number;
  /** Delimiter the file was read with (CSV), for hints about a wrong one. */
  readonly delimiter: string | null;
  /** Data rows in the file, malformed ones included. */
  readonly rowsTotal: number;
  /** Well-formed data rows. */
  readonly rows: readonly SourceRow[];
  /** Problems with the file's structure: empty, unbalanced quotes, wrong field counts, duplicate headers. */
  readonly errors: readonly RowError[];
}
