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
  /** The change's entitlement, as in the plan document (0040); null for changes that name none. */
  entitlement: ColumnType<string | null, string | null | undefined, string | null>;
  state: string;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  account_id: string | null;
  task_id: string | null;
  started_at: ColumnType<Date | null, string | null | undefined, string | null>;
  finished_at: ColumnType<Date | null, string | null | undefined, string | null>;
  /** When the connector call that made the change true returned, before its read-back. */
  acted_at: ColumnType<Date | null, string | null | undefined, string | null>;
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

/** Someone who signs in to the console or API (src/api/auth). */
export interface ConsoleUsersTable {
  id: string;
  username: string;
  display_name: string;
  /** scrypt hash; null for users who sign in only through OIDC. */
  password_hash: string | null;
  identity_key: string | null;
  /** Granted roles: admin, security, hr. Manager, system owner and user follow from the linked identity. */
  roles: string[];
  status: ColumnType<'active' | 'disabled', 'active' | 'disabled' | undefined, 'active' | 'disabled'>;
  oidc_subject: string | null;
  created_at: ColumnType<Date, string | undefined, never>;
  last_sign_in_at: ColumnType<Date | null, string | null | undefined, string | null>;
  /** Set by an administrator's password reset (migration 0011): the user must choose a new password first. */
  password_change_required: ColumnType<boolean, boolean | undefined, boolean>;
}

/** A failed or in-flight sign-in (migration 0011), counted by the sign-in limiter. */
export interface SignInAttemptsTable {
  id: string;
  /** SHA-256 of the lower-cased username. */
  username_hash: string;
  address: string;
  at: ColumnType<Date, string, never>;
}

export interface ConsoleSessionsTable {
  /** SHA-256 of the cookie value; the value itself is never stored. */
  token_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: ColumnType<Date, string, never>;
  expires_at: ColumnType<Date, string, string>;
  revoked_at: ColumnType<Date | null, string | null | undefined, string | null>;
  /** When the session last proved a second factor (sign-in or step-up); null: password only. */
  factor_at: ColumnType<Date | null, string | null | undefined, string | null>;
}

export interface MfaPasskeysTable {
  id: string;
  user_id: string;
  /** base64url credential id, as the browser reports it. */
  credential_id: string;
  public_key: Buffer;
  counter: number;
  transports: string[];
  device_type: string;
  backed_up: boolean;
  name: string;
  created_at: ColumnType<Date, string, never>;
  last_used_at: ColumnType<Date | null, string | null | undefined, string | null>;
}

export interface MfaTotpTable {
  user_id: string;
  key_id: string;
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
  confirmed_at: ColumnType<Date | null, string | null | undefined, string | null>;
  /** The last accepted 30-second step; a code for it or an earlier one is a replay. */
  last_step: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: ColumnType<Date, string, never>;
}

export interface MfaRecoveryCodesTable {
  user_id: string;
  code_hash: string;
  created_at: ColumnType<Date, string, never>;
  used_at: ColumnType<Date | null, string | null | undefined, string | null>;
}

export interface WebauthnChallengesTable {
  id: string;
  challenge: string;
  purpose: 'register' | 'verify' | 'passwordless';
  user_id: string | null;
  expires_at: ColumnType<Date, string, never>;
}

export interface MfaResetsTable {
  id: string;
  user_id: string;
  requested_by: string;
  requested_at: ColumnType<Date, string, never>;
  expires_at: ColumnType<Date, string, never>;
  confirmed_by: string | null;
  confirmed_at: ColumnType<Date | null, string | null | undefined, string | null>;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  scopes: string[];
  created_at: ColumnType<Date, string, never>;
  expires_at: ColumnType<Date, string, never>;
  last_used_at: ColumnType<Date | null, string | null | undefined, string | null>;
  revoked_at: ColumnType<Date | null, string | null | undefined, string | null>;
}

