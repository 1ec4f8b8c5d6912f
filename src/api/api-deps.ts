/**
 * What the API needs from the rest of jml. The store is required; use cases
 * owned by other parts (HR import, plans, approvals, access requests, the
 * observed state of systems) come in as small ports so the server runs, and is
 * tested, with whichever of them the build wires (see console-services.ts).
 */
import type { Kysely } from 'kysely';
import type { ReplanQueue } from '../app/replan-follow-up.ts';
import type { LostDeviceSettings } from '../app/assets/lost-device-report.ts';
import type { PlanProgress } from '../app/plan-progress.ts';
import type { ReviewDeps } from '../app/reviews/review-campaigns.ts';
import type { Plan } from '../domain/change.ts';
import type { InitialCredentials } from '../app/initial-credentials.ts';
import type { ExceptionReviewSettings } from '../app/exception-review.ts';
import type { SystemTestResult } from '../app/system-test.ts';
import type { Policy } from '../domain/policy.ts';
import type { Database } from '../store/database.ts';
import type { Framework } from '../app/evidence/control-map.ts';
import type { ApiMetrics } from './api-metrics.ts';
import type { IdentityPageRow } from './identity-page-queries.ts';
import type { HashingGateOptions } from './auth/hashing-gate.ts';
import type { PrincipalCache } from './auth/principal-cache.ts';
import type { MfaPolicy } from './auth/mfa-policy.ts';
import type { RelyingParty } from './auth/passkey-factor.ts';
import type { Keyring } from '../connectors/secrets/master-keyring.ts';
import type { JmlConfig } from '../app/config.ts';
import type { PushInput, PushResult } from '../app/inbound/scim-push.ts';

export interface ImportRequest {
  readonly source: string;
  readonly fileName: string;
  readonly content: string;
  readonly dryRun: boolean;
  readonly actor: string;
}

/** What the console shows of an import: counts, the diff, errors and whether it is held. */
export interface ImportOutcome {
  readonly id: string | null;
  readonly source: string;
  readonly status: string;
  readonly dryRun: boolean;
  readonly held: boolean;
  /** A dry run the mass-change guard would hold if it were imported. */
  readonly wouldBeHeld: boolean;
  readonly rows: { readonly total: number; readonly valid: number; readonly invalid: number };
  readonly events: readonly { readonly type: string; readonly identityKey: string; readonly effectiveDate: string; readonly changes: Readonly<Record<string, unknown>> }[];
  readonly errors: readonly { readonly row: number; readonly message: string }[];
  readonly message: string;
}

export interface ImportPort {
  importSource(request: ImportRequest): Promise<ImportOutcome>;
  /** Lets a held import through (a person's decision under the mass-change guard). */
  release(importId: string, actor: string): Promise<ImportOutcome>;
}

/** A plan as the console shows it. */
export interface PlanView {
  readonly id: string;
  readonly status: string;
  readonly computedAt: string;
  readonly fingerprint: string;
  readonly plan: Plan;
  readonly changeStates: Readonly<Record<string, string>>;
  readonly approvedBy: string | null;
  /** The identities the plan was computed for; absent or empty for everyone. */
  readonly identityKeys?: readonly string[];
}

export interface PlanPort {
  /** Computes a plan for the identities (all when empty) and keeps it awaiting approval. */
  preview(identityKeys: readonly string[], actor: string): Promise<PlanView>;
  get(id: string): Promise<PlanView>;
  list(status: string | undefined, limit: number): Promise<PlanView[]>;
  approve(id: string, actor: string): Promise<PlanView>;
  /** Queues an approved plan on the durable executor and returns at once (status `applying`). */
  apply(id: string, actor: string): Promise<PlanView>;
  /** Where an applying plan stands: settled, in progress, waiting on tasks or a quarantined system. */
  progress(id: string): Promise<PlanProgress>;
}

export interface ApprovalItem {
  readonly id: string;
  readonly kind: 'access_request' | 'plan';
  readonly identityKey: string;
  readonly summary: string;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly system: string | null;
  /** The open stage's name; null when no stage is open (decided, or a plan). */
  readonly stage: string | null;
  /** Identity keys that decide a stage of it (open, waiting or already decided): who may act on it at all. */
  readonly approvers: readonly string[];
}

