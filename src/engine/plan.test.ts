import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Assignment } from '../domain/access.ts';
import type { Change } from '../domain/change.ts';
import type { Credential, Identity } from '../domain/identity.ts';
import { engineerAccounts, observedOf, person, POLICY, type AccountSpec } from './engine-fixture.ts';
import { listedGrants } from './observed-index.ts';
import { plan, type JmlAssigned, type PlanInput } from './plan.ts';

const NOW = '2026-06-15T09:00:00Z';

function input(
  identities: Identity[],
  accounts: AccountSpec[],
  extra: Partial<PlanInput> = {},
): PlanInput {
  return { identities, policy: POLICY, assignments: [], observed: observedOf(accounts), previouslyAssigned: [], credentials: [], now: NOW, ...extra };
}

/** `kind system identity target` — what a person reading the plan sees first. */
function line(change: Change): string {
  const target = change.entitlement ?? change.credentialId ?? change.subjectKey ?? change.assetTag ?? change.accountId ?? '';
  return `${change.kind} ${change.system ?? '-'} ${change.identityKey} ${target}`.trim();
}
const lines = (changes: readonly Change[]) => changes.map(line).sort();
const find = (changes: readonly Change[], text: string) => {
  const change = changes.find((c) => line(c) === text);
  assert.ok(change, `no change "${text}" in:\n${lines(changes).join('\n')}`);
  return change;
};
const dependsOn = (changes: readonly Change[], later: string, earlier: string) =>
  find(changes, later).dependsOn.includes(find(changes, earlier).id);

const jmlGave = (identityKey: string, system: string, ...entitlements: (string | null)[]): JmlAssigned[] =>
  entitlements.map((entitlement) => ({ identityKey, system, entitlement }));

const exception = (identityKey: string, system: string, entitlement: string, validTo: string | null): Assignment => ({
  identityKey, system, entitlement, validFrom: '2026-01-01T00:00:00Z', validTo,
  reason: { type: 'exception', exceptionId: `X-${entitlement}`, justification: 'project' },
});

/** An account in `system` that no identity matches (its correlation value X9 is nobody's key). */
const orphan = (system: string): AccountSpec => ({ system, identityKey: 'X9', name: 'made.by.hand' });
const orphanFinding = (system: string, firstSeen: string) => ({ id: `finding-${system}`, system, accountId: `${system}-X9`, firstSeen });

interface Case {
  readonly name: string;
  readonly input: PlanInput;
  readonly expect: readonly string[];
}

const leaver = person('E1', { status: 'left', endDate: '2026-06-01' });
const leaverAccounts: AccountSpec[] = [
  ...engineerAccounts('E1'),
  { system: 'ledger', identityKey: 'E1', grants: ['viewer'] },
];

