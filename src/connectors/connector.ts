/**
 * The connector contract. A connector reads one page at a time and never loops:
 * the engine owns paging, checkpoints and retries (baton-sdk's model).
 * Provisioning is optional; a connector without `apply` is read-only.
 *
 * Rules every connector follows (src/connectors/conformance checks them):
 * - Correlation: an account created by jml carries the identity key (SCIM
 *   externalId, an LDAP attribute named in settings…). A change without
 *   `accountId` targets the identity's account found by `identityKey`, so a
 *   plan can add grants to an account that a change before it creates.
 * - Errors: `validate` reports problems as values. `list` and `readBack` throw
 *   `JmlError('connector', …, { retryable })`. `apply` returns
 *   `failed { retryable }` for failures it understands (unknown entitlement:
 *   terminal; 429/503: retryable with `retryAfterMs`) and may throw for transport
 *   failures; a throw means "outcome unknown", and the caller reads back before
 *   trying again. A failure to reach the system at all (connection refused or
 *   reset, no answer) carries `details.unreachable: true`: a few in a row
 *   quarantine the system at once instead of retrying every change.
 */
import type { Account, Grant } from '../domain/access.ts';
import type { Change, ChangeKind, ChangeOutcome } from '../domain/change.ts';
import type { Secret } from './secrets/secret.ts';

export interface EntitlementInfo {
  readonly system: string;
  readonly entitlement: string;
  readonly displayName: string;
  readonly type: string;
}

export interface ListTypes {
  readonly accounts: Account;
  readonly entitlements: EntitlementInfo;
  readonly grants: Grant;
}
export type ListKind = keyof ListTypes;

export interface Page<T> {
  readonly items: readonly T[];
  /** Opaque; null when this was the last page. Passing it back yields the next page. */
  readonly nextCursor: string | null;
}

export interface ConnectorDescription {
  readonly type: string;
  /** Change kinds `apply` carries out. Empty for a read-only connector. */
  readonly provisions: readonly ChangeKind[];
  /** True when changes become tasks for people rather than calls to a system. */
  readonly manual: boolean;
  /** True when `apply` honours `Change.credential` (scrambles or sets the account's password). */
  readonly credentials?: boolean;
  /**
   * Change kinds whose calls started in one turn of the event loop are gathered into fewer requests
   * (LDAP and AD: the member changes asked of one group, one modify): a batch's acts of these kinds
   * start all at once, and the connector alone bounds what reaches its system.
   */
  readonly gathers?: readonly ChangeKind[];
}

export interface ValidationResult {
  readonly ok: boolean;
  readonly problems: readonly string[];
}

/** Whether the state a change asks for holds in the system right now. */
export interface ReadBack {
  readonly holds: boolean;
  /** For create_account: the account that now exists. */
  readonly accountId?: string;
  readonly detail?: string;
}

/**
 * Secrets a change needs that must not travel inside it (a change is stored,
 * shown in plans and written to task records).
 */
export interface ChangeSecrets {
  /** For a change with `credential: 'new_secret'`: the password to set; jml has already stored it for delivery. */
  readonly newSecret?: Secret;
}

/** The TLS session of a connection: what `jml system test` shows so a person can check whom they talk to. */
export interface TlsSession {
  readonly protocol: string;
  readonly cipher: string;
  /** The server certificate's subject and issuer (CN, or the whole DN when there is no CN). */
  readonly subject: string;
  readonly issuer: string;
  readonly validTo: string;
  readonly fingerprint256: string;
}

/** Who answered a connection, as the server describes itself. */
export interface ServerInfo {
  /** Product, version, naming contexts, supported features… in the server's own terms. */
  readonly identity: Readonly<Record<string, string>>;
  /** Null when the connection is not encrypted. */
  readonly tls: TlsSession | null;
}

export interface Connector {
  describe(): ConnectorDescription;
  /** Checks settings and reachability without changing anything. */
  validate(): Promise<ValidationResult>;
  /** One page of accounts, entitlements or grants. */
  list<K extends ListKind>(kind: K, cursor: string | null, pageSize?: number): Promise<Page<ListTypes[K]>>;
  /** Reads the target of a change: does what it asks for already hold? */
  readBack(change: Change): Promise<ReadBack>;
  /**
   * Optional: `readBack` for many changes at once, with fewer round trips
   * (one search for a page of accounts). Each change's answer means exactly
   * what `readBack` would have answered for it, in the order of `changes`; an
   * Error in a change's place is what `readBack` would have thrown for it.
   * The executor falls back to `readBack` per change without it.
   */
  readBackMany?(changes: readonly Change[]): Promise<readonly (ReadBack | Error)[]>;
  /** Carries out one change. Must be idempotent: the same change twice has the effect of once. */
  apply?(change: Change, secrets?: ChangeSecrets): Promise<ChangeOutcome>;
  /** Connects, authenticates and describes the server (`jml system test`); throws like `list`. */
  server?(): Promise<ServerInfo>;
  /** Releases sockets and timers. */
  close?(): Promise<void>;
}
