import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Policy } from '../domain/policy.ts';
import { POLICY, engineerAccounts, observedOf, person } from './engine-fixture.ts';
import { plan } from './plan.ts';

const NOW = '2026-06-01T09:00:00Z';
const SOD: Policy = {
  ...POLICY,
  sod: [{
    name: 'build-vs-admin', description: '', severity: 'high', owner: 'CISO', mitigations: ['session-recording'], maxMitigationDays: 30,
    sides: [{ entitlements: [{ system: 'github', entitlement: 'admins' }], roles: [], patterns: [] }, { entitlements: [], roles: ['engineer'], patterns: [] }],
  }],
};
const senior = person('E1', { attributes: { title: 'Senior Engineer' } });

describe('the SoD gate of a plan', () => {
  test('a mover whose new title brings a birthright grant that breaks an SoD rule gets it held, with the rule as the reason', () => {
    const p = plan({ identities: [senior], policy: SOD, assignments: [], observed: observedOf(engineerAccounts('E1')), previouslyAssigned: [], credentials: [], now: NOW });
    assert.deepEqual(p.changes.filter((c) => c.kind === 'add_grant').map((c) => c.entitlement), []);
    assert.equal(p.sodHeld?.length, 1);
    const [held] = p.sodHeld!;
    assert.equal(held!.rule, 'build-vs-admin');
    assert.deepEqual(held!.pair, ['directory:engineering', 'github:admins']);
    assert.match(held!.reason, /seniors/);
  });

  test('without the SoD rule the same grant is planned', () => {
    const p = plan({ identities: [senior], policy: POLICY, assignments: [], observed: observedOf(engineerAccounts('E1')), previouslyAssigned: [], credentials: [], now: NOW });
    assert.deepEqual(p.changes.filter((c) => c.kind === 'add_grant').map((c) => c.entitlement), ['admins']);
    assert.equal(p.sodHeld, undefined);
  });

  test('a grant an approved exception (a mitigation) asks for is not held', () => {
    const p = plan({
      identities: [person('E1')], policy: SOD, observed: observedOf(engineerAccounts('E1')), previouslyAssigned: [], credentials: [], now: NOW,
      assignments: [{ identityKey: 'E1', system: 'github', entitlement: 'admins', reason: { type: 'exception', exceptionId: 'req-1', justification: 'on call' }, validFrom: null, validTo: '2026-06-20T00:00:00Z' }],
    });
    assert.deepEqual(p.changes.filter((c) => c.kind === 'add_grant').map((c) => c.entitlement), ['admins']);
    assert.equal(p.sodHeld, undefined);
  });

  test('a joiner whose birthright rules alone conflict gets the conflicting grants held and the rest planned', () => {
    const p = plan({ identities: [senior], policy: SOD, assignments: [], observed: observedOf([]), previouslyAssigned: [], credentials: [], now: NOW });
    const added = p.changes.filter((c) => c.kind === 'add_grant' && c.system === 'github').map((c) => c.entitlement).sort();
    const held = (p.sodHeld ?? []).map((h) => h.pair.join('+'));
    assert.ok(held.length > 0, 'something is held');
    assert.ok(!(added.includes('admins') && added.includes('developers')), `planned together: ${added.join(', ')}`);
  });
});
