import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Change } from '../domain/change.ts';
import type { Identity } from '../domain/identity.ts';
import type { Policy } from '../domain/policy.ts';
import { renderStrict, compileTemplate, TEMPLATE_FILTERS } from './account-template.ts';
import { describeReason, desired, unresolvedTemplates } from './desired.ts';
import { observedOf, person, POLICY, type AccountSpec } from './engine-fixture.ts';
import { explain, policyDiff } from './explain.ts';
import { plan, type PlanInput } from './plan.ts';
import { entitlementDefFor } from './compiled-policy.ts';
import { newTemplateGroups } from './group-changes.ts';

const NOW = '2026-06-15T09:00:00Z';

/** POLICY plus a department group template in `directory` (full enforcement), granted to every employee. */
function withTemplate(template: { createMissing?: boolean; removeEmpty?: boolean } = {}): Policy {
  return {
    ...POLICY,
    entitlements: [
      ...POLICY.entitlements,
      {
        system: 'directory',
        name: 'dept-{department|slug}',
        displayName: 'Department {department}',
        privileged: false,
        maxDurationDays: null,
        template: { createMissing: template.createMissing ?? true, removeEmpty: template.removeEmpty ?? false, description: 'Members of {department}' },
      },
    ],
    rules: [
      ...POLICY.rules,
      { name: 'department-group', description: '', when: { kind: ['employee'] }, grant: { roles: [], entitlements: [{ system: 'directory', entitlement: 'dept-{department|slug}' }] } },
    ],
  };
}

const line = (c: Change) => `${c.kind} ${c.system} ${c.identityKey} ${c.entitlement ?? c.accountId ?? ''}`.trim();
const groupLines = (changes: readonly Change[]) =>
  changes.filter((c) => c.system === 'directory' && (c.kind.endsWith('_group') || c.entitlement?.startsWith('dept-'))).map(line);

/** Directory accounts with the fixture's baseline grants plus `extra`; other systems empty. */
function directory(identityKey: string, extra: string[] = []): AccountSpec {
  return { system: 'directory', identityKey, grants: ['all-staff', ...extra], attributes: { mail: `${identityKey.toLowerCase()}@example.com`, title: 'Engineer' } };
}

function input(identities: Identity[], accounts: AccountSpec[], extra: Partial<PlanInput> = {}, policy = withTemplate()): PlanInput {
  return { identities, policy, assignments: [], observed: observedOf(accounts), previouslyAssigned: [], credentials: [], now: NOW, ...extra };
}

const sales = (key: string, department: string | null = 'Sales+Ops') => person(key, { attributes: { department } });