/** One reconciliation run of a system; `phase` + `cursor` are its checkpoint. */
export interface ReconcileRunsTable {
  id: string;
  system: string;
  status: 'running' | 'completed' | 'failed';
  phase: 'accounts' | 'entitlements' | 'grants' | 'correlate' | 'done';
  cursor: string | null;
  pages: ColumnType<number, number | undefined, number>;
  summary: JsonObject<Record<string, unknown> | null> | null;
  error: string | null;
  actor: string;
  started_at: ColumnType<Date, string, never>;
  updated_at: ColumnType<Date, string, string>;
  finished_at: ColumnType<Date | null, string | null | undefined, string | null>;
}

export interface ObservedAccountsTable {
  run_id: string;
  system: string;
  account_id: string;
  name: string;
  enabled: boolean;
  attributes: JsonObject<Record<string, string | readonly string[] | null>>;
  last_login_at: string | null;
  identity_key: string | null;
  situation: 'linked' | 'unlinked' | 'unmatched' | 'disputed' | null;
}

export interface ObservedEntitlementsTable {
  run_id: string;
  system: string;
  entitlement: string;
  display_name: string;
  type: string;
}

export interface ObservedGrantsTable {
  run_id: string;
  system: string;
  account_id: string;
  entitlement: string;
}

export interface FindingsTable {
  id: string;
  kind: string;
  system: string | null;
  identity_key: string | null;
  account_id: string | null;
  entitlement: string | null;
  detail: string;
  first_seen: ColumnType<Date, string, string>;
  last_seen: ColumnType<Date, string, string>;
  state: 'open' | 'resolved';
  resolved_at: ColumnType<Date | null, string | null | undefined, string | null>;
}

export interface AssetsTable {
  tag: string;
  serial: string | null;
  kind: string;
  description: ColumnType<string, string | undefined, string>;
  holder_key: string | null;
  location: string | null;
  status: 'in_stock' | 'assigned' | 'in_repair' | 'lost' | 'stolen' | 'retired' | 'collected';
  updated_at: ColumnType<Date, string | undefined, string>;
  model: ColumnType<string | null, string | null | undefined, string | null>;
  manufacturer: ColumnType<string | null, string | null | undefined, string | null>;
  purchase_date: ColumnType<string | null, string | null | undefined, string | null>;
  warranty_months: ColumnType<number | null, number | null | undefined, number | null>;
  notes: ColumnType<string, string | undefined, string>;
  accepted_at: ColumnType<Date | null, string | null | undefined, string | null>;
  last_audited_at: ColumnType<Date | null, string | null | undefined, string | null>;
  next_audit_at: ColumnType<Date | null, string | null | undefined, string | null>;
}

export interface AttestationCampaignsTable {
  id: string;
  period: string;
  opened_at: ColumnType<Date, string, never>;
  due_at: ColumnType<Date, string, never>;
  opened_by: string;
  /** Notices sent: `invited`, `reminder:<instant>`, `escalation`. */
  notified: ColumnType<string[], string | undefined, string>;
}

export interface LicencesTable {
  name: string;
  product: ColumnType<string, string | undefined, string>;
  manufacturer: string | null;
  seats: number;
  /** The system (and entitlement) whose accounts the seats are used through; null: any. */
  system: string | null;
  entitlement: string | null;
  product_key: string | null;
  expires_on: string | null;
  notes: ColumnType<string, string | undefined, string>;
}

export interface LicenceSeatsTable {
  id: string;
  licence: string;
  identity_key: string;
  system: string;
  account_id: string;
  assigned_at: ColumnType<Date, string, never>;
  assigned_by: string;
  reclaimed_at: ColumnType<Date | null, string | null | undefined, string | null>;
  reclaimed_by: string | null;
  reclaim_reason: string | null;
}

export interface AttestationItemsTable {
  id: string;
  campaign_id: string;
  respondent_key: string;
  subject_key: string;
  item_type: 'asset' | 'access';
  ref: string;
  label: string;
  answer: ColumnType<AttestationAnswer | null, AttestationAnswer | null | undefined, AttestationAnswer | null>;
  answered_at: ColumnType<Date | null, string | null | undefined, string | null>;
  action: ColumnType<string | null, string | null | undefined, string | null>;
}

