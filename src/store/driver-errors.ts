/**
 * PostgreSQL refusals caused by the value sent rather than by the database
 * being unwell, as typed errors: a request that slipped past its schema with
 * a value the database cannot hold gets a 4xx, not a 500. Identified by
 * SQLSTATE, which PGlite and the PostgreSQL driver both report as `code`.
 */
import { JmlError } from '../domain/errors.ts';

const CONFLICTS: Readonly<Record<string, string>> = {
  '23505': 'it already exists',
  '23503': 'it refers to something that does not exist, or something still refers to it',
};

const INVALID: Readonly<Record<string, string>> = {
  '23502': 'a required value is missing',
  '23514': 'a value is outside what is allowed',
  '54000': 'a value is too large',
};

/**
 * The JmlError for a driver error caused by a value (SQLSTATE class 22 data
 * exceptions, integrity violations, too-large values), or null for any other
 * error, which stays a 500. The message names the SQLSTATE, never the value.
 * @example jmlErrorFromDriver(Object.assign(new Error('invalid input syntax'), { code: '22P02' }))?.code // 'invalid_input'
 */
export function jmlErrorFromDriver(error: unknown): JmlError | null {
  const sqlState = (error as { code?: unknown } | null)?.code;
  if (typeof sqlState !== 'string' || !/^[0-9A-Z]{5}$/.test(sqlState)) return null;
  const details = { sqlState };
  if (CONFLICTS[sqlState]) return new JmlError('conflict', `the database refused the change: ${CONFLICTS[sqlState]} (SQLSTATE ${sqlState})`, { cause: error, details });
  const reason = INVALID[sqlState] ?? (sqlState.startsWith('22') ? 'a value has the wrong form for its field' : null);
  return reason ? new JmlError('invalid_input', `the database refused a value: ${reason} (SQLSTATE ${sqlState})`, { cause: error, details }) : null;
}
