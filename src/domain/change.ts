/**
 * Plans and their changes: the readonly, serialisable diff between desired and
 * observed state. A plan is computed without side effects and applied exactly.
 */

export const CHANGE_KINDS = [
  'create_account',
  'enable_account',
  'update_attributes',
  'add_grant',
  'remove_grant',
  'disable_account',
  'delete_account',
  'revoke_sessions',
  'revoke_credential',
  'rotate_credential',
  'transfer_ownership',
  'collect_asset',
  'manual_task',
  'create_group',
  'delete_group',
] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** Change kinds carried out by jml itself (no connector): ownership, equipment, tasks without a system. */
export const JML_INTERNAL_CHANGE_KINDS: readonly ChangeKind[] = ['transfer_ownership', 'collect_asset', 'manual_task'];

/** Change kinds that act on a system's accounts, grants, sessions and credentials. */
export const SYSTEM_CHANGE_KINDS: readonly ChangeKind[] = CHANGE_KINDS.filter((kind) => !JML_INTERNAL_CHANGE_KINDS.includes(kind));

/** See `Change.credential`. */
export type ChangeCredential = 'scramble' | 'new_secret';

export interface Change {
  /** Idempotency key: stable for the same intent on the same target, so a retry never duplicates. */
  readonly id: string;
  readonly kind: ChangeKind;
  readonly identityKey: string;
  /** Null for changes that live in jml itself (ownership transfer, asset collection). */
  readonly system: string | null;
  /** Target account's system id when known (absent for create_account). */
  readonly accountId?: string;
  /** For add_grant / remove_grant, and the group for create_group / delete_group. */
  readonly entitlement?: string;
  /** For create_account / update_attributes: the attribute values the account should have; for create_group, its `description`. */
  readonly attributes?: Readonly<Record<string, string | readonly string[] | null>>;
  /** For revoke_credential / rotate_credential. */
  readonly credentialId?: string;
  /**
   * What happens to the account's password along with this change (policy `credentials`):
   * `scramble` (disable_account) replaces it with a random value nobody is told;
   * `new_secret` (create_account, enable_account) sets a new random one that must be changed
   * at first sign-in and reaches the person through a task, never through the plan or a log.
   * Absent: the password is left as it is.
   */
  readonly credential?: ChangeCredential;
  /** For transfer_ownership: the identity whose ownership moves, and to whom. */
  readonly subjectKey?: string;
  readonly toOwnerKey?: string;
  /** For collect_asset. */
  readonly assetTag?: string;
  /** Human-readable reason ("leaver effective 2026-12-01", "rule engineering-base via role developer"). */
  readonly reason: string;
  /** Ids of changes that must be confirmed before this one starts (leaver order, create before grant). */
  readonly dependsOn: readonly string[];
}

/** A joiner whose activation waits for their joiner approval (a `joiner` access request not yet approved). */
export interface JoinerHold {
  readonly identityKey: string;
  readonly requestId: string;
  /** A denied joiner stays held: they get no access until someone files a new decision. */
  readonly state: 'pending' | 'denied';
}

/** A held joiner as a plan reports it: how many changes the plan left out for them. */
export interface HeldJoiner extends JoinerHold {
  readonly heldChanges: number;
}

/** A change a plan holds back because applying it would break an SoD rule; a person resolves the conflict. */
export interface SodHeldChange {
  readonly changeId: string;
  readonly identityKey: string;
  /** The SoD rule, the plan's reason for holding. */
  readonly rule: string;
  readonly severity: 'low' | 'medium' | 'high' | 'critical';
  readonly pair: readonly [string, string];
  /** The held change's own reason (the birthright rule that wanted it). */
  readonly reason: string;
}

export interface Plan {
  readonly id: string;
  readonly computedAt: string;
  /** Hash of the inputs the plan was computed from; apply refuses a plan whose inputs changed. */
  readonly fingerprint: string;
  readonly changes: readonly Change[];
  /** Joiners whose account and grant changes this plan holds back until approved; absent when none. */
  readonly held?: readonly HeldJoiner[];
  /** Changes held because they would break an SoD rule; absent when none. */
  readonly sodHeld?: readonly SodHeldChange[];
}

/** What a connector reports for one change. */
export type ChangeOutcome =
  | { readonly status: 'done'; readonly accountId?: string; readonly detail?: string }
  | { readonly status: 'pending'; readonly taskId?: string; readonly detail?: string }
  | { readonly status: 'failed'; readonly retryable: boolean; readonly message: string; readonly retryAfterMs?: number };
