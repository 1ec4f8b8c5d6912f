/**
 * Identities: anyone or anything that can hold access, under one lifecycle model.
 * Pure types and rules; no I/O and no clock.
 */

export const IDENTITY_KINDS = [
  'employee',
  'contractor',
  'contingent',
  'service_account',
  'integration',
  'ai_agent',
] as const;
export type IdentityKind = (typeof IDENTITY_KINDS)[number];

export const NON_HUMAN_KINDS: readonly IdentityKind[] = ['service_account', 'integration', 'ai_agent'];

export const IDENTITY_STATUSES = ['pending', 'active', 'suspended', 'left'] as const;
export type IdentityStatus = (typeof IDENTITY_STATUSES)[number];

/** True for service accounts, integrations and AI agents: they must have a human owner. */
export function isNonHuman(kind: IdentityKind): boolean {
  return NON_HUMAN_KINDS.includes(kind);
}

/** Contractors and contingent workers need a sponsor; non-human identities need an owner. */
export function requiresOwner(kind: IdentityKind): boolean {
  return isNonHuman(kind) || kind === 'contractor' || kind === 'contingent';
}

/**
 * The well-known attribute names, in snake_case as they appear in source mappings,
 * policy conditions and event `changes`. Sources may add others.
 */
export const IDENTITY_ATTRIBUTES = [
  'first_name',
  'last_name',
  'display_name',
  'email',
  'department',
  'title',
  'manager',
  'location',
  'cost_center',
  'employment_type',
  'company',
] as const;
export type WellKnownAttribute = (typeof IDENTITY_ATTRIBUTES)[number];

export type AttributeValue = string | null;
export type IdentityAttributes = Readonly<Record<string, AttributeValue>>;

/**
 * An identity as it stands at one instant: the fold of its timeline.
 * `key` is immutable (the key of the source record that created it); a rename
 * changes attributes, never the key. `manager`, `owner` and `sponsor` hold keys.
 */
export interface Identity {
  readonly key: string;
  readonly kind: IdentityKind;
  readonly status: IdentityStatus;
  /** The source that is authoritative for this identity now (a conversion moves it). */
  readonly source: string;
  readonly attributes: IdentityAttributes;
  /** Calendar dates (YYYY-MM-DD) in the organisation's time zone. */
  readonly startDate: string | null;
  readonly endDate: string | null;
  /** Human accountable for a non-human identity. */
  readonly owner: string | null;
  /** Human accountable for a contractor or contingent worker. */
  readonly sponsor: string | null;
}

export const CREDENTIAL_KINDS = ['api_key', 'secret', 'token', 'certificate', 'password', 'ssh_key'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** A secret, key, token or certificate an identity holds in a system. Times are ISO 8601 instants. */
export interface Credential {
  readonly id: string;
  readonly identityKey: string;
  readonly system: string;
  readonly kind: CredentialKind;
  readonly name: string;
  readonly createdAt: string;
  readonly lastRotatedAt: string | null;
  readonly expiresAt: string | null;
  readonly status: 'active' | 'revoked';
}

/** Display name derived from attributes, for people and machines alike. */
export function displayName(identity: Pick<Identity, 'key' | 'attributes'>): string {
  const a = identity.attributes;
  if (a.display_name) return a.display_name;
  const full = [a.first_name, a.last_name].filter(Boolean).join(' ');
  return full || identity.key;
}
