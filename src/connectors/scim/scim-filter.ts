/**
 * Building SCIM filters and list cursors. Filter values are JSON strings
 * (RFC 7644 §3.4.2.2), so a value is escaped with JSON.stringify: quotes and
 * backslashes inside it can never end the string and add a clause.
 */
import { JmlError } from '../../domain/errors.ts';
import type { ListKind } from '../connector.ts';

/**
 * `attribute eq "value"` with the value JSON-escaped. The attribute must be a
 * validated path (settings) or a constant, never data.
 *
 * @example
 * equalsFilter('userName', 'x" or userName pr or "') // → 'userName eq "x\" or userName pr or \""'
 */
export function equalsFilter(attribute: string, value: string): string {
  return `${attribute} eq ${JSON.stringify(value)}`;
}

/** Where the next page of a list starts: a 1-based SCIM startIndex and, for grants, the member offset within that group. */
export interface ListPosition {
  readonly kind: ListKind;
  readonly startIndex: number;
  readonly memberOffset: number;
}

/** Encodes a list position as an opaque cursor. */
export function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify([position.kind, position.startIndex, position.memberOffset])).toString('base64url');
}

/** Decodes a cursor made by `encodeCursor` for the same kind of list; null starts at the beginning. */
export function decodeCursor(kind: ListKind, cursor: string | null): ListPosition {
  if (cursor === null) return { kind, startIndex: 1, memberOffset: 0 };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  if (
    !Array.isArray(parsed) ||
    parsed[0] !== kind ||
    !Number.isSafeInteger(parsed[1]) ||
    parsed[1] < 1 ||
    !Number.isSafeInteger(parsed[2]) ||
    parsed[2] < 0
  ) {
    throw new JmlError('invalid_input', `not a cursor of a ${kind} list from the scim connector`);
  }
  return { kind, startIndex: parsed[1] as number, memberOffset: parsed[2] as number };
}
