import assert from 'node:assert/strict';
import { test } from 'node:test';
import { approvalSchema } from './policy-schema.ts';

test('an approval policy reads stages in shorthand and in full', () => {
  const parsed = approvalSchema.parse({
    name: 'privileged',
    entitlements: ['*'],
    privileged: true,
    stages: ['manager', { name: 'security', approvers: ['S1'], timeout_hours: 24, escalate_to: ['S2'] }],
  });
  assert.deepEqual(parsed, {
    name: 'privileged',
    appliesTo: 'entitlement',
    entitlements: ['*'],
    privileged: true,
    when: null,
    stages: [
      { name: 'manager', approver: { type: 'manager' }, timeoutHours: 72, escalateTo: null },
      { name: 'security', approver: { type: 'identities', keys: ['S1'] }, timeoutHours: 24, escalateTo: { type: 'identities', keys: ['S2'] } },
    ],
  });
  assert.equal(approvalSchema.parse({ name: 'c', joiners: { kind: ['contractor'] }, stages: ['sponsor'] }).appliesTo, 'joiner');
});

test('an approval policy must say what it covers, and each stage who decides it', () => {
  assert.equal(approvalSchema.safeParse({ name: 'x', stages: ['manager'] }).success, false, 'neither entitlements nor joiners');
  assert.equal(approvalSchema.safeParse({ name: 'x', entitlements: ['wiki'], stages: ['manager'] }).success, false, 'not system:name');
  assert.equal(approvalSchema.safeParse({ name: 'x', entitlements: ['*'], stages: [{ name: 's' }] }).success, false, 'a stage with no approver');
  assert.equal(approvalSchema.safeParse({ name: 'x', entitlements: ['*'], stages: ['ceo'] }).success, false, 'an unknown approver kind');
});

test('an approval policy may cover edits instead, and says approver_outside_chain when the requester’s chain may not approve', () => {
  const edits = approvalSchema.parse({ name: 'edits', edits: true, when: { equals: { department: 'finance' } }, stages: ['manager'] });
  assert.deepEqual([edits.appliesTo, edits.when], ['edit', { equals: { department: 'finance' } }]);
  assert.equal(approvalSchema.safeParse({ name: 'x', edits: true, entitlements: ['*'], stages: ['manager'] }).success, false, 'two things at once');
  assert.equal(approvalSchema.parse({ name: 'p', entitlements: ['*'], privileged: true, approver_outside_chain: true, stages: ['system_owner'] }).approverOutsideChain, true);
  assert.equal(approvalSchema.parse({ name: 'p', entitlements: ['*'], stages: ['manager'] }).approverOutsideChain, undefined);
});