export interface ApprovalPort {
  /** Items with an open stage; with `approver`, only those whose open stage that identity decides. */
  pending(approver?: string): Promise<ApprovalItem[]>;
  get(id: string): Promise<ApprovalItem>;
  /** Decides the open stage as the identity `approver`; the app refuses (forbidden) their own request or one for themselves. */
  decide(id: string, decision: 'approve' | 'reject', approver: string, comment: string | undefined): Promise<void>;
  /**
   * Files a request by the identity `requester` for `identityKey` (themselves, or a report). With
   * `mitigation`, access that would break an SoD rule is filed as a time-bound exception with a
   * compensating control and its owner, decided last by the rule's owner.
   */
  requestAccess(request: {
    identityKey: string; system: string; entitlement: string; justification: string; requester: string;
    durationDays?: number; mitigation?: { control: string; controlOwner: string };
  }): Promise<ApprovalItem>;
  requestsOf(identityKey: string): Promise<readonly (ApprovalItem & { readonly state: string })[]>;
}

export interface AccountView {
  readonly system: string;
  readonly accountId: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly situation: string | null;
  readonly lastLoginAt?: string | null;
  readonly grants: readonly string[];
}

/** One entitlement as `explain` sees it: desired and held (ok), desired only (missing), or held without a reason (not_desired). */
export interface ExplainedAccess {
  readonly system: string;
  readonly entitlement: string;
  readonly state: 'ok' | 'missing' | 'not_desired';
  /** Each reason in words (rule, role chain, request, exception). */
  readonly because: readonly string[];
  readonly accountIds: readonly string[];
  readonly enforcement: string | null;
}

export interface AccessView {
  /** Desired and held access side by side, with reasons; absent when the port cannot explain. */
  readonly entitlements?: readonly ExplainedAccess[];
  readonly desired: readonly { readonly system: string; readonly entitlement: string; readonly reasons: readonly string[] }[];
  readonly accounts: readonly AccountView[];
  /** The joiner approval holding this identity's activation (pending, or denied), with its open stage and approvers; absent when none holds it. */
  readonly joinerHold?: { readonly requestId: string; readonly state: 'pending' | 'denied'; readonly stage: string | null; readonly approvers: readonly string[] } | null;
}

/** The identity page's row, and its access explained only when asked: not for a caller who may not see the identity. */
export interface IdentityPageWithAccess {
  readonly page: IdentityPageRow;
  access(): Promise<AccessView>;
}

export interface ObservedPort {
  /** Desired access with reasons and the accounts systems hold for one identity. */
  accessOf(identityKey: string): Promise<AccessView>;
  /** The identity page's sections and its access, read in one statement; null when no such identity exists. */
  pageOf(identityKey: string): Promise<IdentityPageWithAccess | null>;
  quarantinedSystems(): Promise<readonly { readonly system: string; readonly reason: string }[]>;
  openFindings(limit: number): Promise<readonly { readonly id: string; readonly kind: string; readonly system: string | null; readonly identityKey: string | null; readonly detail: string }[]>;
  assetsOf(identityKey: string): Promise<readonly { readonly tag: string; readonly kind: string; readonly description: string; readonly status: string }[]>;
  /** Entitlements a person may request, per system. */
  requestable(): Promise<readonly { readonly system: string; readonly entitlement: string; readonly privileged: boolean }[]>;
}

/** Systems: a connection test (validate, read one page) and the release of a quarantine. */
export interface SystemsPort {
  test(system: string, actor: string): Promise<SystemTestResult>;
  /** Ends the system's quarantine (not quarantined: not_found) and queues its waiting changes again. */
  release(system: string, actor: string): Promise<{ readonly resumed: number }>;
}

/** Evidence packs built for the console (src/app/evidence/): the signed pack, zipped. */
export interface EvidencePort {
  build(request: { readonly framework: Framework; readonly from: string; readonly to: string; readonly actor: string; readonly trigger?: string }): Promise<{ readonly fileName: string; readonly zip: Uint8Array; readonly counts: Readonly<Record<string, number>>; readonly auditEntries: number }>;
}

