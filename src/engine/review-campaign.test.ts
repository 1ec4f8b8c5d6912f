import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Policy } from '../domain/policy.ts';
import type { ReviewDef, ReviewStageDef } from '../domain/review.ts';
import { POLICY, observedOf, person, engineerAccounts } from './engine-fixture.ts';
import { listedGrants } from './observed-index.ts';
import { startCampaign, type CampaignSnapshot } from './review-campaign.ts';
import { decide, delegate, initialStates, type ItemState } from './review-decisions.ts';
import { closeCampaign } from './review-outcome.ts';
import { rubberStampReport } from './review-independence.ts';
import { campaignSchedule, nextCampaignDate } from './review-schedule.ts';
import type { ReviewerContext } from './review-reviewers.ts';

const NOW = '2027-01-04T09:00:00.000Z';
const policy: Policy = {
  ...POLICY,
  entitlements: POLICY.entitlements.map((e) => (e.system === 'github' && e.name === 'admins' ? { ...e, privileged: true, owner: 'SEC1' } : e)),
};

const stage = (reviewers: ReviewStageDef['reviewers'], extra: Partial<ReviewStageDef> = {}): ReviewStageDef => ({ name: reviewers.type, reviewers, fallback: [], advance: 'kept', ...extra });
function review(overrides: Partial<ReviewDef> = {}): ReviewDef {
  return {
    name: 'quarterly', description: '',
    scope: { systems: [], entitlements: [], privilegedOnly: false, role: null, kinds: [], manager: null, owner: null },
    stages: [stage({ type: 'manager' }, { fallback: ['HR1'] })],
    recurrence: { everyMonths: 3, from: '2027-01-01' }, durationDays: 14,
    reminders: { midpoint: true, daysBefore: [1] }, escalateAfterDays: 10,
    noResponse: 'recommendation', cap: { maxPercent: 10, holdPrivileged: true },
    unusedDays: { standard: 90, privileged: 30 },
    ...overrides,
  };
}

const identities = [
  person('M1', { attributes: { title: 'Senior Manager' } }),
  person('E1', { attributes: { manager: 'M1', title: 'Senior Engineer' } }),
  person('E2', { attributes: { manager: 'M1' } }),
  person('E3', { attributes: { manager: 'GONE' } }),
  person('GONE', { status: 'left' }),
  person('HR1', { attributes: { department: 'HR' } }),
  person('SEC1', { attributes: { department: 'Security' } }),
];
const observed = observedOf([
  ...engineerAccounts('M1').map((a) => (a.system === 'github' ? { ...a, grants: [...(a.grants ?? []), 'admins'] } : a)),
  ...engineerAccounts('E1').map((a) => (a.system === 'github' ? { ...a, grants: [...(a.grants ?? []), 'admins'] } : a)),
  // E2 holds finance access no rule gives, and has not signed in to the VPN for 200 days.
  ...engineerAccounts('E2').map((a) => (a.system === 'directory' ? { ...a, grants: [...(a.grants ?? []), 'finance'] } : a)),
  ...engineerAccounts('E3'),
]).map((s) => (s.system === 'vpn' ? { ...s, accounts: s.accounts.map((a) => (a.accountId === 'vpn-E2' ? { ...a, lastLoginAt: '2026-06-18T00:00:00.000Z' } : a)) } : s));

function snapshot(def: ReviewDef): CampaignSnapshot {
  return { review: def, policy, identities, assignments: [], observed, links: [], now: NOW, timeZone: 'Europe/Paris',
    provenance: [{ identityKey: 'E1', system: 'github', entitlement: 'admins', grantedAt: '2026-02-01T10:00:00.000Z', grantedBy: 'cli:alice' }] };
}
const context: ReviewerContext = {
  policy, identities: new Map(identities.map((i) => [i.key, i])),
  holds: (key, system, entitlement) => observed.some((s) => s.system === system && listedGrants(s).some((g) => g.accountId === `${system}-${key}` && g.entitlement === entitlement)),
};
const itemOf = <T extends { identityKey: string; system: string; entitlement: string | null }>(items: readonly T[], key: string, ref: string) =>
  items.find((i) => `${i.identityKey} ${i.system}:${i.entitlement ?? ''}` === `${key} ${ref}`);

