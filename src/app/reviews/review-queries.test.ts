import assert from 'node:assert/strict';
import { test } from 'node:test';
import { POLICY, engineerAccounts, observedOf, person } from '../../engine/engine-fixture.ts';
import { startCampaign } from '../../engine/review-campaign.ts';
import type { ReviewDef } from '../../domain/review.ts';
import { itemFromRow, storedContext } from './review-queries.ts';

const review: ReviewDef = {
  name: 'quarterly', description: '',
  scope: { systems: [], entitlements: [], privilegedOnly: false, role: null, kinds: [], manager: null, owner: null },
  stages: [{ name: 'manager', reviewers: { type: 'manager' }, fallback: ['M1'], advance: 'kept' }],
  recurrence: null, durationDays: 14, reminders: { midpoint: true, daysBefore: [1] }, escalateAfterDays: null,
  noResponse: 'recommendation', cap: { maxPercent: 10, holdPrivileged: true }, unusedDays: { standard: 90, privileged: 30 },
};

test('every kind of item reads back from its slim stored context exactly as the campaign start made it', () => {
  const identities = [person('M1'), person('E1', { attributes: { manager: 'M1' } }), person('E2', { attributes: { manager: 'M1', department: 'Finance' } })];
  // E1 holds finance access no rule gives (out of policy) and has not used the VPN for 200 days; E2 holds access by a request.
  const observed = observedOf([
    ...engineerAccounts('M1'),
    ...engineerAccounts('E1').map((a) => (a.system === 'directory' ? { ...a, grants: [...(a.grants ?? []), 'finance'] } : a)),
  ]).map((s) => (s.system === 'vpn' ? { ...s, accounts: s.accounts.map((a) => (a.accountId === 'vpn-E1' ? { ...a, lastLoginAt: '2026-06-18T00:00:00.000Z' } : a)) } : s));
  const { items } = startCampaign('rc_1', {
    review, policy: POLICY, identities, observed, links: [], now: '2027-01-04T09:00:00.000Z', timeZone: 'Europe/Paris',
    assignments: [{ identityKey: 'E2', system: 'ledger', entitlement: 'approver', validFrom: null, validTo: null, reason: { type: 'request', requestId: 'R1', roleChain: [] } }],
    provenance: [{ identityKey: 'E2', system: 'ledger', entitlement: 'approver', grantedAt: '2026-12-01T10:00:00.000Z', grantedBy: 'api:hr' }],
  });
  const whys = new Set(items.map((i) => i.recommendationWhy.split(' ')[0]));
  assert.deepEqual([...whys].sort(), ['justified', 'not', 'out'], 'the population has kept, disused and out-of-policy items');
  assert.ok(items.some((i) => i.grantedBy !== null) && items.some((i) => i.lastSignInAt !== null) && items.some((i) => i.entitlement === null));
  for (const item of items) {
    const row = { id: item.id, identity_key: item.identityKey, system: item.system, entitlement: item.entitlement, privileged: item.privileged, context: JSON.parse(JSON.stringify(storedContext(item))) };
    assert.deepEqual(itemFromRow(row), item, `${item.identityKey} ${item.system}:${item.entitlement ?? ''}`);
  }
});