/**
 * Inbound SCIM under /scim/v2 (src/api/scim/): pushes to `scim` sources.
 * Absent, those routes are not served.
 */
export interface InboundPort {
  readonly config: JmlConfig;
  /** Applies (or dry-runs) a push; after an applied one, joiner approvals and replans follow as after an import. */
  push(input: PushInput): Promise<PushResult>;
  /** Requests per token allowed within the window before 429 (default 200 per 10 s). */
  readonly rateLimit?: { readonly requests: number; readonly windowMs: number };
  /** Sends the follow-ups still waiting for their window (the server is closing) and waits for those under way. */
  flush?(): Promise<void>;
}

export interface ConsoleServices {
  readonly inbound?: InboundPort;
  /** The current policy (edits are checked against the fields it reads); absent: only the fields every policy relies on are protected. */
  readonly policy?: () => Promise<Policy>;
  readonly imports?: ImportPort;
  readonly plans?: PlanPort;
  readonly approvals?: ApprovalPort;
  readonly observed?: ObservedPort;
  /** Initial passwords of delivery tasks, shown once (src/app/initial-credentials.ts). */
  readonly initialPasswords?: Pick<InitialCredentials, 'revealForTask'>;
  readonly systems?: SystemsPort;
  /** When exceptions are due for review and reported as ending (configuration); default DEFAULT_EXCEPTION_REVIEW. */
  readonly exceptionReview?: ExceptionReviewSettings;
  readonly evidence?: EvidencePort;
  /** Access review campaigns (src/app/reviews): the store, a planner for snapshots, the organisation's zone. */
  readonly reviews?: () => ReviewDeps;
  /** Where the workers are asked to plan identities at once (a lost report, a monthly-check answer); absent: the next scheduled plan. */
  readonly replan?: ReplanQueue;
  /** The lost-device clock and the severity of lost and stolen reports (configuration `assets:`); default DEFAULT_LOST_DEVICE. */
  readonly lostDevice?: LostDeviceSettings;
}

export interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Public base URL of this server, for the redirect URI. */
  readonly baseUrl: string;
  /**
   * Link a first sign-in by an email the provider sends without an
   * `email_verified` claim (some providers never send it). Off by default: only
   * an email marked verified is matched to an identity.
   */
  readonly trustEmailWithoutVerifiedClaim?: boolean;
}

export interface ApiDeps {
  readonly db: Kysely<Database>;
  readonly backend: string;
  readonly now: () => Date;
  /** The organisation's time zone (effective dates of edits made in the console); default UTC. */
  readonly timezone?: string;
  /** Systems whose owner in policy is this identity. */
  readonly systemsOwnedBy: (identityKey: string) => readonly string[];
  readonly services: ConsoleServices;
  readonly metrics: ApiMetrics;
  /** Built console (web/dist); null serves the API only. */
  readonly webDir: string | null;
  readonly oidc: OidcSettings | null;
  /** Failed sign-ins allowed per (username, address) in 15 minutes (default 10); three times as many per username, five times per address. */
  readonly signInLimit?: number;
  /** How many passwords are hashed at once and how many sign-ins may wait; beyond that, 503. */
  readonly signInHashing?: HashingGateOptions;
  /** User and role administration needs a browser session signed in at most this long ago (default 15 minutes). */
  readonly recentSignInMs?: number;
  /** Who must use a second factor and the step-up window; default: admin, security and hr, 15 minutes. */
  readonly mfa?: MfaPolicy;
  /** Encrypts TOTP secrets at rest; without one, authenticator apps cannot be set up (passkeys still can). */
  readonly keyring?: Keyring | null;
  /** The passkeys' relying party (host name and origins), read when a ceremony starts; absent: passkeys are unavailable. */
  readonly relyingParty?: () => RelyingParty;
  /** Resolved principals for a second or so; buildApiServer makes one when absent. */
  readonly principalCache?: PrincipalCache;
}
