import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Plan } from '../domain/change.ts';
import { orphanKey } from '../engine/orphan-changes.ts';
import { planLines } from './plan-text.ts';

const plan = (extra: Partial<Plan>): Plan => ({ id: 'plan-1', computedAt: '2026-03-02T09:00:00Z', fingerprint: 'f'.repeat(64), changes: [], ...extra });

test('a plan that holds a joiner says who is held, for which approval and how many changes', () => {
  const lines = planLines(plan({ held: [{ identityKey: 'C1', requestId: 'req-1a2b3c4d', state: 'pending', heldChanges: 2 }, { identityKey: 'C2', requestId: 'req-5e6f', state: 'denied', heldChanges: 1 }] }), null, []);
  assert.match(lines[0]!, /0 change\(s\) for 0 identities, 2 joiner\(s\) held for approval/);
  assert.ok(lines.includes('nothing to do until the joiners below are approved.'));
  assert.ok(lines.some((l) => /^ {2}C1 +2 change\(s\) held — joiner approval req-1a2b3c4d pending$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /C2 +1 change\(s\) held — joiner approval req-5e6f was denied/.test(l)));
});

test('a plan without held joiners says nothing about approvals', () => {
  const lines = planLines(plan({}), null, []);
  assert.deepEqual(lines.slice(1), ['nothing to do: every system holds what policy desires.']);
});

test('a change that scrambles or issues a password says so in the plan; one that leaves it alone says nothing', () => {
  const base = { identityKey: 'E1', system: 'dir', accountId: 'uid=e1', reason: 'leaver', dependsOn: [] };
  const lines = planLines(plan({ changes: [
    { ...base, id: 'a', kind: 'disable_account', credential: 'scramble' },
    { ...base, id: 'b', kind: 'enable_account', credential: 'new_secret', reason: 'active identity with desired access' },
    { ...base, id: 'c', kind: 'disable_account' },
  ] }), null, []);
  assert.match(lines.find((l) => l.includes('disable_account') && l.includes('scrambled')) ?? '', /leaver; password scrambled$/);
  assert.match(lines.find((l) => l.includes('enable_account')) ?? '', /access; new password, delivered by a task$/);
  assert.equal(lines.filter((l) => /password/.test(l)).length, 2);
});

test('orphan accounts in a plan are counted as orphan accounts, not as identities', () => {
  const lines = planLines(plan({ changes: [
    { id: 'a', kind: 'disable_account', identityKey: 'E1', system: 'dir', accountId: 'uid=e1', reason: 'leaver', dependsOn: [] },
    { id: 'b', kind: 'disable_account', identityKey: orphanKey('uid=ghost'), system: 'dir', accountId: 'uid=ghost', reason: 'orphan past its grace period', dependsOn: [] },
    { id: 'c', kind: 'disable_account', identityKey: orphanKey('uid=ghost2'), system: 'dir', accountId: 'uid=ghost2', reason: 'orphan past its grace period', dependsOn: [] },
  ] }), null, []);
  assert.match(lines[0]!, /3 change\(s\) for 1 identity and 2 orphan account\(s\) /);
});
