import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Policy } from '../domain/policy.ts';
import { policyFileSchema } from '../policy/policy-schema.ts';
import { policyFields } from './policy-fields.ts';

test('the fields that feed policy are those its rules, approval conditions, templates and correlation read, plus manager, sponsor, owner, status and kind', () => {
  const file = policyFileSchema.parse({
    systems: [{ name: 'dir', connector: { type: 'fake' }, owner: 'E0', correlation: { account: 'mail', identity: 'email' }, account: { name: '{first_name|lower}.{last_name|lower}', attributes: { ou: '{cost_centre}' } } }],
    entitlements: [{ system: 'dir', name: 'finance' }],
    rules: [{ name: 'finance', when: { all: [{ equals: { department: 'finance' } }, { not: { in: { location: ['remote'] } } }, { exists: 'badge' }, { kind: ['employee'] }] }, grant: { entitlements: ['dir:finance'] } }],
    approvals: [{ name: 'contractors', joiners: { within_days: { start_date: 7 } }, stages: ['sponsor'] }],
  });
  const policy: Policy = { systems: file.systems ?? [], entitlements: file.entitlements ?? [], roles: [], rules: file.rules ?? [], approvals: file.approvals ?? [] };
  assert.deepEqual([...policyFields(policy)].sort(), ['badge', 'cost_centre', 'department', 'email', 'first_name', 'kind', 'last_name', 'location', 'manager', 'owner', 'sponsor', 'start_date', 'status']);
  assert.deepEqual([...policyFields({ systems: [], rules: [], approvals: [] })].sort(), ['kind', 'manager', 'owner', 'sponsor', 'status']);
});
