import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Change } from '../domain/change.ts';
import type { Credential } from '../domain/identity.ts';
import { engineerAccounts, observedOf, person, POLICY } from './engine-fixture.ts';
import { plan, type PlanInput } from './plan.ts';
import type { LostAsset } from './lost-device-changes.ts';

const NOW = '2026-06-15T09:00:00Z';
const credential = (id: string, name: string, system = 'directory'): Credential => ({ id, identityKey: 'E1', system, kind: 'certificate', name, createdAt: '2026-01-01T00:00:00Z', lastRotatedAt: null, expiresAt: null, status: 'active' });
const STOLEN: LostAsset = { tag: 'LAP-0042', serial: 'PF4XYZ', holderKey: 'E1', status: 'stolen', reportedAt: '2026-06-15T08:55:00Z' };
const line = (c: Change) => `${c.kind} ${c.system} ${c.accountId ?? c.credentialId}`;

function input(extra: Partial<PlanInput>): PlanInput {
  const credentials = [credential('c-dev', 'device cert LAP-0042'), credential('c-serial', 'wifi cert pf4xyz'), credential('c-other', 'device cert LAP-0007')];
  return { identities: [person('E1')], policy: POLICY, assignments: [], observed: observedOf(engineerAccounts('E1')), previouslyAssigned: [], credentials, now: NOW, ...extra };
}

describe('lost or stolen devices in the plan', () => {
  test('an open report revokes the holder\'s sessions where the system keeps them and the credentials bound to the device, nothing else', () => {
    const before = plan(input({}));
    assert.deepEqual(before.changes, [], 'an engineer in step has nothing to change');
    const after = plan(input({ lostAssets: [STOLEN] }));
    assert.deepEqual(after.changes.map(line).sort(), [
      'revoke_credential directory c-dev',
      'revoke_credential directory c-serial',
      'revoke_sessions directory directory-E1',
      'revoke_sessions github github-E1',
    ]);
    assert.match(after.changes[0]!.reason, /stolen LAP-0042, reported 2026-06-15T08:55:00Z/);
    assert.notEqual(after.fingerprint, before.fingerprint, 'a new report makes an earlier plan stale');
  });

  test('planning again while the report is open gives the same change ids, and a leaver\'s stolen laptop is named as such', () => {
    const first = plan(input({ lostAssets: [STOLEN] }));
    const again = plan(input({ lostAssets: [STOLEN], now: '2026-06-15T10:00:00Z' }));
    assert.deepEqual(again.changes.map((c) => c.id), first.changes.map((c) => c.id));
    const leaver = plan(input({ identities: [person('E1', { status: 'left', endDate: '2026-06-14' })], lostAssets: [STOLEN] }));
    const sessions = leaver.changes.filter((c) => c.kind === 'revoke_sessions' && c.reason.includes('LAP-0042'));
    assert.ok(sessions.length > 0);
    assert.match(sessions[0]!.reason, /stolen LAP-0042 \(holder E1 has left\)/);
    const credentialRevocations = leaver.changes.filter((c) => c.kind === 'revoke_credential' && c.credentialId === 'c-dev');
    assert.equal(credentialRevocations.length, 1, 'the leaver order and the report ask for one revocation, not two');
  });
});