export type AttestationAnswer = 'confirmed' | 'not_mine' | 'lost' | 'stolen' | 'needed' | 'no_longer_needed';

export interface AssetCategoriesTable {
  name: string;
  audit_every_days: number;
}

export interface PolicyVersionsTable {
  hash: string;
  files: JsonObject<unknown>;
  loaded_at: ColumnType<Date, string, never>;
  loaded_by: string;
}

/** A change handed to the job queue (src/jobs): which job may act next, and who holds it. */
export interface ChangeRunsTable {
  plan_id: string;
  change_id: string;
  system: string | null;
  seq: ColumnType<number, number | undefined, number>;
  failures: ColumnType<number, number | undefined, number>;
  lease_owner: string | null;
  lease_until: ColumnType<Date | null, string | null | undefined, string | null>;
  next_at: ColumnType<Date | null, string | null | undefined, string | null>;
  /** pg-boss priority of this run's jobs (a leaver's changes: LEAVER_PRIORITY). */
  priority: ColumnType<number, number | undefined, number>;
}

export interface SystemHealthTable {
  system: string;
  state: 'healthy' | 'quarantined';
  consecutive_failures: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  last_failure_at: ColumnType<Date | null, string | null | undefined, string | null>;
  last_success_at: ColumnType<Date | null, string | null | undefined, string | null>;
  quarantined_at: ColumnType<Date | null, string | null | undefined, string | null>;
  released_at: ColumnType<Date | null, string | null | undefined, string | null>;
  released_by: string | null;
}

export interface AccessRequestsTable {
  id: string;
  kind: 'request' | 'exception' | 'joiner' | 'edit';
  requester: string;
  identity_key: string;
  role: string | null;
  entitlements: JsonObject<{ system: string; entitlement: string }[]>;
  justification: string;
  duration_days: number | null;
  state: 'pending' | 'approved' | 'denied' | 'cancelled';
  created_at: ColumnType<Date, string, never>;
  decided_at: ColumnType<Date | null, string | null | undefined, string | null>;
  valid_to: ColumnType<Date | null, string | null | undefined, string | null>;
  review_due: ColumnType<Date | null, string | null | undefined, string | null>;
  /** Kind `edit`: the proposed identity fields, applied when the last stage approves. */
  edit: ColumnType<ProposedEdit | null, string | null | undefined, string | null>;
  /** Nobody in the requester's management chain decides any stage (approval policy `approver_outside_chain`). */
  approver_outside_chain: ColumnType<boolean, boolean | undefined, boolean>;
  /** An SoD mitigation: the rule the access would break, the compensating control and who owns it. */
  sod_rule: ColumnType<string | null, string | null | undefined, string | null>;
  compensating_control: ColumnType<string | null, string | null | undefined, string | null>;
  control_owner: ColumnType<string | null, string | null | undefined, string | null>;
}

/** How far each SIEM stream has been acknowledged by its receiver. */
export interface AuditStreamCursorsTable {
  name: string;
  seq: ColumnType<string, string | number, string | number>;
  updated_at: ColumnType<Date, string, string>;
}

/** An edit waiting for approval, as stored. */
export interface ProposedEdit {
  readonly attributes?: Record<string, string | null>;
  readonly status?: 'active' | 'suspended' | 'left' | 'pending';
  readonly owner?: string | null;
  readonly sponsor?: string | null;
  readonly timezone: string;
}

export interface ApprovalStepsTable {
  id: string;
  request_id: string;
  stage: number;
  stage_name: string;
  approvers: string[];
  state: 'waiting' | 'open' | 'approved' | 'denied' | 'cancelled';
  due_at: ColumnType<Date | null, string | null | undefined, string | null>;
  timeout_hours: number;
  /** The stage's ApproverRef to escalate to, or null for the approvers' managers. */
  escalate_to: JsonObject<unknown> | null;
  escalations: ColumnType<number, number | undefined, number>;
  decided_by: string | null;
  decided_at: ColumnType<Date | null, string | null | undefined, string | null>;
  comment: string | null;
}