test('a campaign has one item per identity and entitlement held, plus one per account holding none, with why it is desired', () => {
  const { items, snapshotHash } = startCampaign('rev1', snapshot(review()));
  const e2 = items.filter((i) => i.identityKey === 'E2').map((i) => `${i.system}:${i.entitlement ?? '(account)'}`);
  assert.deepEqual(e2, ['directory:all-staff', 'directory:engineering', 'directory:finance', 'github:developers', 'github:members', 'legacy:(account)', 'vpn:standard']);
  assert.deepEqual(itemOf(items, 'E2', 'directory:engineering')?.reasons, [{ type: 'rule', rule: 'engineering', roleChain: ['engineer'] }]);
  assert.deepEqual(itemOf(items, 'E2', 'directory:finance')?.reasons, []);
  assert.match(snapshotHash, /^[0-9a-f]{64}$/);
  assert.equal(startCampaign('rev1', snapshot(review())).snapshotHash, snapshotHash, 'the same snapshot hashes the same');
});

test('items carry last sign-in, who granted them when, what department peers hold and whether they are privileged', () => {
  const { items } = startCampaign('rev1', snapshot(review()));
  const admins = itemOf(items, 'E1', 'github:admins')!;
  assert.equal(admins.privileged, true);
  assert.equal(admins.grantedBy, 'cli:alice');
  assert.equal(admins.grantedAt, '2026-02-01T10:00:00.000Z');
  // Engineering has M1, E1, E2, E3 (GONE has no department change: it is Engineering too); M1 and E1 hold admins.
  assert.deepEqual(admins.peers, { department: 'Engineering', holding: 2, of: 5 });
  assert.equal(itemOf(items, 'E2', 'vpn:standard')?.lastSignInAt, '2026-06-18T00:00:00.000Z');
});

test('out-of-policy access and access unused past the limit are recommended for removal; access a rule gives is kept', () => {
  const { items } = startCampaign('rev1', snapshot(review()));
  assert.deepEqual([itemOf(items, 'E2', 'directory:finance')?.recommendation, itemOf(items, 'E2', 'directory:finance')?.recommendationWhy], ['remove', 'out of policy: no rule, request or exception gives it']);
  assert.deepEqual([itemOf(items, 'E2', 'vpn:standard')?.recommendation, itemOf(items, 'E2', 'vpn:standard')?.recommendationWhy], ['remove', 'not used for 200 days (limit 90)']);
  assert.equal(itemOf(items, 'E2', 'github:members')?.recommendation, 'keep');
  assert.equal(itemOf(items, 'E2', 'github:members')?.recommendationWhy, 'justified by rule engineering via engineer');
});

test('nobody reviews their own access: a manager-less reviewer falls back, and a reviewer holding the same privileged access is flagged', () => {
  const { items, unassigned } = startCampaign('rev1', snapshot(review()));
  assert.deepEqual(itemOf(items, 'E1', 'github:admins')?.reviewers, ['M1']);
  assert.deepEqual(itemOf(items, 'E1', 'github:admins')?.conflictedReviewers, ['M1'], 'M1 holds github:admins too');
  assert.deepEqual(itemOf(items, 'E3', 'vpn:standard')?.reviewers, ['HR1'], 'E3\'s manager has left: the fallback reviews');
  assert.deepEqual(itemOf(items, 'M1', 'vpn:standard')?.reviewers, ['HR1'], 'M1 has no manager');
  const named = startCampaign('rev1', snapshot(review({ stages: [stage({ type: 'identities', keys: ['M1'] })] })));
  assert.deepEqual(itemOf(named.items, 'M1', 'vpn:standard')?.reviewers, [], 'M1 never reviews M1');
  assert.ok(named.unassigned > 0 && unassigned === 0);
});

test('the scope keeps only privileged access, a system, a role or a manager\'s people when asked', () => {
  const scope = review().scope;
  const keys = (def: ReviewDef) => startCampaign('r', snapshot(def)).items.map((i) => `${i.identityKey} ${i.system}:${i.entitlement ?? ''}`);
  assert.deepEqual(keys(review({ scope: { ...scope, privilegedOnly: true } })), ['E1 github:admins', 'M1 github:admins']);
  assert.deepEqual(keys(review({ scope: { ...scope, systems: ['vpn'], manager: 'M1' } })), ['E1 vpn:standard', 'E2 vpn:standard']);
  assert.deepEqual(keys(review({ scope: { ...scope, role: 'staff', manager: 'M1' } })), ['E1 vpn:standard', 'E2 vpn:standard']);
});

