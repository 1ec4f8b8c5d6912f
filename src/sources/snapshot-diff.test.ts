import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceRecord, SourceSnapshot } from './source-record.ts';
import { diffSnapshot, recordData, type DiffInput, type KnownIdentity, type PreviousRecord } from './snapshot-diff.ts';
import { foldTimeline } from '../engine/timeline.ts';

const rec = (key: string, over: Partial<SourceRecord> = {}, attrs: Record<string, string> = {}): SourceRecord => ({
  key,
  row: 2,
  kind: 'employee',
  status: 'active',
  attributes: { first_name: 'Ada', last_name: key, email: `${key.toLowerCase()}@example.com`, department: 'Engineering', ...attrs },
  startDate: '2024-01-01',
  endDate: null,
  owner: null,
  sponsor: null,
  ...over,
});

const snapshot = (records: SourceRecord[], extra: Partial<SourceSnapshot> = {}): SourceSnapshot => ({ source: 'hr', file: 'hr.csv', rowsTotal: records.length, records, errors: [], fullSnapshot: true, ...extra });

/** The state after `records` were imported and took effect. */
function known(records: SourceRecord[], status: KnownIdentity['status'] = 'active', over: Partial<KnownIdentity> = {}): Pick<DiffInput, 'previous' | 'identities' | 'correlation'> {
  const previous = new Map<string, PreviousRecord>();
  const identities = new Map<string, KnownIdentity>();
  const correlation = new Map<string, string>();
  for (const r of records) {
    const data = recordData(r, 'hr');
    previous.set(r.key, { identityKey: r.key, data, present: true });
    identities.set(r.key, { key: r.key, status, source: 'hr', kind: r.kind, data, leftOn: status === 'left' ? '2025-06-30' : null, scheduled: [], ...over });
    correlation.set(String(r.attributes.email).toLowerCase(), r.key);
  }
  return { previous, identities, correlation };
}

const base = { source: 'hr', correlationAttribute: 'email', asOf: '2026-11-22', timezone: 'UTC' } as const;
const summary = (input: DiffInput) => diffSnapshot(input).events.map((e) => `${e.type} ${e.identityKey} ${e.effectiveDate}`);

const table: [string, DiffInput, string[]][] = [
  ['a new key is a joiner on its start date', { ...base, ...known([]), snapshot: snapshot([rec('E1', { startDate: '2026-12-01' })]) }, ['joiner E1 2026-12-01']],
  ['a new key with a past start date is a joiner dated on that start date', { ...base, ...known([]), snapshot: snapshot([rec('E1')]) }, ['joiner E1 2024-01-01']],
  ['an unchanged record is no event', { ...base, ...known([rec('E1')]), snapshot: snapshot([rec('E1')]) }, []],
  ['a changed department is a mover today', { ...base, ...known([rec('E1')]), snapshot: snapshot([rec('E1', {}, { department: 'Sales' })]) }, ['mover E1 2026-11-22']],
  ['status terminated with an end date is a leaver on that date', { ...base, ...known([rec('E1')]), snapshot: snapshot([rec('E1', { status: 'terminated', endDate: '2026-12-31' })]) }, ['leaver E1 2026-12-31']],
  ['a key gone from a full snapshot is a leaver today', { ...base, ...known([rec('E1'), rec('E2')]), snapshot: snapshot([rec('E1')]) }, ['leaver E2 2026-11-22']],
  ['a key gone from a partial snapshot is nothing', { ...base, ...known([rec('E1'), rec('E2')]), snapshot: snapshot([rec('E1')], { fullSnapshot: false }) }, []],
  ['a key whose row was invalid is never taken for a leaver', { ...base, ...known([rec('E1'), rec('E2')]), snapshot: snapshot([rec('E1')], { invalidKeys: ['E2'] }) }, []],
  ['a left identity back with a later start date is a rehire', { ...base, ...known([rec('E1', { status: 'terminated', endDate: '2025-06-30' })], 'left'), snapshot: snapshot([rec('E1', { startDate: '2027-01-04' })]) }, ['rehire E1 2027-01-04']],
  ['a left identity flipped to active without a new start is no event (rescind is explicit)', { ...base, ...known([rec('E1', { status: 'terminated', endDate: '2025-06-30' })], 'left'), snapshot: snapshot([rec('E1')]) }, []],
  [
    'a new key with the email of a left identity re-links it as a rehire',
    { ...base, ...known([rec('E1', { status: 'terminated', endDate: '2025-06-30' })], 'left'), snapshot: snapshot([rec('E9', { startDate: '2027-01-04' }, { email: 'E1@example.com' })]) },
    ['rehire E1 2027-01-04'],
  ],
  ['a new key that left before today is kept as history, with no event', { ...base, ...known([]), snapshot: snapshot([rec('E1', { status: 'terminated', endDate: '2026-11-21' })]) }, []],
  // Found by the fault campaign (test/campaign): the first row of a person on their last working day made them left at once.
  ['a new key whose last working day is today is a joiner and a leaver at midnight after it, not history', { ...base, ...known([]), snapshot: snapshot([rec('E1', { status: 'terminated', endDate: '2026-11-22' })]) }, ['joiner E1 2024-01-01', 'leaver E1 2026-11-22']],
  ['a set end date schedules a leaver', { ...base, ...known([rec('E1')]), snapshot: snapshot([rec('E1', { endDate: '2027-03-31' })]) }, ['leaver E1 2027-03-31']],
];

