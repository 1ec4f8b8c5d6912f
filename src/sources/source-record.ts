/**
 * What a source reader produces: validated, normalised records with canonical
 * attribute names, and row errors that name file, row, column and reason.
 * Event detection (snapshot diff) consumes these and nothing else.
 */
import type { CredentialKind, IdentityAttributes, IdentityKind } from '../domain/identity.ts';

/**
 * A record's own status as the source states it, after value maps. `pending`:
 * signed but not started — a joiner dated to the start, never a leaver.
 */
export type RecordStatus = 'active' | 'pending' | 'suspended' | 'terminated';

export interface CredentialRecord {
  readonly system: string;
  readonly kind: CredentialKind;
  readonly name: string;
  /** ISO 8601 instants. */
  readonly createdAt: string;
  readonly lastRotatedAt: string | null;
  readonly expiresAt: string | null;
}

export interface SourceRecord {
  /** The source's immutable key for this record, always a string (leading zeros kept). */
  readonly key: string;
  /** Row number in the file (1-based, counting header rows), for messages. */
  readonly row: number;
  readonly kind: IdentityKind;
  readonly status: RecordStatus;
  /**
   * Canonical attributes (see IDENTITY_ATTRIBUTES). `manager` holds the manager's
   * resolved identity key, whatever form the file referenced them in.
   */
  readonly attributes: IdentityAttributes;
  /** Calendar dates YYYY-MM-DD, in the organisation's time zone. */
  readonly startDate: string | null;
  readonly endDate: string | null;
  /** Resolved identity keys. */
  readonly owner: string | null;
  readonly sponsor: string | null;
  /** Non-human identity inventory only. */
  readonly systems?: readonly string[];
  readonly credentials?: readonly CredentialRecord[];
}

export interface RowError {
  readonly file: string;
  /** 1-based row number in the file; 0 for file-level problems (missing column, empty file). */
  readonly row: number;
  /** The file's column (header) name, when the problem is in one field. */
  readonly column: string | null;
  readonly message: string;
}

export interface SourceSnapshot {
  readonly source: string;
  readonly file: string;
  /** Data rows in the file (header rows excluded). */
  readonly rowsTotal: number;
  readonly records: readonly SourceRecord[];
  readonly errors: readonly RowError[];
  /**
   * Keys of rows left out of `records` because of errors. They are still in the
   * file, so a diff must never read them as leavers (matters with --skip-invalid).
   * Readers always set it; optional only so hand-built snapshots stay short.
   */
  readonly invalidKeys?: readonly string[];
  /** The source's `full_snapshot` setting: true when a key missing from the file is a leaver. */
  readonly fullSnapshot?: boolean;
}

/**
 * Existing identities a reader may resolve references against (managers,
 * sponsors, owners referenced by key, email, name or display name).
 */
export interface IdentityDirectory {
  byKey(key: string): string | null;
  byEmail(email: string): string | null;
  /** Keys of identities with this last and first name (case-insensitive); more than one is ambiguous. */
  byName(lastName: string, firstName: string): readonly string[];
  /** Keys of identities whose "First Last" is this text (case-insensitive, whitespace normalised). */
  byFullName(text: string): readonly string[];
  /** Keys of identities with this display name (case-insensitive, whitespace normalised). */
  byDisplayName(text: string): readonly string[];
}