export interface LeaverCasesTable {
  event_id: string;
  identity_key: string;
  effective_at: ColumnType<Date, string, string>;
  state: 'open' | 'complete';
  completed_at: ColumnType<Date | null, string | null | undefined, string | null>;
  overdue_at: ColumnType<Date | null, string | null | undefined, string | null>;
}

/** A plan previewed in the console, awaiting approval or apply (migration 0009). */
export interface PlanPreviewsTable {
  id: string;
  scope: JsonObject<{ identityKeys?: string[]; systems?: string[] }>;
  plan: JsonObject<unknown>;
  changes: number;
  status: string;
  created_by: string;
  approved_by: string | null;
  created_at: ColumnType<Date, string, never>;
  updated_at: ColumnType<Date, string, string>;
}

/** The file of an import held by the mass-change guard, kept until released (migration 0009). */
export interface HeldImportFilesTable {
  import_id: string;
  source: string;
  file_name: string;
  content: string;
  held_by: string;
  held_at: ColumnType<Date, string, never>;
  released_by: string | null;
  released_at: ColumnType<Date | null, string | null | undefined, string | null>;
}

/** Simulated systems' state (migration 0010): what the `simulated` connector reads and writes. */
export interface SimSystemsTable {
  system: string;
  next_account: ColumnType<number, number | undefined, number>;
}

export interface SimAccountsTable {
  system: string;
  account_id: string;
  identity_key: string | null;
  name: string;
  enabled: boolean;
  attributes: JsonObject<Record<string, string | readonly string[] | null>>;
  created_at: ColumnType<Date, string, never>;
}

export interface SimGroupsTable {
  system: string;
  entitlement: string;
  display_name: string;
}

export interface SimGrantsTable {
  system: string;
  account_id: string;
  entitlement: string;
}

export interface SimSessionsTable {
  system: string;
  account_id: string;
  live: number;
}

export interface SimCredentialsTable {
  system: string;
  credential_id: string;
  account_id: string | null;
  status: 'active' | 'revoked';
  rotations: JsonObject<string[]>;
}

/** A password jml set on an account, sealed until delivered once (src/app/initial-credentials.ts). */
export interface InitialCredentialsTable {
  id: string;
  system: string;
  identity_key: string;
  change_id: string;
  account_id: string | null;
  state: 'pending' | 'ready' | 'revealed';
  key_id: string | null;
  nonce: Buffer | null;
  ciphertext: Buffer | null;
  tag: Buffer | null;
  task_id: string | null;
  created_at: ColumnType<Date, string, never>;
  revealed_by: string | null;
  revealed_at: ColumnType<Date | null, string | null | undefined, string | null>;
}

export interface ReviewCampaignsTable {
  id: string;
  review: string;
  definition: unknown;
  state: 'open' | 'held' | 'applying' | 'complete';
  snapshot_hash: string;
  started_at: ColumnType<Date, string, never>;
  started_by: string;
  due_at: ColumnType<Date, string, never>;
  closed_at: ColumnType<Date | null, string | null | undefined, string | null>;
  closed_by: string | null;
  outcome: unknown;
  released_by: string | null;
  notified: ColumnType<string[], string | undefined, string>;
  /** The recurrence date a scheduled campaign was started for; null when started by hand. */
  period: ColumnType<string | null, string | null | undefined, never>;
}