function twoStage(): { def: ReviewDef; states: Map<string, ItemState>; adminE1: string; adminM1: string } {
  const def = review({ scope: { ...review().scope, privilegedOnly: true }, stages: [stage({ type: 'entitlement_owner' }), stage({ type: 'identities', keys: ['SEC1', 'HR1'] }, { name: 'security' })] });
  const { items } = startCampaign('rev2', snapshot(def));
  return { def, states: initialStates(items), adminE1: itemOf(items, 'E1', 'github:admins')!.id, adminM1: itemOf(items, 'M1', 'github:admins')!.id };
}

test('a two-stage review passes what the owner kept to security, whose decision is final', () => {
  const { def, states, adminE1, adminM1 } = twoStage();
  assert.deepEqual(states.get(adminE1)?.reviewers, ['SEC1']);
  const first = decide(def, states, { reviewer: 'SEC1', itemIds: [adminE1, adminM1], decision: 'keep', comment: 'on call', confirmed: true, at: NOW, today: '2027-01-04' }, context);
  assert.ok(first.ok);
  assert.deepEqual([first.states.get(adminE1)?.stage, first.states.get(adminE1)?.reviewers, first.states.get(adminE1)?.outcome], [1, ['HR1', 'SEC1'], null]);
  const second = decide(def, first.states, { reviewer: 'HR1', itemIds: [adminE1], decision: 'remove', at: NOW, today: '2027-01-04' }, context);
  assert.ok(second.ok);
  assert.equal(second.states.get(adminE1)?.outcome, 'remove');
  assert.deepEqual(second.states.get(adminE1)?.decisions.map((d) => [d.stage, d.reviewer, d.decision]), [[0, 'SEC1', 'keep'], [1, 'HR1', 'remove']]);
});

test('decisions are refused, changing nothing, when not the reviewer\'s, on privileged access without a comment, unconfirmed in bulk, or reducing without a date', () => {
  const { def, states, adminE1, adminM1 } = twoStage();
  const at = { at: NOW, today: '2027-01-04' };
  const refused = (r: ReturnType<typeof decide>) => (r.ok ? [] : r.refusals.map((x) => x.reason));
  assert.deepEqual(refused(decide(def, states, { reviewer: 'M1', itemIds: [adminE1], decision: 'remove', ...at }, context)), ['M1 is not a reviewer of this item in stage 1']);
  assert.deepEqual(refused(decide(def, states, { reviewer: 'SEC1', itemIds: [adminE1], decision: 'keep', ...at }, context)), ['keeping privileged access needs a comment']);
  const bulk = decide(def, states, { reviewer: 'SEC1', itemIds: [adminE1, adminM1], decision: 'remove', ...at }, context);
  assert.deepEqual(bulk.ok ? null : bulk.needsConfirmation, { items: 2, decision: 'remove' });
  assert.deepEqual(refused(decide(def, states, { reviewer: 'SEC1', itemIds: [adminE1], decision: 'reduce', comment: 'x', until: '2026-12-31', ...at }, context)), ['reduce needs an until date (YYYY-MM-DD) on or after 2027-01-04']);
  assert.equal(states.get(adminE1)?.decisions.length, 0);
});

test('delegation moves open items to another reviewer, never to the person whose access it is', () => {
  const { states, adminE1 } = twoStage();
  const moved = delegate(states, { from: 'SEC1', to: 'HR1', itemIds: [adminE1], at: NOW });
  assert.ok(moved.ok);
  assert.deepEqual(moved.states.get(adminE1)?.reviewers, ['HR1']);
  const self = delegate(states, { from: 'SEC1', to: 'E1', itemIds: [adminE1], at: NOW });
  assert.deepEqual(self.ok ? [] : self.refusals.map((r) => r.reason), ['nobody reviews their own access']);
});

