import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Change } from '../domain/change.ts';
import type { CredentialPolicy, Policy } from '../domain/policy.ts';
import { observedOf, person, POLICY, type AccountSpec } from './engine-fixture.ts';
import { plan, type PlanInput } from './plan.ts';

const NOW = '2026-06-15T09:00:00Z';
const SAFE: CredentialPolicy = { onDisable: 'scramble', onEnable: 'new_secret' };

/** The fixture policy with `credentials` set on the directory only. */
function policyWith(credentials: CredentialPolicy): Policy {
  return { ...POLICY, systems: POLICY.systems.map((s) => (s.name === 'directory' ? { ...s, credentials } : s)) };
}

function changesFor(credentials: CredentialPolicy, status: 'active' | 'left', accounts: AccountSpec[]): readonly Change[] {
  const identity = person('E1', status === 'left' ? { status: 'left', endDate: '2026-06-01' } : {});
  const input: PlanInput = {
    identities: [identity], policy: policyWith(credentials), assignments: [], observed: observedOf(accounts), previouslyAssigned: [], credentials: [], now: NOW,
  };
  return plan(input).changes;
}

const credentialOf = (changes: readonly Change[], kind: Change['kind'], system: string) => {
  const change = changes.find((c) => c.kind === kind && c.system === system);
  assert.ok(change, `no ${kind} in ${system}`);
  return change.credential;
};

describe('passwords in the plan', () => {
  test('a leaver\'s directory account is disabled with its password scrambled; systems that keep passwords say nothing', () => {
    const changes = changesFor(SAFE, 'left', [{ system: 'directory', identityKey: 'E1' }, { system: 'vpn', identityKey: 'E1' }]);
    assert.equal(credentialOf(changes, 'disable_account', 'directory'), 'scramble');
    assert.equal(credentialOf(changes, 'disable_account', 'vpn'), undefined);
  });

  test('a rehire\'s re-enabled account gets a new secret, and so does a joiner\'s new account', () => {
    const rehire = changesFor(SAFE, 'active', [{ system: 'directory', identityKey: 'E1', enabled: false, grants: ['all-staff'] }]);
    assert.equal(credentialOf(rehire, 'enable_account', 'directory'), 'new_secret');
    const joiner = changesFor(SAFE, 'active', []);
    assert.equal(credentialOf(joiner, 'create_account', 'directory'), 'new_secret');
    assert.equal(credentialOf(joiner, 'create_account', 'vpn'), undefined);
  });

  test('an account with no access desired any more is disabled with its password scrambled too', () => {
    const changes = plan({
      identities: [person('E1', { attributes: { department: 'Nowhere', title: 'Visitor' }, kind: 'contingent' })], policy: policyWith(SAFE), assignments: [],
      observed: observedOf([{ system: 'directory', identityKey: 'E1' }]), previouslyAssigned: [], credentials: [], now: NOW,
    }).changes;
    assert.equal(credentialOf(changes, 'disable_account', 'directory'), 'scramble');
  });

  test('policy "keep" leaves passwords out of the plan', () => {
    const keep: CredentialPolicy = { onDisable: 'keep', onEnable: 'keep' };
    const left = changesFor(keep, 'left', [{ system: 'directory', identityKey: 'E1' }]);
    assert.equal(credentialOf(left, 'disable_account', 'directory'), undefined);
    const rehire = changesFor(keep, 'active', [{ system: 'directory', identityKey: 'E1', enabled: false }]);
    assert.equal(credentialOf(rehire, 'enable_account', 'directory'), undefined);
  });

  test('the password step does not change a change\'s id, so a plan computed before the policy changed still matches its target', () => {
    const accounts: AccountSpec[] = [{ system: 'directory', identityKey: 'E1', enabled: false }];
    const safe = changesFor(SAFE, 'active', accounts).find((c) => c.kind === 'enable_account');
    const keep = changesFor({ onDisable: 'keep', onEnable: 'keep' }, 'active', accounts).find((c) => c.kind === 'enable_account');
    assert.equal(safe?.id, keep?.id);
  });
});