describe('entitlement templates: groups that follow attributes', () => {
  test('the slug filter turns a department into a group name of lower-case words joined by dashes', () => {
    assert.equal(TEMPLATE_FILTERS.slug('R&D, Europe'), 'r-d-europe');
    assert.equal(TEMPLATE_FILTERS.slug('Sales+Ops'), 'sales-ops');
    assert.equal(TEMPLATE_FILTERS.slug('  Zoë’s Team  '), 'zoe-s-team');
    assert.equal(renderStrict(compileTemplate('dept-{department|upper}'), sales('E1', 'Finance')), 'dept-FINANCE');
    assert.equal(renderStrict(compileTemplate('dept-{department|lower}'), sales('E1', 'R&D, Europe')), 'dept-r&d, europe');
  });

  test('an identity is desired to hold the group its department names, with the template and value as reason', () => {
    const access = desired(sales('E1', 'R&D, Europe'), withTemplate(), [], NOW);
    const group = access.entitlements.find((e) => e.entitlement.startsWith('dept-'));
    assert.equal(group?.entitlement, 'dept-r-d-europe');
    assert.match(describeReason(group!.reasons[0]!), /rule department-group, template dept-\{department\|slug\} with department "R&D, Europe"/);
  });

  const cases: { name: string; input: PlanInput; expect: string[] }[] = [
    {
      name: 'a joiner in a new department gets the group created first, then the grant',
      input: input([sales('E1')], []),
      expect: ['create_group directory E1 dept-sales-ops', 'add_grant directory E1 dept-sales-ops'],
    },
    {
      name: 'a second member of a department nobody holds yet shares one create_group',
      input: input([sales('E1'), sales('E2')], [directory('E1'), directory('E2')]),
      expect: ['create_group directory E1 dept-sales-ops', 'add_grant directory E1 dept-sales-ops', 'add_grant directory E2 dept-sales-ops'],
    },
    {
      name: 'a group another account already holds is not created again',
      input: input([sales('E1'), sales('E2')], [directory('E1', ['dept-sales-ops']), directory('E2')]),
      expect: ['add_grant directory E2 dept-sales-ops'],
    },
    {
      name: 'a group the connector listed without members is not created again',
      input: { ...input([sales('E1')], [directory('E1')]), observed: observedOf([directory('E1')]).map((o) => (o.system === 'directory' ? { ...o, entitlements: ['dept-sales-ops'] } : o)) },
      expect: ['add_grant directory E1 dept-sales-ops'],
    },
    {
      name: 'a mover to another department gets the new group and loses the old one',
      input: input([sales('E1', 'Finance')], [directory('E1', ['dept-sales-ops'])]),
      expect: ['create_group directory E1 dept-finance', 'remove_grant directory E1 dept-sales-ops', 'add_grant directory E1 dept-finance'],
    },
    {
      name: 'an identity without a department is desired no department group and none is created',
      input: input([sales('E1', null), sales('E2', '  ')], [directory('E1'), directory('E2')]),
      expect: [],
    },
    {
      name: 'without create_missing the grant is planned but the group is left to people',
      input: input([sales('E1')], [directory('E1')], {}, withTemplate({ createMissing: false })),
      expect: ['add_grant directory E1 dept-sales-ops'],
    },
    {
      name: 'with remove_empty a group jml created is deleted after its last holder is removed',
      input: input([sales('E1', 'Finance')], [directory('E1', ['dept-sales-ops', 'dept-finance'])], { createdGroups: [{ system: 'directory', entitlement: 'dept-sales-ops' }] }, withTemplate({ removeEmpty: true })),
      expect: ['remove_grant directory E1 dept-sales-ops', 'delete_group directory E1 dept-sales-ops'],
    },
    {
      name: 'a group that fits the template but was made by hand is never deleted',
      input: input([sales('E1', 'Finance')], [directory('E1', ['dept-sales-ops', 'dept-finance'])], {}, withTemplate({ removeEmpty: true })),
      expect: ['remove_grant directory E1 dept-sales-ops'],
    },
    {
      name: 'an empty group jml created in a positive-enforcement system is kept: positive never removes',
      input: {
        ...input([sales('E1', 'Finance')], [], { createdGroups: [{ system: 'directory', entitlement: 'dept-sales-ops' }] },
          { ...withTemplate({ removeEmpty: true }), systems: POLICY.systems.map((s) => (s.name === 'directory' ? { ...s, enforcement: 'positive' as const } : s)) }),
        observed: observedOf([directory('E1', ['dept-finance'])]).map((o) => (o.system === 'directory' ? { ...o, entitlements: ['dept-finance', 'dept-sales-ops'] } : o)),
      },
      expect: [],
    },
    {
      name: 'an empty group jml created and nobody held is deleted in the name of the system owner',
      input: {
        ...input([sales('E1', 'Finance')], [], { createdGroups: [{ system: 'directory', entitlement: 'dept-sales-ops' }] }, withTemplate({ removeEmpty: true })),
        observed: observedOf([directory('E1', ['dept-finance'])]).map((o) => (o.system === 'directory' ? { ...o, entitlements: ['dept-finance', 'dept-sales-ops'] } : o)),
      },
      expect: ['delete_group directory OWN-directory dept-sales-ops'],
    },
    {
      name: 'an empty group jml created is kept while an exception gives it to someone',
      input: {
        ...input([sales('E1', 'Finance')], [directory('E1', ['dept-finance'])], {
          createdGroups: [{ system: 'directory', entitlement: 'dept-sales-ops' }],
          assignments: [{ identityKey: 'E1', system: 'directory', entitlement: 'dept-sales-ops', validFrom: null, validTo: null, reason: { type: 'exception', exceptionId: 'X1', justification: 'covering Sales' } }],
        }, withTemplate({ removeEmpty: true })),
        observed: observedOf([directory('E1', ['dept-finance'])]).map((o) => (o.system === 'directory' ? { ...o, entitlements: ['dept-finance', 'dept-sales-ops'] } : o)),
      },
      expect: ['add_grant directory E1 dept-sales-ops'],
    },
    {
      name: 'a created group someone outside the plan still holds is kept',
      input: input([sales('E1', 'Finance')], [directory('E1', ['dept-sales-ops', 'dept-finance']), directory('ORPHAN', ['dept-sales-ops'])], { createdGroups: [{ system: 'directory', entitlement: 'dept-sales-ops' }] }, withTemplate({ removeEmpty: true })),
      expect: ['remove_grant directory E1 dept-sales-ops'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(groupLines(plan(c.input).changes), c.expect);
    });
  }

  test('the add_grant of a new group depends on its create_group, which depends on nothing', () => {
    const changes = plan(input([sales('E1'), sales('E2')], [directory('E2')])).changes;
    const create = changes.find((c) => c.kind === 'create_group')!;
    assert.deepEqual(create.dependsOn, []);
    assert.deepEqual(create.attributes, { description: 'Members of Sales+Ops' });
    for (const grant of changes.filter((c) => c.kind === 'add_grant' && c.entitlement === 'dept-sales-ops')) {
      assert.ok(grant.dependsOn.includes(create.id), `${grant.identityKey}'s grant waits for the group`);
    }
    assert.ok(changes.indexOf(create) < changes.findIndex((c) => c.entitlement === 'dept-sales-ops' && c.kind === 'add_grant'));
  });

  test('the delete_group waits for the removal of the last holder', () => {
    const changes = plan(input([sales('E1', 'Finance')], [directory('E1', ['dept-sales-ops', 'dept-finance'])], { createdGroups: [{ system: 'directory', entitlement: 'dept-sales-ops' }] }, withTemplate({ removeEmpty: true }))).changes;
    const remove = changes.find((c) => c.kind === 'remove_grant' && c.entitlement === 'dept-sales-ops')!;
    assert.deepEqual(changes.find((c) => c.kind === 'delete_group')?.dependsOn, [remove.id]);
  });

  test('a create_group keeps its idempotency key whoever needs the group and whatever else changes', () => {
    const a = plan(input([sales('E1')], [])).changes.find((c) => c.kind === 'create_group')!;
    const b = plan(input([sales('E0'), sales('E1'), person('E9')], [directory('E9')])).changes.find((c) => c.kind === 'create_group')!;
    assert.equal(a.id, b.id);
    assert.notEqual(a.identityKey, b.identityKey);
    const c = plan(input([sales('E1', 'Finance')], [])).changes.find((c) => c.kind === 'create_group')!;
    assert.notEqual(c.id, a.id, 'another group is another change');
  });

  test('a plan scoped to one identity creates its group but deletes nothing', () => {
    const base = input([sales('E1', 'Finance'), sales('E2')], [directory('E1', ['dept-sales-ops', 'dept-finance'])], { createdGroups: [{ system: 'directory', entitlement: 'dept-sales-ops' }] }, withTemplate({ removeEmpty: true }));
    const changes = plan({ ...base, scope: { identityKeys: ['E1'] } }).changes;
    assert.deepEqual(groupLines(changes), ['remove_grant directory E1 dept-sales-ops']);
  });

  test('explain names the template and the missing attribute behind an identity with no department', () => {
    assert.deepEqual(unresolvedTemplates(sales('E1', null), withTemplate(), NOW), [
      { system: 'directory', template: 'dept-{department|slug}', rule: 'department-group', missing: ['department'] },
    ]);
    const explained = explain(sales('E1', null), withTemplate(), [], { accounts: [], grants: [] }, NOW);
    assert.equal(explained.unresolved?.[0]?.missing[0], 'department');
    const found = explain(sales('E1', 'R&D, Europe'), withTemplate(), [], { accounts: [], grants: [] }, NOW).entitlements.find((e) => e.entitlement === 'dept-r-d-europe');
    assert.match(found?.because[0] ?? '', /template dept-\{department\|slug\} with department "R&D, Europe"/);
  });

  test('policy diff lists the template groups each identity would gain, with the template behind them', () => {
    const entries = policyDiff([sales('E1'), sales('E2', null)], POLICY, withTemplate(), [], NOW);
    assert.deepEqual(entries.map((e) => [e.identityKey, e.gained.map((g) => g.entitlement)]), [['E1', ['dept-sales-ops']]]);
    const reason = entries[0]!.gained[0]!.reasons[0]!;
    assert.equal(reason.type === 'rule' && reason.template?.template, 'dept-{department|slug}');
  });

  test('policy diff announces only the template groups no connector has shown yet, with who would gain them', () => {
    const entries = policyDiff([sales('E1'), sales('E2'), sales('E3', 'Finance')], POLICY, withTemplate(), [], NOW);
    const observed = observedOf([directory('E9', ['dept-finance'])]);
    assert.deepEqual(newTemplateGroups(entries, withTemplate(), observed), [
      { system: 'directory', entitlement: 'dept-sales-ops', template: 'dept-{department|slug}', identityKeys: ['E1', 'E2'] },
    ]);
    assert.deepEqual(newTemplateGroups(entries, withTemplate({ createMissing: false }), observed), [], 'without create_missing jml creates nothing');
  });

  test('a generated group inherits its template\'s definition, a plain entitlement keeps its own', () => {
    const policy = withTemplate();
    assert.equal(entitlementDefFor(policy.entitlements, 'directory', 'dept-sales-ops')?.name, 'dept-{department|slug}');
    assert.equal(entitlementDefFor(policy.entitlements, 'directory', 'engineering')?.name, 'engineering');
    assert.equal(entitlementDefFor(policy.entitlements, 'github', 'dept-sales-ops'), undefined, 'templates are per system');
  });
});