test('no response under "recommendation" removes what was recommended, and the cap holds it with a preview by kind', () => {
  const { items } = startCampaign('rev1', snapshot(review()));
  const outcome = closeCampaign(initialStates(items).values(), 'recommendation', { maxPercent: 10, holdPrivileged: true });
  assert.equal(outcome.preview.items, items.length);
  assert.equal(outcome.preview.noResponseRemovals, 2, 'E2 finance (out of policy) and E2 vpn (unused)');
  assert.deepEqual(outcome.preview.bySystem, { directory: 1, vpn: 1 });
  assert.equal(outcome.held, false, `2 of ${items.length} is under 10 %`);
  const all = closeCampaign(initialStates(items).values(), 'remove', { maxPercent: 10, holdPrivileged: true });
  assert.equal(all.held, true);
  assert.deepEqual(all.heldBecause.map((r) => r.replace(/\d+(\.\d+)?/g, 'N')), ['no response would remove N of N items (N %), more than the cap of N %', 'no response would remove N privileged grant(s) nobody decided on']);
  assert.deepEqual(all.preview.byKind, { privileged: 2, standard: items.length - 2 - 4, account: 4 });
  assert.equal(itemOf(items, 'E2', 'legacy:')?.recommendation, 'keep', 'an account with nothing in it is justified by what the identity should hold there');
  const keep = closeCampaign(initialStates(items).values(), 'keep', { maxPercent: 0, holdPrivileged: true });
  assert.deepEqual([keep.held, keep.preview.removals], [false, 0]);
});

test('a reviewer who keeps everything within seconds is reported; a careful one is not', () => {
  const at = (s: number) => new Date(Date.parse(NOW) + s * 1000).toISOString();
  const stamp = Array.from({ length: 20 }, (_, i) => ({ itemId: `a${i}`, stage: 0, reviewer: 'FAST', decision: 'keep' as const, until: null, comment: '', at: at(i * 2) }));
  const careful = Array.from({ length: 20 }, (_, i) => ({ itemId: `b${i}`, stage: 0, reviewer: 'SLOW', decision: i % 4 === 0 ? 'remove' as const : 'keep' as const, until: null, comment: '', at: at(i * 40) }));
  const report = rubberStampReport([...stamp, ...careful]);
  assert.deepEqual(report.map((r) => [r.reviewer, r.flagged, r.medianSeconds, r.approveRate]), [['FAST', true, 2, 1], ['SLOW', false, 40, 0.75]]);
  assert.equal(report[0]?.why, 'kept 100 % of 20 items, median 2.0 s per decision');
});

test('campaign dates, reminders and escalation fall at midnight in the organisation\'s time zone, quarterly from the anchor', () => {
  const schedule = campaignSchedule(review(), '2027-01-01', 'Europe/Paris');
  assert.equal(schedule.startsAt, '2026-12-31T23:00:00.000Z');
  assert.equal(schedule.dueAt, '2027-01-14T23:00:00.000Z');
  assert.deepEqual(schedule.reminders.map((r) => [r.kind, r.at]), [['midpoint', '2027-01-07T23:00:00.000Z'], ['days_before', '2027-01-13T23:00:00.000Z']]);
  assert.equal(schedule.escalateAt, '2027-01-10T23:00:00.000Z');
  assert.equal(nextCampaignDate(review(), '2027-01-02'), '2027-04-01');
  assert.equal(nextCampaignDate(review({ recurrence: { everyMonths: 6, from: '2027-01-31' } }), '2027-02-01'), '2027-07-31');
});

// The items below were read from the campaign start before it shared context objects between
// items; a reviewer (and the export) must keep seeing exactly this, field for field and in order.
test('a reviewer reads the same item context for a fixed population as before shared context objects', () => {
  const requests: CampaignSnapshot['assignments'] = [
    { identityKey: 'E2', system: 'ledger', entitlement: 'approver', validFrom: null, validTo: null, reason: { type: 'request', requestId: 'R1', roleChain: [] } },
    { identityKey: 'E3', system: 'directory', entitlement: 'finance', validFrom: null, validTo: '2027-03-01T00:00:00.000Z', reason: { type: 'exception', exceptionId: 'X1', justification: 'month-end close' } },
  ];
  const digest = (def: ReviewDef) => {
    const start = startCampaign('rc_fixed', { ...snapshot(def), assignments: requests });
    return `${start.items.length} ${start.unassigned} ${start.snapshotHash.slice(0, 16)} ${createHash('sha256').update(JSON.stringify(start.items)).digest('hex').slice(0, 16)}`;
  };
  assert.equal(digest(review()), '29 0 3df516b807bcc134 c98a5461ff4660aa');
  assert.equal(digest(review({ stages: [stage({ type: 'entitlement_owner' }, { fallback: ['HR1'] })] })), '29 0 3df516b807bcc134 b24c3a10f64ae2dd');
});
