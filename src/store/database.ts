/**
 * Table types for Kysely. One interface per table; column names are snake_case
 * as in SQL. `Generated<>` marks columns the database fills in.
 */
import type { ColumnType, Generated } from 'kysely';

type Json = ColumnType<unknown, string, string>;
type JsonObject<T> = ColumnType<T, string, string>;

export interface IdentitiesTable {
  key: string;
  kind: string;
  status: string;
  source: string;
  attributes: JsonObject<Record<string, string | null>>;
  start_date: string | null;
  end_date: string | null;
  owner: string | null;
  sponsor: string | null;
  created_at: ColumnType<Date, string | undefined, never>;
  updated_at: ColumnType<Date, string | undefined, string>;
}

export interface SourceRecordsTable {
  source: string;
  record_key: string;
  identity_key: string;
  /** The normalised record as last imported (canonical attribute names). */
  data: JsonObject<Record<string, unknown>>;
  /** False once the key has gone from a full snapshot. */
  present: boolean;
  last_import_id: string;
  updated_at: ColumnType<Date, string | undefined, string>;
}

export interface LifecycleEventsTable {
  id: string;
  seq: Generated<number>;
  type: string;
  identity_key: string;
  source: string;
  record_key: string;
  effective_date: string;
  effective_at: ColumnType<Date, string, string>;
  detected_at: ColumnType<Date, string, string>;
  changes: JsonObject<Record<string, [string | null, string | null]>>;
  state: string;
  import_id: string | null;
}

export interface ImportsTable {
  id: string;
  source: string;
  file_name: string;
  file_sha256: string;
  as_of: string;
  status: string;
  rows_total: number;
  rows_valid: number;
  rows_invalid: number;
  summary: Json;
  actor: string;
  started_at: ColumnType<Date, string, never>;
}

export interface CredentialsTable {
  id: string;
  identity_key: string;
  system: string;
  kind: string;
  name: string;
  created_at: string;
  last_rotated_at: string | null;
  expires_at: string | null;
  status: string;
}

export interface AuditLogTable {
  seq: number;
  id: string;
  /** ISO 8601 text, so the hashed value reads back byte for byte. */
  at: string;
  actor: string;
  action: string;
  subject: string;
  trigger: string;
  before: Json | null;
  after: Json | null;
  details: Json | null;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface PlansTable {
  id: string;
  fingerprint: string;
  computed_at: string;
  plan: JsonObject<unknown>;
  status: string;
  actor: string;
  created_at: ColumnType<Date, string, never>;
  updated_at: ColumnType<Date, string, string>;
}

export interface PlanChangesTable {
  plan_id: string;
  change_id: string;
  position: number;
  kind: string;
  system: string | null;
  identity_key: string;
  state: string;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  account_id: string | null;
  task_id: string | null;
  started_at: ColumnType<Date | null, string | null | undefined, string | null>;
  finished_at: ColumnType<Date | null, string | null | undefined, string | null>;
  updated_at: ColumnType<Date, string, string>;
}

export interface TasksTable {
  id: string;
  change_id: string;
  plan_id: string | null;
  system: string;
  kind: string;
  identity_key: string;
  change: JsonObject<unknown>;
  instruction: string;
  owner: string | null;
  status: string;
  needs_confirmation: boolean;
  due_at: ColumnType<Date, string, never>;
  created_at: ColumnType<Date, string, never>;
  done_by: string | null;
  done_at: ColumnType<Date | null, string | null | undefined, string | null>;
  evidence_note: string | null;
  evidence_sha256: string | null;
  closed_by: string | null;
  closed_at: ColumnType<Date | null, string | null | undefined, string | null>;
  confirmed_by: string | null;
  confirmed_at: ColumnType<Date | null, string | null | undefined, string | null>;
  settled_seq: number | null;
}

/** One encrypted connector secret (src/connectors/secrets); plaintext never appears here. */
export interface ConnectorSecretsTable {
  system: string;
  field: string;
  /** First 8 hex digits of SHA-256 of the master key that encrypted it. */
  key_id: string;
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
  /** scheme://host:port the secret may be sent to. */
  bound_host: string;
  updated_at: ColumnType<Date, string | undefined, string>;
}

export interface AssignmentsTable {
  id: string;
  identity_key: string;
  system: string;
  entitlement: string;
  reason_type: 'request' | 'exception';
  /** The engine's AssignmentReason (requestId or exceptionId, justification, role chain). */
  reason: JsonObject<Record<string, unknown>>;
  valid_from: ColumnType<Date | null, string | null | undefined, string | null>;
  valid_to: ColumnType<Date | null, string | null | undefined, string | null>;
  state: ColumnType<'active' | 'expired' | 'revoked', string | undefined, string>;
  created_at: ColumnType<Date, string | undefined, never>;
  created_by: string;
  ended_at: ColumnType<Date | null, string | null | undefined, string | null>;
  ended_by: string | null;
}

export interface Database {
  assignments: AssignmentsTable;
  identities: IdentitiesTable;
  source_records: SourceRecordsTable;
  lifecycle_events: LifecycleEventsTable;
  imports: ImportsTable;
  credentials: CredentialsTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  plans: PlansTable;
  plan_changes: PlanChangesTable;
  tasks: TasksTable;
  connector_secrets: ConnectorSecretsTable;
}