for (const [name, input, expected] of table) {
  test(name, () => assert.deepEqual(summary(input), expected));
}

test('a left identity whose active row still shows the end date it left on is unchanged, with no warning and no rehire', () => {
  const ended = rec('E1', { endDate: '2025-06-30' });
  const result = diffSnapshot({ ...base, ...known([ended], 'left'), snapshot: snapshot([ended]) });
  assert.deepEqual([result.events, result.warnings, result.unchanged], [[], [], 1]);
  assert.deepEqual(result.records.map((r) => r.recordKey), ['E1'], 'the record is kept as the file shows it');
});

test('a left identity whose row drops its end date without a new start is warned about, and the record is not taken', () => {
  const result = diffSnapshot({ ...base, ...known([rec('E1', { endDate: '2025-06-30' })], 'left'), snapshot: snapshot([rec('E1')]) });
  assert.deepEqual(result.events, []);
  assert.match(result.warnings[0]!.message, /has left but is active in the file without a new start date/);
  assert.deepEqual(result.records, []);
});

test('a rehire does not carry the old record status into the new state', () => {
  const input = { ...base, ...known([rec('E1', { status: 'terminated', endDate: '2025-06-30' })], 'left'), snapshot: snapshot([rec('E1', { startDate: '2027-01-04' })]) };
  const [event] = diffSnapshot(input).events;
  assert.deepEqual(event!.changes.status, ['terminated', 'active']);
});

test('a pending joiner whose start date moves gets its joiner re-issued, the old one superseded', () => {
  const pending = known([rec('E1', { startDate: '2026-12-01' })], 'pending', { scheduled: [{ id: 'ev-j', type: 'joiner', effectiveDate: '2026-12-01' }] });
  const result = diffSnapshot({ ...base, ...pending, snapshot: snapshot([rec('E1', { startDate: '2026-12-15' })]) });
  assert.deepEqual(result.superseded, ['ev-j']);
  assert.deepEqual(result.events.map((e) => `${e.type} ${e.effectiveDate}`), ['joiner 2026-12-15']);
});

test('a moved contract end replaces the scheduled leaver', () => {
  const withEnd = known([rec('E1', { endDate: '2026-12-31' })], 'active', { scheduled: [{ id: 'ev-l', type: 'leaver', effectiveDate: '2026-12-31' }] });
  const result = diffSnapshot({ ...base, ...withEnd, snapshot: snapshot([rec('E1', { endDate: '2027-06-30' })]) });
  assert.deepEqual(result.superseded, ['ev-l']);
  assert.deepEqual(result.events.map((e) => `${e.type} ${e.effectiveDate}`), ['leaver 2027-06-30']);
});

test('a terminated record seen again with nothing new is no second leaver', () => {
  const terminated = rec('E1', { status: 'terminated', endDate: '2026-12-31' });
  const result = diffSnapshot({ ...base, ...known([terminated], 'active', { scheduled: [{ id: 'ev-l', type: 'leaver', effectiveDate: '2026-12-31' }] }), snapshot: snapshot([terminated]) });
  assert.deepEqual(result.events, []);
  assert.deepEqual(result.superseded, []);
});

