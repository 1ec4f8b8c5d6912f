/**
 * A small organisation for engine tests: five systems, one per enforcement
 * mode plus an identity provider, and builders for identities and observed state.
 * Test support only; nothing in src/ imports it outside *.test.ts.
 */
import type { Account, Grant } from '../domain/access.ts';
import type { Identity } from '../domain/identity.ts';
import type { Policy, SystemDef } from '../domain/policy.ts';
import type { ObservedSystem } from './observed-index.ts';

function system(name: string, overrides: Partial<SystemDef>): SystemDef {
  return {
    name,
    connector: { type: 'fake', settings: {} },
    owner: 'OWN-' + name,
    criticality: 'medium',
    enforcement: 'full',
    leaver: { action: 'disable', deleteAfterDays: 90 },
    orphans: { disableAfterDays: 7 },
    correlation: { account: 'externalId', identity: 'key' },
    account: { name: null, attributes: {} },
    identityProvider: false,
    sessions: false,
    credentials: { onDisable: 'keep', onEnable: 'keep' },
    ...overrides,
  };
}

export const POLICY: Policy = {
  systems: [
    system('directory', {
      identityProvider: true,
      sessions: true,
      leaver: { action: 'delete', deleteAfterDays: 90 },
      correlation: { account: 'employeeNumber', identity: 'key' },
      account: { name: '{first_name|ascii|lower}.{last_name|ascii|lower}', attributes: { mail: '{email}', title: '{title}' } },
    }),
    system('github', { enforcement: 'relative', sessions: true }),
    system('vpn', { leaver: { action: 'delete', deleteAfterDays: 30 } }),
    system('ledger', { enforcement: 'positive', connector: { type: 'manual', settings: {} } }),
    system('legacy', { enforcement: 'none' }),
  ],
  entitlements: [
    ...['all-staff', 'engineering', 'finance'].map((name) => ent('directory', name)),
    ...['members', 'developers', 'admins'].map((name) => ent('github', name)),
    ent('vpn', 'standard'),
    ent('ledger', 'viewer'),
    { ...ent('ledger', 'approver'), privileged: true, maxDurationDays: 30 },
    ent('legacy', 'user'),
  ],
  roles: [
    { name: 'staff', description: '', inducements: [{ type: 'entitlement', system: 'vpn', entitlement: 'standard' }] },
    {
      name: 'employee-base',
      description: '',
      inducements: [{ type: 'role', role: 'staff' }, { type: 'entitlement', system: 'directory', entitlement: 'all-staff' }],
    },
    {
      name: 'engineer',
      description: '',
      inducements: ['engineering', 'members', 'developers'].map((e) =>
        ({ type: 'entitlement', system: e === 'engineering' ? 'directory' : 'github', entitlement: e }) as const),
    },
    {
      name: 'finance',
      description: '',
      inducements: [
        { type: 'entitlement', system: 'directory', entitlement: 'finance' },
        { type: 'entitlement', system: 'ledger', entitlement: 'viewer' },
      ],
    },
  ],
  rules: [
    { name: 'every-employee', description: '', when: { kind: ['employee'] }, grant: { roles: ['employee-base'], entitlements: [] } },
    { name: 'engineering', description: '', when: { equals: { department: 'Engineering' } }, grant: { roles: ['engineer'], entitlements: [] } },
    { name: 'finance', description: '', when: { equals: { department: 'Finance' } }, grant: { roles: ['finance'], entitlements: [] } },
    {
      name: 'seniors',
      description: '',
      when: { all: [{ equals: { department: 'Engineering' } }, { matches: { title: '^Senior ' } }] },
      grant: { roles: [], entitlements: [{ system: 'github', entitlement: 'admins' }] },
    },
    { name: 'legacy', description: '', when: { kind: ['employee'] }, grant: { roles: [], entitlements: [{ system: 'legacy', entitlement: 'user' }] } },
  ],
  approvals: [],
};

function ent(system: string, name: string) {
  return { system, name, displayName: name, privileged: false, maxDurationDays: null };
}

export function person(key: string, overrides: Partial<Identity> & { attributes?: Record<string, string | null> } = {}): Identity {
  const { attributes, ...rest } = overrides;
  return {
    key,
    kind: 'employee',
    status: 'active',
    source: 'hr',
    startDate: '2024-01-01',
    endDate: null,
    owner: null,
    sponsor: null,
    ...rest,
    attributes: {
      first_name: 'Ada',
      last_name: 'Lovelace',
      email: `${key.toLowerCase()}@example.com`,
      department: 'Engineering',
      title: 'Engineer',
      manager: null,
      ...attributes,
    },
  };
}

/** An observed account, correlated to `identityKey` the way its system correlates, with its grants. */
export interface AccountSpec {
  readonly system: string;
  readonly identityKey: string;
  readonly enabled?: boolean;
  readonly grants?: readonly string[];
  readonly name?: string;
  readonly attributes?: Account['attributes'];
}

/** Observed state for every system of POLICY (empty systems included, as a full read would give). */
export function observedOf(specs: readonly AccountSpec[]): ObservedSystem[] {
  return POLICY.systems.map(({ name, correlation }) => {
    const accounts: Account[] = [];
    const grants: Grant[] = [];
    for (const spec of specs.filter((s) => s.system === name)) {
      const accountId = `${name}-${spec.identityKey}`;
      accounts.push({
        system: name,
        accountId,
        name: spec.name ?? 'ada.lovelace',
        enabled: spec.enabled ?? true,
        attributes: { [correlation.account]: spec.identityKey, ...spec.attributes },
      });
      for (const entitlement of spec.grants ?? []) grants.push({ system: name, accountId, entitlement });
    }
    return { system: name, accounts, grants };
  });
}

/** The accounts an active Engineering employee holds when everything is in step. */
export function engineerAccounts(identityKey: string): AccountSpec[] {
  return [
    { system: 'directory', identityKey, grants: ['all-staff', 'engineering'], attributes: { mail: `${identityKey.toLowerCase()}@example.com`, title: 'Engineer' } },
    { system: 'github', identityKey, grants: ['members', 'developers'] },
    { system: 'vpn', identityKey, grants: ['standard'] },
    { system: 'legacy', identityKey, grants: [] },
  ];
}
