import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Assignment } from '../domain/access.ts';
import type { Policy } from '../domain/policy.ts';
import { compilePolicy } from './compiled-policy.ts';
import { desired, desiredIndex, desiredIndexer } from './desired.ts';
import { explain, policyDiff } from './explain.ts';
import { listedGrants } from './observed-index.ts';
import { observedOf, person, POLICY } from './engine-fixture.ts';

const NOW = '2026-06-15T09:00:00Z';
const ids = (policy: Policy = POLICY, overrides: Parameters<typeof person>[1] = {}) =>
  desired(person('E1', overrides), policy, [], NOW).entitlements.map((e) => `${e.system}:${e.entitlement}`);

describe('desired', () => {
  test('an engineer desires birthright access with the rule and role chain behind each entitlement', () => {
    const access = desired(person('E1'), POLICY, [], NOW);
    const vpn = access.entitlements.find((e) => e.system === 'vpn');
    assert.deepEqual(vpn?.reasons, [{ type: 'rule', rule: 'every-employee', roleChain: ['employee-base', 'staff'] }]);
    assert.deepEqual(ids(), [
      'directory:all-staff', 'directory:engineering', 'github:developers', 'github:members', 'legacy:user', 'vpn:standard',
    ]);
  });

  test('only active identities desire access', () => {
    for (const status of ['pending', 'suspended', 'left'] as const) assert.deepEqual(ids(POLICY, { status }), []);
  });

  test('several reasons for one entitlement are all kept, and the latest end wins', () => {
    const exception: Assignment = {
      identityKey: 'E1', system: 'directory', entitlement: 'engineering', validFrom: null, validTo: '2026-07-01T00:00:00Z',
      reason: { type: 'exception', exceptionId: 'X1', justification: 'migration' },
    };
    const entry = desired(person('E1'), POLICY, [exception], NOW).entitlements.find((e) => e.entitlement === 'engineering');
    assert.equal(entry?.reasons.length, 2);
    assert.equal(entry?.validTo, null);
  });

  test('a time-bound assignment counts only inside its window, capped by the entitlement\'s maximum duration', () => {
    const request = (validFrom: string | null, validTo: string | null): Assignment => ({
      identityKey: 'E1', system: 'ledger', entitlement: 'approver', validFrom, validTo,
      reason: { type: 'request', requestId: 'R1', roleChain: [] },
    });
    const has = (a: Assignment) => desired(person('E1'), POLICY, [a], NOW).entitlements.some((e) => e.entitlement === 'approver');
    assert.ok(has(request('2026-06-01T00:00:00Z', '2026-06-20T00:00:00Z')));
    assert.ok(!has(request('2026-06-16T00:00:00Z', null)), 'not yet valid');
    assert.ok(!has(request('2026-05-01T00:00:00Z', '2026-06-14T00:00:00Z')), 'expired');
    assert.ok(!has(request('2026-05-01T00:00:00Z', null)), 'open-ended, but max_duration_days is 30');
    assert.ok(!has({ ...request(null, null), identityKey: 'E2' }), 'someone else\'s');
  });

  test('a hand-built policy with a role cycle still terminates', () => {
    const cyclic: Policy = {
      ...POLICY,
      roles: [
        { name: 'a', description: '', inducements: [{ type: 'role', role: 'b' }, { type: 'entitlement', system: 'vpn', entitlement: 'standard' }] },
        { name: 'b', description: '', inducements: [{ type: 'role', role: 'a' }] },
      ],
      rules: [{ name: 'r', description: '', when: { kind: ['employee'] }, grant: { roles: ['a'], entitlements: [] } }],
    };
    assert.deepEqual(ids(cyclic), ['vpn:standard']);
  });
});

describe('desired access for many identities at once', () => {
  const nowMs = Date.parse(NOW);
  const today = NOW.slice(0, 10);
  const compiled = compilePolicy(POLICY);

  test('identities that agree on every field the rules read share one desired index, equal to each one\'s own', () => {
    const desiredOf = desiredIndexer(compiled, nowMs, today);
    const senior = (key: string, email: string) => person(key, { attributes: { title: 'Senior Engineer', email } });
    const first = desiredOf(senior('E1', 'e1@example.com'), []);
    assert.equal(desiredOf(senior('E2', 'e2@example.com'), []), first, 'the fields no rule reads do not matter');
    assert.deepEqual(first, desiredIndex(senior('E2', 'e2@example.com'), compiled, [], nowMs, today));
    const junior = desiredOf(person('E3'), []);
    assert.notEqual(junior, first, 'the title the seniors rule matches does matter');
    assert.deepEqual(junior, desiredIndex(person('E3'), compiled, [], nowMs, today));
    assert.ok(!junior.get('github')?.has('admins') && first.get('github')?.has('admins'));
  });

  test('an identity with a request of its own gets its own desired index; an inactive one desires nothing', () => {
    const desiredOf = desiredIndexer(compiled, nowMs, today);
    const shared = desiredOf(person('E1'), []);
    const request: Assignment = { identityKey: 'E2', system: 'ledger', entitlement: 'viewer', validFrom: null, validTo: null, reason: { type: 'request', requestId: 'R1', roleChain: [] } };
    const own = desiredOf(person('E2'), [request]);
    assert.ok(own.get('ledger')?.has('viewer') && !shared.get('ledger')?.has('viewer'));
    assert.equal(desiredOf(person('E3'), []), shared, 'the shared index is unchanged by the request');
    assert.equal(desiredOf(person('E4', { status: 'left' }), []).size, 0);
  });
});

describe('explain and policy diff', () => {
  test('explain sets desired against held access, with reasons', () => {
    const observed = observedOf([{ system: 'vpn', identityKey: 'E1', grants: ['standard', 'admin'] }])
      .find((o) => o.system === 'vpn')!;
    const result = explain(person('E1'), POLICY, [], { accounts: observed.accounts, grants: listedGrants(observed) }, NOW);
    const state = Object.fromEntries(result.entitlements.map((e) => [`${e.system}:${e.entitlement}`, e.state]));
    assert.equal(state['vpn:standard'], 'ok');
    assert.equal(state['vpn:admin'], 'not_desired');
    assert.equal(state['github:members'], 'missing');
    assert.deepEqual(result.entitlements.find((e) => e.entitlement === 'standard')?.because,
      ['rule every-employee via role employee-base → staff']);
  });

  test('policy diff lists who would gain and lose what', () => {
    const next: Policy = { ...POLICY, rules: POLICY.rules.filter((r) => r.name !== 'engineering') };
    const diff = policyDiff([person('E1'), person('E2', { attributes: { department: 'Sales' } })], POLICY, next, [], NOW);
    assert.equal(diff.length, 1);
    assert.equal(diff[0]?.identityKey, 'E1');
    assert.deepEqual(diff[0]?.gained, []);
    assert.deepEqual(diff[0]?.lost.map((e) => e.entitlement), ['engineering', 'developers', 'members']);
  });
});
