import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Policy, SodRule } from '../domain/policy.ts';
import { POLICY } from './engine-fixture.ts';
import { newSodViolations, sodViolationKey, sodViolations } from './sod.ts';

const e = (ref: string) => {
  const [system = '', entitlement = ''] = ref.split(':');
  return { system, entitlement };
};

function rule(overrides: Partial<SodRule> = {}): SodRule {
  return {
    name: 'payments',
    description: '',
    sides: [
      { entitlements: [e('ledger:pay-create')], roles: [], patterns: [] },
      { entitlements: [], roles: [], patterns: [{ system: 'ledger', pattern: 'pay-approve*' }] },
    ],
    severity: 'high',
    owner: 'CFO',
    mitigations: ['monthly-review'],
    maxMitigationDays: 90,
    ...overrides,
  };
}

const withSod = (...rules: SodRule[]): Policy => ({
  ...POLICY,
  roles: [...POLICY.roles, { name: 'payer', description: '', inducements: [{ type: 'entitlement', system: 'ledger', entitlement: 'pay-create' }, { type: 'entitlement', system: 'ledger', entitlement: 'pay-view' }] }],
  sod: rules,
});

describe('SoD evaluation', () => {
  const cases: readonly { name: string; rules: SodRule[]; held: string[]; expected: [string, string] | null }[] = [
    { name: 'an entitlement and a pattern match on the other side conflict', rules: [rule()], held: ['ledger:pay-create', 'ledger:pay-approve-eu'], expected: ['ledger:pay-approve-eu', 'ledger:pay-create'] },
    { name: 'one side alone is no violation', rules: [rule()], held: ['ledger:pay-create', 'ledger:pay-view'], expected: null },
    { name: 'a pattern does not match another system', rules: [rule()], held: ['ledger:pay-create', 'github:pay-approve'], expected: null },
    {
      name: 'a role side is held only when every entitlement it induces is held',
      rules: [rule({ sides: [{ entitlements: [], roles: ['payer'], patterns: [] }, { entitlements: [e('ledger:pay-approve')], roles: [], patterns: [] }] })],
      held: ['ledger:pay-create', 'ledger:pay-approve'],
      expected: null,
    },
    {
      name: 'a role side held in full conflicts with the other side',
      rules: [rule({ sides: [{ entitlements: [], roles: ['payer'], patterns: [] }, { entitlements: [e('ledger:pay-approve')], roles: [], patterns: [] }] })],
      held: ['ledger:pay-create', 'ledger:pay-view', 'ledger:pay-approve'],
      expected: ['ledger:pay-approve', 'ledger:pay-create'],
    },
    {
      name: 'an entitlement named on both sides does not conflict with itself',
      rules: [rule({ sides: [{ entitlements: [e('ledger:admin')], roles: [], patterns: [] }, { entitlements: [e('ledger:admin')], roles: [], patterns: [] }] })],
      held: ['ledger:admin'],
      expected: null,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const found = sodViolations(withSod(...c.rules), 'E1', c.held.map(e));
      assert.deepEqual(found.map((v) => v.pair), c.expected ? [c.expected] : []);
    });
  }

  test('a rule written with its sides swapped finds the same violation under the same key', () => {
    const r = rule();
    const swapped = rule({ sides: [r.sides[1], r.sides[0]] });
    const held = ['ledger:pay-approve-eu', 'ledger:pay-create'].map(e);
    const a = sodViolations(withSod(r), 'E1', held);
    const b = sodViolations(withSod(swapped), 'E1', held);
    assert.deepEqual(a, b);
    assert.equal(sodViolationKey(a[0]!), sodViolationKey(b[0]!));
  });

  test('only the violations an addition creates are new; one already there is not reported again', () => {
    const policy = withSod(rule());
    assert.deepEqual(newSodViolations(policy, 'E1', [e('ledger:pay-create')], [e('ledger:pay-approve')]).map((v) => v.rule), ['payments']);
    assert.deepEqual(newSodViolations(policy, 'E1', [e('ledger:pay-create'), e('ledger:pay-approve')], [e('ledger:pay-approve-2')]), []);
  });

  test('a policy without SoD rules finds nothing', () => {
    assert.deepEqual(sodViolations(POLICY, 'E1', ['ledger:pay-create', 'ledger:pay-approve'].map(e)), []);
  });
});