export interface ReviewItemsTable {
  id: string;
  campaign_id: string;
  identity_key: string;
  system: string;
  entitlement: string | null;
  privileged: boolean;
  context: unknown;
  stage: number;
  reviewers: string[];
  outcome: 'keep' | 'remove' | 'reduce' | null;
  outcome_by: 'decision' | 'no_response' | null;
  until: string | null;
  removal: 'planned' | 'confirmed' | 'blocked' | null;
  removal_detail: string | null;
  /** The manual task that carries out the removal, in a system without a connector. */
  task_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ReviewDecisionsTable {
  id: string;
  campaign_id: string;
  item_id: string;
  stage: number;
  reviewer: string;
  decision: 'keep' | 'remove' | 'reduce';
  until: string | null;
  comment: string;
  at: ColumnType<Date, string, never>;
  audit_seq: ColumnType<string, string | number, never>;
}

export interface ScimTokensTable {
  id: string;
  source: string;
  name: string;
  token_hash: string;
  scopes: string[];
  created_by: string;
  created_at: ColumnType<Date, string, string>;
  expires_at: ColumnType<Date | null, string | null, string | null>;
  revoked_at: ColumnType<Date | null, string | null, string | null>;
  last_used_at: ColumnType<Date | null, string | null, string | null>;
}

export interface ScimResourcesTable {
  source: string;
  id: string;
  resource: ColumnType<Record<string, unknown>, string, string>;
  version: number;
  present: Generated<boolean>;
  created_at: ColumnType<Date, string, string>;
  updated_at: ColumnType<Date, string, string>;
}

export interface ScimBatchesTable {
  id: string;
  source: string;
  actor: string;
  status: 'accepted' | 'running' | 'done' | 'failed';
  operations: number;
  processed: Generated<number>;
  failed: Generated<number>;
  import_ids: Generated<string[]>;
  results: ColumnType<unknown[] | null, string | null | undefined, string | null>;
  created_at: ColumnType<Date, string, string>;
  finished_at: ColumnType<Date | null, string | null | undefined, string | null>;
  /** An asynchronous batch's request ({ operations, failOnErrors }), kept until it is done (0030). */
  request: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  trigger: ColumnType<string | null, string | null | undefined, string | null>;
  lease_owner: ColumnType<string | null, string | null | undefined, string | null>;
  lease_until: ColumnType<Date | null, string | null | undefined, string | null>;
  /** Runs of an asynchronous batch that failed unexpectedly (0037); at BATCH_MAX_ATTEMPTS the batch fails. */
  attempts: Generated<number>;
  /** Why the batch failed (0037): the last unexpected error, or the refusal that ended it. */
  error: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface Database {
  scim_batches: ScimBatchesTable;
  scim_tokens: ScimTokensTable;
  scim_resources: ScimResourcesTable;
  review_campaigns: ReviewCampaignsTable;
  review_items: ReviewItemsTable;
  review_decisions: ReviewDecisionsTable;
  console_users: ConsoleUsersTable;
  console_sessions: ConsoleSessionsTable;
  sign_in_attempts: SignInAttemptsTable;
  mfa_passkeys: MfaPasskeysTable;
  mfa_totp: MfaTotpTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  webauthn_challenges: WebauthnChallengesTable;
  mfa_resets: MfaResetsTable;
  api_tokens: ApiTokensTable;
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
  initial_credentials: InitialCredentialsTable;
  reconcile_runs: ReconcileRunsTable;
  observed_accounts: ObservedAccountsTable;
  observed_entitlements: ObservedEntitlementsTable;
  observed_grants: ObservedGrantsTable;
  findings: FindingsTable;
  assets: AssetsTable;
  asset_categories: AssetCategoriesTable;
  attestation_campaigns: AttestationCampaignsTable;
  attestation_items: AttestationItemsTable;
  licences: LicencesTable;
  licence_seats: LicenceSeatsTable;
  policy_versions: PolicyVersionsTable;
  change_runs: ChangeRunsTable;
  system_health: SystemHealthTable;
  access_requests: AccessRequestsTable;
  audit_stream_cursors: AuditStreamCursorsTable;
  approval_steps: ApprovalStepsTable;
  leaver_cases: LeaverCasesTable;
  plan_previews: PlanPreviewsTable;
  held_import_files: HeldImportFilesTable;
  sim_systems: SimSystemsTable;
  sim_accounts: SimAccountsTable;
  sim_groups: SimGroupsTable;
  sim_grants: SimGrantsTable;
  sim_sessions: SimSessionsTable;
  sim_credentials: SimCredentialsTable;
}
