import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endOfLastDay, startOfDay } from './org-calendar.ts';
import { foldTimeline, type TimelineEvent } from './timeline.ts';

const joiner = (over: Partial<TimelineEvent> = {}): TimelineEvent => ({
  id: 'j',
  seq: 1,
  type: 'joiner',
  effectiveAt: '2026-01-01T00:00:00.000Z',
  state: 'applied',
  changes: { first_name: [null, 'Ada'], department: [null, 'Engineering'], status: [null, 'active'], kind: [null, 'employee'], source: [null, 'hr'] },
  ...over,
});

const table: [string, TimelineEvent[], string, { status: string; department?: string | undefined }][] = [
  ['before its start a joiner is pending and shows its future attributes', [joiner({ effectiveAt: '2026-06-01T00:00:00.000Z', state: 'scheduled' })], '2026-05-31T23:59:59.999Z', { status: 'pending', department: 'Engineering' }],
  ['at its start instant the joiner is active', [joiner({ effectiveAt: '2026-06-01T00:00:00.000Z' })], '2026-06-01T00:00:00.000Z', { status: 'active', department: 'Engineering' }],
  [
    'a mover changes attributes and keeps the status',
    [joiner(), { id: 'm', seq: 2, type: 'mover', effectiveAt: '2026-03-01T00:00:00.000Z', state: 'applied', changes: { department: ['Engineering', 'Sales'] } }],
    '2026-04-01T00:00:00.000Z',
    { status: 'active', department: 'Sales' },
  ],
  [
    'a mover recorded after a leaver but dated before it cannot undo the leave',
    [
      joiner(),
      { id: 'l', seq: 2, type: 'leaver', effectiveAt: '2026-05-01T00:00:00.000Z', state: 'applied', changes: { status: ['active', 'terminated'] } },
      { id: 'm', seq: 3, type: 'mover', effectiveAt: '2026-04-01T00:00:00.000Z', state: 'applied', changes: { department: ['Engineering', 'Sales'] } },
    ],
    '2026-06-01T00:00:00.000Z',
    { status: 'left', department: 'Sales' },
  ],
  [
    'a rescinded leaver does not count',
    [joiner(), { id: 'l', seq: 2, type: 'leaver', effectiveAt: '2026-05-01T00:00:00.000Z', state: 'rescinded', changes: { status: ['active', 'terminated'] } }],
    '2026-06-01T00:00:00.000Z',
    { status: 'active', department: 'Engineering' },
  ],
  [
    'a suspension and a return are movers carrying a status',
    [
      joiner(),
      { id: 's', seq: 2, type: 'mover', effectiveAt: '2026-02-01T00:00:00.000Z', state: 'applied', changes: { status: ['active', 'suspended'] } },
      { id: 'r', seq: 3, type: 'mover', effectiveAt: '2026-03-01T00:00:00.000Z', state: 'applied', changes: { status: ['suspended', 'active'] } },
    ],
    '2026-02-15T00:00:00.000Z',
    { status: 'suspended', department: 'Engineering' },
  ],
  [
    'a rehire brings the identity back on its new start date',
    [
      joiner(),
      { id: 'l', seq: 2, type: 'leaver', effectiveAt: '2026-05-01T00:00:00.000Z', state: 'applied', changes: { status: ['active', 'terminated'] } },
      { id: 'h', seq: 3, type: 'rehire', effectiveAt: '2026-09-01T00:00:00.000Z', state: 'scheduled', changes: { status: ['terminated', 'active'], department: ['Engineering', 'Research'] } },
    ],
    '2026-09-01T00:00:00.000Z',
    { status: 'active', department: 'Research' },
  ],
];

for (const [name, events, now, expected] of table) {
  test(name, () => {
    const { identity } = foldTimeline('E1', events, now);
    assert.deepEqual({ status: identity.status, department: identity.attributes.department }, expected);
  });
}

test('the fold reports which events have taken effect and which are still scheduled', () => {
  const events: TimelineEvent[] = [joiner(), { id: 'l', seq: 2, type: 'leaver', effectiveAt: '2026-05-01T00:00:00.000Z', state: 'scheduled', changes: { status: ['active', 'terminated'] } }];
  assert.deepEqual(foldTimeline('E1', events, '2026-04-30T00:00:00.000Z').scheduled, ['l']);
  assert.deepEqual(foldTimeline('E1', events, '2026-05-01T00:00:00.000Z').applied, ['j', 'l']);
});

test('dates begin at midnight in the organisation zone, on both sides of UTC and across a DST change', () => {
  assert.equal(startOfDay('2026-12-01', 'America/Los_Angeles'), '2026-12-01T08:00:00.000Z');
  assert.equal(startOfDay('2026-12-01', 'Pacific/Auckland'), '2026-11-30T11:00:00.000Z');
  assert.equal(startOfDay('2026-03-29', 'Europe/Berlin'), '2026-03-28T23:00:00.000Z');
  assert.equal(startOfDay('2026-03-30', 'Europe/Berlin'), '2026-03-29T22:00:00.000Z');
  // The last day worked ends at the next midnight, local time.
  assert.equal(endOfLastDay('2026-12-31', 'America/New_York'), '2027-01-01T05:00:00.000Z');
});

test('a live identity shows the end date its scheduled leaver will set, so end-date conditions see a planned end', () => {
  const leaver: TimelineEvent = { id: 'l', seq: 2, type: 'leaver', effectiveAt: '2027-01-01T00:00:00.000Z', state: 'scheduled', changes: { end_date: [null, '2026-12-31'], status: ['active', 'terminated'] } };
  assert.deepEqual(pick(foldTimeline('E1', [joiner(), leaver], '2026-12-01T00:00:00.000Z').identity), { status: 'active', endDate: '2026-12-31' });
  assert.deepEqual(pick(foldTimeline('E1', [joiner(), { ...leaver, state: 'rescinded' }], '2026-12-01T00:00:00.000Z').identity), { status: 'active', endDate: null });
  assert.deepEqual(pick(foldTimeline('E1', [joiner(), leaver], '2027-01-01T00:00:00.000Z').identity), { status: 'left', endDate: '2026-12-31' });
});

function pick(identity: { status: string; endDate: string | null }) {
  return { status: identity.status, endDate: identity.endDate };
}