test('every leaver records its status change from the status held before it, never from nothing', () => {
  const cases: [string, DiffInput][] = [
    ['an end date set on a live record', { ...base, ...known([rec('E1')]), snapshot: snapshot([rec('E1', { endDate: '2027-03-31' })]) }],
    ['a new record that already has an end date', { ...base, ...known([]), snapshot: snapshot([rec('E1', { startDate: '2026-12-01', endDate: '2027-03-31' })]) }],
    ['status terminated', { ...base, ...known([rec('E1')]), snapshot: snapshot([rec('E1', { status: 'terminated', endDate: '2026-12-31' })]) }],
    ['a key gone from a full snapshot', { ...base, ...known([rec('E1'), rec('E2')]), snapshot: snapshot([rec('E1')]) }],
  ];
  for (const [name, input] of cases) {
    const leaver = diffSnapshot(input).events.find((e) => e.type === 'leaver');
    assert.deepEqual(leaver?.changes.status, ['active', 'terminated'], name);
  }
});

test('a rehire of an identity first seen as history carries all of its data, since it has no earlier event to fold', () => {
  const before = rec('E1', { status: 'terminated', endDate: '2025-06-30' }, { title: 'Data Engineer' });
  const input: DiffInput = { ...base, ...known([before], 'left', { leftOn: null }), snapshot: snapshot([rec('E1', { startDate: '2026-03-02' }, { title: 'Senior Data Engineer' })]) };
  const [rehire] = diffSnapshot(input).events;
  assert.equal(rehire?.type, 'rehire');
  assert.deepEqual(
    { first_name: rehire?.changes.first_name, department: rehire?.changes.department, title: rehire?.changes.title, status: rehire?.changes.status },
    { first_name: [null, 'Ada'], department: [null, 'Engineering'], title: [null, 'Senior Data Engineer'], status: ['terminated', 'active'] },
  );
});

// Found by `npm run campaign -- --runs 1000` (seed 20261206, history 371): a person first seen as history whose row was
// later corrected (a new surname) got a mover carrying the surname alone; folded from an empty timeline it made them pending.
test('a correction to the row of a person first seen as history keeps them left: the mover carries every field and the status', () => {
  const before = rec('E1', { status: 'terminated', startDate: '2026-03-25', endDate: '2026-03-25' });
  const input: DiffInput = { ...base, ...known([before], 'left', { leftOn: null }), snapshot: snapshot([rec('E1', { status: 'terminated', startDate: '2026-03-25', endDate: '2026-03-25' }, { last_name: 'Noether' })]) };
  const events = diffSnapshot(input).events;
  assert.deepEqual(events.map((e) => e.type), ['mover']);
  const fold = foldTimeline('E1', events.map((e, seq) => ({ id: `ev${seq}`, type: e.type, effectiveAt: `${e.effectiveDate}T00:00:00.000Z`, changes: e.changes, state: 'applied', seq })), '2026-11-22T12:00:00.000Z');
  assert.deepEqual(
    { status: fold.identity.status, last_name: fold.identity.attributes.last_name, first_name: fold.identity.attributes.first_name, start: fold.identity.startDate, end: fold.identity.endDate },
    { status: 'left', last_name: 'Noether', first_name: 'Ada', start: '2026-03-25', end: '2026-03-25' },
  );
  const unchanged = { ...input, snapshot: snapshot([before]) };
  assert.deepEqual(diffSnapshot(unchanged).events, [], 'an unchanged history row brings no event');
  const activeRow = { ...input, snapshot: snapshot([rec('E1', { status: 'active', startDate: '2026-03-25', endDate: '2026-03-25' }, { last_name: 'Noether' })]) };
  const [kept] = diffSnapshot(activeRow).events;
  assert.deepEqual([kept?.type, kept?.changes.status], ['mover', [null, 'terminated']], 'a row kept active with the end date they left on still says they left');
});

// Found by the fault campaign (test/campaign): a first row already marked terminated, with a last day still to come,
// gave a joiner carrying status "terminated", so the fold made the person left on their first day.
test('a new key marked terminated with a last day still to come joins active and leaves at midnight after that day', () => {
  const events = diffSnapshot({ ...base, ...known([]), snapshot: snapshot([rec('E1', { status: 'terminated', endDate: '2026-11-30' })]) }).events;
  assert.deepEqual(events.map((e) => `${e.type} ${e.effectiveDate} ${e.changes.status?.[1] ?? '-'}`), ['joiner 2024-01-01 active', 'leaver 2026-11-30 terminated']);
});