const cases: Case[] = [
  {
    name: 'a joiner gets an account and every desired grant in each managed system',
    input: input([person('E1')], []),
    expect: [
      'add_grant directory E1 all-staff', 'add_grant directory E1 engineering',
      'add_grant github E1 developers', 'add_grant github E1 members', 'add_grant vpn E1 standard',
      'create_account directory E1', 'create_account github E1', 'create_account vpn E1',
    ],
  },
  {
    name: 'an identity whose access is in step needs no change',
    input: input([person('E1')], engineerAccounts('E1')),
    expect: [],
  },
  {
    name: 'a mover to another department gains the new access and loses what no longer maps',
    input: input([person('E1', { attributes: { department: 'Finance' } })], engineerAccounts('E1'), {
      previouslyAssigned: jmlGave('E1', 'github', null, 'members', 'developers'),
    }),
    expect: [
      'add_grant directory E1 finance', 'add_grant ledger E1 viewer', 'create_account ledger E1',
      'disable_account github E1 github-E1', 'remove_grant directory E1 engineering',
      'remove_grant github E1 developers', 'remove_grant github E1 members',
    ],
  },
  {
    name: 'a mover whose title changes gains the senior grant and has the title updated',
    input: input([person('E1', { attributes: { title: 'Senior Engineer' } })], engineerAccounts('E1')),
    expect: ['add_grant github E1 admins', 'update_attributes directory E1 directory-E1'],
  },
  {
    name: 'a manager change alone changes no access',
    input: input([person('E1', { attributes: { manager: 'E7' } })], engineerAccounts('E1')),
    expect: [],
  },
  {
    name: 'a leaver is disabled everywhere jml manages, loses removable grants, and nothing is deleted before retention',
    input: input([leaver], leaverAccounts, { previouslyAssigned: jmlGave('E1', 'github', 'members') }),
    expect: [
      'disable_account directory E1 directory-E1', 'disable_account github E1 github-E1',
      'disable_account ledger E1 ledger-E1', 'disable_account vpn E1 vpn-E1',
      'remove_grant directory E1 all-staff', 'remove_grant directory E1 engineering',
      'remove_grant github E1 members', 'remove_grant vpn E1 standard',
      'revoke_sessions directory E1 directory-E1', 'revoke_sessions github E1 github-E1',
    ],
  },
  {
    name: 'after the retention period a leaver\'s accounts are deleted where the leaver action says delete',
    input: input([leaver], leaverAccounts.map((a) => ({ ...a, enabled: false, grants: [] })), {
      now: '2026-09-01T09:00:00Z',
    }),
    expect: ['delete_account directory E1 directory-E1', 'delete_account vpn E1 vpn-E1'],
  },
  {
    name: 'a rehire gets only what policy desires now: old grants go before the account is enabled',
    input: input(
      [person('E1', { attributes: { department: 'Finance' } })],
      [{ system: 'directory', identityKey: 'E1', enabled: false, grants: ['all-staff', 'engineering'], attributes: { mail: 'e1@example.com', title: 'Engineer' } }],
    ),
    expect: [
      'add_grant directory E1 finance', 'add_grant ledger E1 viewer', 'add_grant vpn E1 standard',
      'create_account ledger E1', 'create_account vpn E1', 'enable_account directory E1 directory-E1',
      'remove_grant directory E1 engineering',
    ],
  },
  {
    name: 'an exception past its end date no longer justifies the grant',
    input: input([person('E1')], [...engineerAccounts('E1').filter((a) => a.system !== 'github'),
      { system: 'github', identityKey: 'E1', grants: ['members', 'developers', 'admins'] }], {
      assignments: [exception('E1', 'github', 'admins', '2026-06-01T00:00:00Z')],
      previouslyAssigned: jmlGave('E1', 'github', 'admins'),
    }),
    expect: ['remove_grant github E1 admins'],
  },
  {
    name: 'an exception within its window keeps the grant',
    input: input([person('E1')], [...engineerAccounts('E1').filter((a) => a.system !== 'github'),
      { system: 'github', identityKey: 'E1', grants: ['members', 'developers', 'admins'] }], {
      assignments: [exception('E1', 'github', 'admins', '2026-12-31T00:00:00Z')],
      previouslyAssigned: jmlGave('E1', 'github', 'admins'),
    }),
    expect: [],
  },
  {
    name: 'a mover keeps access that a second reason still justifies',
    input: input([person('E1', { attributes: { department: 'Finance' } })], engineerAccounts('E1'), {
      assignments: [exception('E1', 'directory', 'engineering', null)],
    }),
    expect: ['add_grant directory E1 finance', 'add_grant ledger E1 viewer', 'create_account ledger E1'],
  },
  {
    name: 'each enforcement mode removes only what it may: full all, relative its own, positive and none nothing',
    input: input([person('E1')], [
      { system: 'directory', identityKey: 'E1', grants: ['all-staff', 'engineering', 'finance'], attributes: { mail: 'e1@example.com', title: 'Engineer' } },
      { system: 'github', identityKey: 'E1', grants: ['members', 'developers', 'admins', 'outside'] },
      { system: 'vpn', identityKey: 'E1', grants: ['standard'] },
      { system: 'ledger', identityKey: 'E1', grants: ['approver'] },
      { system: 'legacy', identityKey: 'E1', grants: ['admin'] },
    ], { previouslyAssigned: jmlGave('E1', 'github', 'admins') }),
    expect: ['remove_grant directory E1 finance', 'remove_grant github E1 admins'],
  },
  {
    name: 'a suspended identity has its accounts disabled and keeps its grants',
    input: input([person('E1', { status: 'suspended' })], engineerAccounts('E1')),
    expect: [
      'disable_account directory E1 directory-E1', 'disable_account github E1 github-E1', 'disable_account vpn E1 vpn-E1',
      'revoke_sessions directory E1 directory-E1', 'revoke_sessions github E1 github-E1',
    ],
  },
  {
    name: 'a pending joiner gets nothing before the start',
    input: input([person('E1', { status: 'pending' })], []),
    expect: [],
  },
  {
    name: 'an orphan under full enforcement is disabled once its grace period since the finding has passed, and never deleted',
    input: input([person('E1')], [...engineerAccounts('E1'), orphan('directory'), orphan('vpn')], {
      orphanFindings: [orphanFinding('directory', '2026-06-08T09:00:00Z'), orphanFinding('vpn', '2026-06-08T09:00:01Z')],
    }),
    expect: ['disable_account directory orphan:directory-X9 directory-X9'],
  },
  {
    name: 'an orphan in a system under relative, positive or no enforcement is only reported, however old its finding',
    input: input([], ['github', 'ledger', 'legacy'].map(orphan), { orphanFindings: ['github', 'ledger', 'legacy'].map((s) => orphanFinding(s, '2025-01-01T00:00:00Z')) }),
    expect: [],
  },
  {
    name: 'an orphan that is disabled already, or that no open finding names, is left alone',
    input: input([], [{ ...orphan('directory'), enabled: false }, orphan('vpn')], { orphanFindings: [orphanFinding('directory', '2025-01-01T00:00:00Z')] }),
    expect: [],
  },
  {
    name: 'an account whose identity has arrived since its orphan finding is not disabled as an orphan',
    input: input([person('X9')], engineerAccounts('X9'), { orphanFindings: [orphanFinding('directory', '2025-01-01T00:00:00Z')] }),
    expect: [],
  },
];

