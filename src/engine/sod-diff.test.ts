import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Policy } from '../domain/policy.ts';
import { POLICY, person } from './engine-fixture.ts';
import { sodPolicyDiff } from './sod-diff.ts';

const NOW = '2026-06-01T09:00:00Z';
const RULE = {
  name: 'build-vs-admin', description: '', severity: 'high' as const, owner: 'CISO', mitigations: [], maxMitigationDays: 30,
  sides: [{ entitlements: [{ system: 'github', entitlement: 'admins' }], roles: [], patterns: [] }, { entitlements: [{ system: 'github', entitlement: 'developers' }], roles: [], patterns: [] }] as const,
};
const WITH_SOD: Policy = { ...POLICY, sod: [RULE] };
const identities = [person('E1', { attributes: { title: 'Senior Engineer' } }), person('E2'), person('F1', { attributes: { department: 'Finance' } })];

describe('SoD in a policy diff', () => {
  test('adding an SoD rule reports the violations existing birthright access would create, per identity', () => {
    const diff = sodPolicyDiff(identities, POLICY, WITH_SOD, [], NOW);
    assert.deepEqual(diff.created.map((v) => [v.identityKey, v.rule, v.pair.join(' + ')]), [['E1', 'build-vs-admin', 'github:admins + github:developers']]);
    assert.deepEqual(diff.resolved, []);
  });

  test('a rule change that stops granting one side resolves the violation', () => {
    const narrower: Policy = { ...WITH_SOD, rules: WITH_SOD.rules.filter((r) => r.name !== 'seniors') };
    const diff = sodPolicyDiff(identities, WITH_SOD, narrower, [], NOW);
    assert.deepEqual(diff.created, []);
    assert.deepEqual(diff.resolved.map((v) => v.identityKey), ['E1']);
  });

  test('policies without SoD rules report nothing', () => {
    assert.deepEqual(sodPolicyDiff(identities, POLICY, POLICY, [], NOW), { created: [], resolved: [] });
  });
});
