/**
 * The in-memory downstream system behind the fake connector: accounts, groups,
 * grants, sessions and credentials. Deterministic: account ids are a counter,
 * lists come back in creation order. Tests seed and inspect it directly.
 */
import type { Account, Grant } from '../../domain/access.ts';

type AttributeValue = string | readonly string[] | null;

export interface FakeAccount {
  readonly accountId: string;
  /** Correlation: the identity key jml created the account for. */
  readonly identityKey: string;
  name: string;
  enabled: boolean;
  attributes: Record<string, AttributeValue>;
}

export interface FakeCredential {
  readonly credentialId: string;
  readonly accountId: string;
  status: 'active' | 'revoked';
  /** Change ids of the rotations carried out, so a rotation reads back exactly. */
  readonly rotations: string[];
}

export interface FakeSystem {
  readonly name: string;
  readonly accounts: Map<string, FakeAccount>;
  readonly groups: Map<string, { displayName: string }>;
  /** accountId → entitlement names held. */
  readonly grants: Map<string, Set<string>>;
  /** accountId → number of live sessions. */
  readonly sessions: Map<string, number>;
  readonly credentials: Map<string, FakeCredential>;
  /** Effects actually carried out, by kind: what "no duplicate create" is asserted on. */
  readonly effects: Record<string, number>;
  nextAccount: number;
}

/** A new, empty system; `groups` are seeded entitlements. */
export function createFakeSystem(name: string, groups: readonly string[] = []): FakeSystem {
  const system: FakeSystem = {
    name,
    accounts: new Map(),
    groups: new Map(),
    grants: new Map(),
    sessions: new Map(),
    credentials: new Map(),
    effects: {},
    nextAccount: 1,
  };
  for (const group of groups) system.groups.set(group, { displayName: group });
  return system;
}

/** Finds an account by its id, or by the identity it was created for. */
export function findAccount(system: FakeSystem, target: { accountId?: string | undefined; identityKey: string }): FakeAccount | undefined {
  if (target.accountId !== undefined) return system.accounts.get(target.accountId);
  for (const account of system.accounts.values()) if (account.identityKey === target.identityKey) return account;
  return undefined;
}

/** Creates an account directly (seeding, or the effect of create_account). */
export function addAccount(system: FakeSystem, identityKey: string, attributes: Readonly<Record<string, AttributeValue>> = {}): FakeAccount {
  const accountId = `${system.name}-acct-${system.nextAccount++}`;
  const userName = attributes.user_name;
  const account: FakeAccount = {
    accountId,
    identityKey,
    name: typeof userName === 'string' ? userName : identityKey,
    enabled: true,
    attributes: { ...attributes },
  };
  system.accounts.set(accountId, account);
  system.grants.set(accountId, new Set());
  return account;
}

export function recordEffect(system: FakeSystem, kind: string): void {
  system.effects[kind] = (system.effects[kind] ?? 0) + 1;
}

export function accountView(system: FakeSystem, account: FakeAccount): Account {
  return {
    system: system.name,
    accountId: account.accountId,
    name: account.name,
    enabled: account.enabled,
    attributes: { ...account.attributes, identity_key: account.identityKey },
  };
}

export function grantViews(system: FakeSystem): Grant[] {
  const out: Grant[] = [];
  for (const [accountId, held] of system.grants) {
    for (const entitlement of held) out.push({ system: system.name, accountId, entitlement });
  }
  return out;
}

/** Whether `attributes` (null = absent) all match the account's. */
export function attributesHold(account: FakeAccount, attributes: Readonly<Record<string, AttributeValue>>): boolean {
  return Object.entries(attributes).every(([key, want]) => sameValue(account.attributes[key] ?? null, want));
}

function sameValue(have: AttributeValue, want: AttributeValue): boolean {
  if (Array.isArray(have) && Array.isArray(want)) return have.length === want.length && have.every((v, i) => v === want[i]);
  return have === want;
}