describe('plan', () => {
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(lines(plan(c.input).changes), [...c.expect].sort()));
  }

  test('a joiner\'s grants wait for the account to be created', () => {
    const { changes } = plan(input([person('E1')], []));
    assert.ok(dependsOn(changes, 'add_grant github E1 members', 'create_account github E1'));
    assert.deepEqual(find(changes, 'create_account directory E1').attributes,
      { name: 'ada.lovelace', mail: 'e1@example.com', title: 'Engineer', employeeNumber: 'E1' });
  });

  test('a leaver\'s changes follow the leaver order: identity provider, sessions, accounts, grants', () => {
    const { changes } = plan(input([leaver], leaverAccounts));
    assert.ok(dependsOn(changes, 'revoke_sessions github E1 github-E1', 'disable_account directory E1 directory-E1'));
    assert.ok(dependsOn(changes, 'disable_account vpn E1 vpn-E1', 'revoke_sessions directory E1 directory-E1'));
    assert.ok(dependsOn(changes, 'remove_grant vpn E1 standard', 'disable_account vpn E1 vpn-E1'));
    assert.ok(dependsOn(changes, 'remove_grant directory E1 engineering', 'disable_account github E1 github-E1'));
    assert.deepEqual(find(changes, 'disable_account directory E1 directory-E1').dependsOn, []);
  });

  test('a leaver whose account is still enabled after retention is disabled before it is deleted', () => {
    const { changes } = plan(input([leaver], [{ system: 'vpn', identityKey: 'E1', grants: ['standard'] }], { now: '2026-07-02T00:00:00Z' }));
    assert.ok(dependsOn(changes, 'delete_account vpn E1 vpn-E1', 'disable_account vpn E1 vpn-E1'));
    assert.ok(dependsOn(changes, 'delete_account vpn E1 vpn-E1', 'remove_grant vpn E1 standard'));
  });

  test('retention counts from the end date in the organisation\'s calendar', () => {
    const accounts: AccountSpec[] = [{ system: 'vpn', identityKey: 'E1', enabled: false }];
    assert.deepEqual(lines(plan(input([leaver], accounts, { now: '2026-06-30T12:00:00Z' })).changes), []);
    assert.deepEqual(lines(plan(input([leaver], accounts, { now: '2026-07-01T00:30:00Z' })).changes), ['delete_account vpn E1 vpn-E1']);
    // 2026-06-30T23:30Z is already July 1st in Berlin.
    assert.deepEqual(lines(plan(input([leaver], accounts, { now: '2026-06-30T23:30:00Z', timeZone: 'Europe/Berlin' })).changes),
      ['delete_account vpn E1 vpn-E1']);
  });

  test('when an owner leaves, owned identities move to the manager, credentials rotate, and a person confirms', () => {
    const owner = person('E1', { status: 'left', endDate: '2026-06-01', attributes: { manager: 'E2' } });
    const bot = person('svc-ci', { kind: 'service_account', owner: 'E1', attributes: { first_name: null, last_name: null } });
    const key: Credential = {
      id: 'cred-1', identityKey: 'svc-ci', system: 'github', kind: 'api_key', name: 'deploy', createdAt: '2025-01-01T00:00:00Z',
      lastRotatedAt: null, expiresAt: null, status: 'active',
    };
    const own: Credential = { ...key, id: 'cred-2', identityKey: 'E1', name: 'laptop token' };
    const { changes } = plan(input([owner, person('E2'), bot], [...engineerAccounts('E2'), { system: 'github', identityKey: 'svc-ci' }], {
      credentials: [key, own],
      assets: [{ tag: 'LAP-17', holderKey: 'E1', description: 'laptop' }],
    }));
    const transfer = find(changes, 'transfer_ownership - E1 svc-ci');
    assert.equal(transfer.toOwnerKey, 'E2');
    assert.ok(dependsOn(changes, 'manual_task - E1 svc-ci', 'transfer_ownership - E1 svc-ci'));
    assert.ok(dependsOn(changes, 'transfer_ownership - E1 svc-ci', 'revoke_credential github E1 cred-2'));
    assert.ok(dependsOn(changes, 'transfer_ownership - E1 svc-ci', 'rotate_credential github svc-ci cred-1'));
    assert.ok(dependsOn(changes, 'collect_asset - E1 LAP-17', 'transfer_ownership - E1 svc-ci'));
  });

  test('an upcoming leaver\'s returns are planned as soon as the last day is known, due that day, and keep their ids once they have left', () => {
    const laptop = [{ tag: 'LAP-17', holderKey: 'E1', description: 'laptop' }];
    const leaving = person('E1', { endDate: '2026-06-30' });
    const before = plan(input([leaving], engineerAccounts('E1'), { assets: laptop })).changes;
    assert.deepEqual(lines(before), ['collect_asset - E1 LAP-17'], 'access stays until the last day; only the return is planned');
    const early = find(before, 'collect_asset - E1 LAP-17');
    assert.equal(early.attributes?.due, '2026-06-30');
    assert.deepEqual(early.dependsOn, []);
    assert.match(early.reason, /upcoming leaver \(last day 2026-06-30\)/);
    const onTheDay = plan(input([leaving], engineerAccounts('E1'), { assets: laptop, now: '2026-06-30T21:00:00Z' })).changes;
    assert.equal(find(onTheDay, 'collect_asset - E1 LAP-17').id, early.id, 'still planned on the last day worked');
    const after = plan(input([person('E1', { status: 'left', endDate: '2026-06-30' })], engineerAccounts('E1'), { assets: laptop, now: '2026-07-01T09:00:00Z' })).changes;
    assert.equal(find(after, 'collect_asset - E1 LAP-17').id, early.id, 'the leaver order carries the same return');
    assert.deepEqual(lines(plan(input([person('E1')], engineerAccounts('E1'), { assets: laptop })).changes), [], 'no end date, no return');
  });

  test('an owner with no active manager hands ownership to the owner of the system the identity lives in', () => {
    const owner = person('E1', { status: 'left', endDate: '2026-06-01', attributes: { manager: 'E2' } });
    const bot = person('svc-ci', { kind: 'service_account', owner: 'E1' });
    const { changes } = plan(input([owner, person('E2', { status: 'left' }), bot], [{ system: 'github', identityKey: 'svc-ci' }]));
    assert.equal(find(changes, 'transfer_ownership - E1 svc-ci').toOwnerKey, 'OWN-github');
  });

  test('the same intent gets the same ids, whatever the order of the inputs', () => {
    const identities = [person('E3'), person('E2', { attributes: { department: 'Finance' } }), leaver];
    const accounts = [...engineerAccounts('E2'), ...leaverAccounts];
    const first = plan(input(identities, accounts));
    const second = plan({ ...input([...identities].reverse(), [...accounts].reverse()) });
    assert.deepEqual(first.changes.map((c) => c.id), second.changes.map((c) => c.id));
    assert.equal(first.fingerprint, second.fingerprint);
    assert.equal(new Set(first.changes.map((c) => c.id)).size, first.changes.length);
  });

  test('the fingerprint changes when an input changes, and not when only time passes without effect', () => {
    const base = input([person('E1')], engineerAccounts('E1'));
    const { fingerprint } = plan(base);
    assert.equal(plan({ ...base, now: '2026-06-16T09:00:00Z' }).fingerprint, fingerprint);
    const extraGrant = input([person('E1')], [...engineerAccounts('E1').filter((a) => a.system !== 'vpn'),
      { system: 'vpn', identityKey: 'E1', grants: ['standard', 'admin'] }]);
    assert.notEqual(plan(extraGrant).fingerprint, fingerprint);
    assert.notEqual(plan({ ...base, policy: { ...POLICY, rules: POLICY.rules.slice(1) } }).fingerprint, fingerprint);
    assert.notEqual(plan({ ...base, identities: [person('E1', { attributes: { location: 'Paris' } })] }).fingerprint, fingerprint);
  });

  test('grants listed out of account order pair with their accounts all the same', () => {
    const base = input([person('E1'), person('E2')], [...engineerAccounts('E1'), ...engineerAccounts('E2')]);
    const scrambled = base.observed.map((o) => ({ system: o.system, accounts: o.accounts, grants: [...listedGrants(o)].reverse() }));
    assert.deepEqual(lines(plan({ ...base, observed: scrambled }).changes), []);
    assert.equal(plan({ ...base, observed: scrambled }).fingerprint, plan(base).fingerprint);
  });

  test('a plan is frozen', () => {
    const p = plan(input([person('E1')], []));
    assert.ok(Object.isFrozen(p) && Object.isFrozen(p.changes) && Object.isFrozen(p.changes[0]));
  });

  test('a joiner awaiting approval gets no account nor grant, yet loses access nobody gave, and the plan says why', () => {
    const hold = { identityKey: 'E2', requestId: 'req-1', state: 'pending' as const };
    const observed: AccountSpec[] = [{ system: 'vpn', identityKey: 'E2', grants: ['standard', 'guest'] }];
    const open = plan(input([person('E1'), person('E2')], observed));
    const held = plan(input([person('E1'), person('E2')], observed, { joinerHolds: [hold] }));
    const e2 = (p: typeof open) => lines(p.changes.filter((c) => c.identityKey === 'E2'));
    assert.ok(e2(open).includes('create_account github E2'));
    assert.deepEqual(e2(held), ['remove_grant vpn E2 guest']);
    assert.deepEqual(lines(held.changes.filter((c) => c.identityKey === 'E1')), lines(open.changes.filter((c) => c.identityKey === 'E1')));
    assert.deepEqual(held.held, [{ ...hold, heldChanges: open.changes.filter((c) => c.identityKey === 'E2').length - 1 }]);
    assert.equal(open.held, undefined);
    const denied = plan(input([person('E1'), person('E2')], observed, { joinerHolds: [{ ...hold, state: 'denied' }] }));
    assert.equal(new Set([open.fingerprint, held.fingerprint, denied.fingerprint]).size, 3, 'a decision makes a plan computed before it stale');
    const scoped = plan(input([person('E1'), person('E2')], observed, { joinerHolds: [hold], scope: { identityKeys: ['E1'] } }));
    assert.equal(scoped.held, undefined, 'a joiner outside the scope is not reported');
  });

  test('scope restricts the plan to the named identities and systems', () => {
    const p = plan({ ...input([person('E1'), person('E2')], []), scope: { identityKeys: ['E2'], systems: ['github'] } });
    assert.deepEqual(lines(p.changes), ['add_grant github E2 developers', 'add_grant github E2 members', 'create_account github E2']);
  });

  test("an orphan's disable names the finding and when it was first seen as its reason", () => {
    const { changes } = plan(input([], [orphan('directory')], { orphanFindings: [orphanFinding('directory', '2026-06-01T10:00:00Z')] }));
    const disable = find(changes, 'disable_account directory orphan:directory-X9 directory-X9');
    assert.equal(disable.reason, 'orphan account made.by.hand: finding finding-directory first seen 2026-06-01T10:00:00Z, no identity matched it for 7 days (enforcement full)');
    assert.deepEqual(disable.dependsOn, []);
  });

  test("an orphan's disable scrambles its password when the system's policy says so, as every disable does", () => {
    const scrambling = { ...POLICY, systems: POLICY.systems.map((s) => (s.name === 'directory' ? { ...s, credentials: { onDisable: 'scramble' as const, onEnable: 'new_secret' as const } } : s)) };
    const base = input([], [orphan('directory')], { orphanFindings: [orphanFinding('directory', '2026-06-01T10:00:00Z')] });
    assert.equal(find(plan({ ...base, policy: scrambling }).changes, 'disable_account directory orphan:directory-X9 directory-X9').credential, 'scramble');
    assert.equal(find(plan(base).changes, 'disable_account directory orphan:directory-X9 directory-X9').credential, undefined, 'on_disable: keep leaves it');
  });

  test('the grace period for orphans is set per system', () => {
    const policy = { ...POLICY, systems: POLICY.systems.map((s) => (s.name === 'vpn' ? { ...s, orphans: { disableAfterDays: 30 } } : s)) };
    const findings = [orphanFinding('directory', '2026-06-01T00:00:00Z'), orphanFinding('vpn', '2026-06-01T00:00:00Z')];
    const { changes } = plan({ ...input([], [orphan('directory'), orphan('vpn')], { orphanFindings: findings }), policy });
    assert.deepEqual(lines(changes), ['disable_account directory orphan:directory-X9 directory-X9']);
  });

  test('a plan scoped to identities leaves orphans alone; a plan scoped to their system does not', () => {
    const base = input([person('E1')], [orphan('directory')], { orphanFindings: [orphanFinding('directory', '2026-01-01T00:00:00Z')] });
    assert.ok(!lines(plan({ ...base, scope: { identityKeys: ['E1'] } }).changes).some((l) => l.includes('orphan:')));
    assert.ok(!lines(plan({ ...base, scope: { systems: ['github'] } }).changes).some((l) => l.includes('orphan:')));
    assert.ok(lines(plan({ ...base, scope: { systems: ['directory'] } }).changes).includes('disable_account directory orphan:directory-X9 directory-X9'));
  });

  test("an orphan's disable keeps its id across recomputes, and orphan findings move the fingerprint only when they decide a change", () => {
    const accounts = [...engineerAccounts('E1'), orphan('directory')];
    const without = plan(input([person('E1')], accounts));
    const young = plan(input([person('E1')], accounts, { orphanFindings: [orphanFinding('directory', '2026-06-14T09:00:00Z')] }));
    assert.equal(young.fingerprint, without.fingerprint, 'a finding still in its grace period changes nothing');
    const due = plan(input([person('E1')], accounts, { orphanFindings: [orphanFinding('directory', '2026-06-01T09:00:00Z')] }));
    const later = plan(input([person('E1')], accounts, { orphanFindings: [orphanFinding('directory', '2026-06-01T09:00:00Z')], now: '2026-06-16T09:00:00Z' }));
    assert.notEqual(due.fingerprint, without.fingerprint);
    assert.equal(later.fingerprint, due.fingerprint, 'time passing without effect keeps the fingerprint');
    assert.deepEqual(later.changes.map((c) => c.id), due.changes.map((c) => c.id));
  });
});
