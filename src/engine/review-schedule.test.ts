import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReviewDef } from '../domain/review.ts';
import { currentCampaignDate, reviewScheduleWork, type ScheduledCampaign } from './review-schedule.ts';

const TZ = 'Europe/Paris';
function review(overrides: Partial<ReviewDef> = {}): ReviewDef {
  return {
    name: 'quarterly', description: '',
    scope: { systems: [], entitlements: [], privilegedOnly: false, role: null, kinds: [], manager: null, owner: null },
    stages: [{ name: 'manager', reviewers: { type: 'manager' }, fallback: [], advance: 'kept' }],
    recurrence: { everyMonths: 3, from: '2027-01-01' }, durationDays: 14,
    reminders: { midpoint: true, daysBefore: [1] }, escalateAfterDays: 10,
    noResponse: 'recommendation', cap: { maxPercent: 10, holdPrivileged: true },
    unusedDays: { standard: 90, privileged: 30 },
    ...overrides,
  };
}
const campaign = (overrides: Partial<ScheduledCampaign> = {}): ScheduledCampaign => ({ id: 'rc_1', review: 'quarterly', period: '2027-01-01', state: 'open', dueAt: '2027-01-14T23:00:00.000Z', ...overrides });

test('the current period of a recurring review is the latest recurrence date on or before today, in months from the anchor', () => {
  const cases: [ReviewDef['recurrence'], string, string | null][] = [
    [{ everyMonths: 3, from: '2027-01-01' }, '2026-12-31', null],
    [{ everyMonths: 3, from: '2027-01-01' }, '2027-01-01', '2027-01-01'],
    [{ everyMonths: 3, from: '2027-01-01' }, '2027-03-31', '2027-01-01'],
    [{ everyMonths: 3, from: '2027-01-01' }, '2027-04-01', '2027-04-01'],
    [{ everyMonths: 6, from: '2027-01-31' }, '2027-07-30', '2027-01-31'],
    [{ everyMonths: 6, from: '2027-01-31' }, '2027-07-31', '2027-07-31'],
    [{ everyMonths: 1, from: '2027-01-31' }, '2027-03-01', '2027-02-28'],
    [null, '2027-05-01', null],
  ];
  for (const [recurrence, today, expected] of cases) assert.equal(currentCampaignDate(review({ recurrence }), today), expected, `${JSON.stringify(recurrence)} on ${today}`);
});

test('a campaign starts at 00:00 of its recurrence date in the organisation zone, not at 00:00 UTC', () => {
  // 2027-04-01 00:00 in Paris (summer time) is 2027-03-31T22:00Z.
  assert.deepEqual(reviewScheduleWork([review()], [campaign({ state: 'complete' })], new Date('2027-03-31T21:59:00Z'), TZ).start, []);
  assert.deepEqual(reviewScheduleWork([review()], [campaign({ state: 'complete' })], new Date('2027-03-31T22:00:00Z'), TZ).start, [{ review: 'quarterly', period: '2027-04-01' }]);
});

test('a period that already has a campaign gets no second one, whatever its state; one started by hand does not count', () => {
  const now = new Date('2027-01-05T10:00:00Z');
  for (const state of ['open', 'held', 'applying', 'complete'] as const) {
    assert.deepEqual(reviewScheduleWork([review()], [campaign({ state, dueAt: '2027-01-14T23:00:00.000Z' })], now, TZ).start, [], state);
  }
  assert.deepEqual(reviewScheduleWork([review()], [campaign({ period: null })], now, TZ).start, [{ review: 'quarterly', period: '2027-01-01' }]);
});

test('a worker that comes back late in a period still starts its campaign, but not once the period\'s campaign would already be due', () => {
  assert.deepEqual(reviewScheduleWork([review()], [], new Date('2027-01-14T22:59:00Z'), TZ).start, [{ review: 'quarterly', period: '2027-01-01' }]);
  assert.deepEqual(reviewScheduleWork([review()], [], new Date('2027-01-14T23:00:00Z'), TZ).start, []);
});

test('reviews without recurrence are never started by the scheduler', () => {
  assert.deepEqual(reviewScheduleWork([review({ recurrence: null })], [], new Date('2027-01-05T10:00:00Z'), TZ).start, []);
});

test('open campaigns close at their due instant; held ones wait for a person and closed ones are left alone', () => {
  const due = '2027-01-14T23:00:00.000Z';
  const campaigns = [campaign({ id: 'a' }), campaign({ id: 'b', state: 'held' }), campaign({ id: 'c', state: 'applying' }), campaign({ id: 'd', period: null, dueAt: '2027-02-01T00:00:00.000Z' })];
  assert.deepEqual(reviewScheduleWork([review()], campaigns, new Date(Date.parse(due) - 1), TZ).close, []);
  assert.deepEqual(reviewScheduleWork([review()], campaigns, new Date(due), TZ).close, ['a']);
});
