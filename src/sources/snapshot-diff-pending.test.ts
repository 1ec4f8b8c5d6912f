/** Pre-hires (record status `pending`) through the snapshot diff: a joiner on the start date, never a leaver or a false rehire. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceRecord } from './source-record.ts';
import { diffSnapshot, recordData, type DiffInput, type KnownIdentity, type PreviousRecord, type ScheduledEventRef } from './snapshot-diff.ts';

const rec = (key: string, over: Partial<SourceRecord> = {}): SourceRecord => ({
  key, row: 2, kind: 'employee', status: 'pending', attributes: { first_name: 'Ada', last_name: key, email: `${key.toLowerCase()}@example.com` },
  startDate: '2027-01-04', endDate: null, owner: null, sponsor: null, ...over,
});

function input(records: SourceRecord[], before: { record: SourceRecord; status: KnownIdentity['status']; scheduled?: ScheduledEventRef[]; leftOn?: string }[] = []): DiffInput {
  const previous = new Map<string, PreviousRecord>();
  const identities = new Map<string, KnownIdentity>();
  const correlation = new Map<string, string>();
  for (const { record, status, scheduled = [], leftOn = null } of before) {
    const data = recordData(record, 'hr');
    previous.set(record.key, { identityKey: record.key, data, present: true });
    identities.set(record.key, { key: record.key, status, source: 'hr', kind: record.kind, data, leftOn, scheduled });
    correlation.set(String(record.attributes.email), record.key);
  }
  return {
    source: 'hr', correlationAttribute: 'email', asOf: '2026-12-05', timezone: 'UTC', previous, identities, correlation,
    snapshot: { source: 'hr', file: 'hr.csv', rowsTotal: records.length, records, errors: [], fullSnapshot: true },
  };
}
const events = (i: DiffInput) => diffSnapshot(i).events.map((e) => `${e.type} ${e.identityKey} ${e.effectiveDate}`);

test('a new pending record is a joiner on its future start date, listed as pending, with no leaver', () => {
  const result = diffSnapshot(input([rec('P1')]));
  assert.deepEqual(result.events.map((e) => `${e.type} ${e.effectiveDate}`), ['joiner 2027-01-04']);
  assert.deepEqual([result.pending, result.historical, result.warnings], [['P1'], [], []]);
});

test('a pending record whose start date has passed is a joiner with a warning that the HR flag is stale', () => {
  const result = diffSnapshot(input([rec('P1', { startDate: '2026-12-01' })]));
  assert.deepEqual(result.events.map((e) => `${e.type} ${e.effectiveDate}`), ['joiner 2026-12-01']);
  assert.deepEqual(result.pending, []);
  assert.match(result.warnings[0]?.message ?? '', /P1 is pending \(not started\) but its start date 2026-12-01 is not in the future/);
});

test('a pre-hire turning active before the start re-issues nothing: the scheduled joiner stands', () => {
  const joiner: ScheduledEventRef = { id: 'j1', type: 'joiner', effectiveDate: '2027-01-04' };
  const result = diffSnapshot(input([rec('P1', { status: 'active' })], [{ record: rec('P1'), status: 'pending', scheduled: [joiner] }]));
  assert.deepEqual([result.events, result.superseded, result.unchanged], [[], [], 1]);
});

test('a pre-hire who started is no mover when the file catches up from pending to active', () => {
  assert.deepEqual(events(input([rec('P1', { status: 'active' })], [{ record: rec('P1'), status: 'active' }])), []);
});

test('a pending record of someone who left is a rehire on the new start date', () => {
  const left = rec('P1', { status: 'terminated', startDate: '2020-01-01', endDate: '2025-06-30' });
  assert.deepEqual(events(input([rec('P1', { startDate: '2027-01-04' })], [{ record: left, status: 'left', leftOn: '2025-06-30' }])), ['rehire P1 2027-01-04']);
});
