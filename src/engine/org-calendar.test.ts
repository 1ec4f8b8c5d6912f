import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addDays, dateIn, endOfLastDay, lastInstantOf, startOfDay } from './org-calendar.ts';

test('the calendar date of an instant depends on the organisation zone, not UTC', () => {
  assert.equal(dateIn('2026-06-30T23:30:00Z', 'UTC'), '2026-06-30');
  assert.equal(dateIn('2026-06-30T23:30:00Z', 'Europe/Berlin'), '2026-07-01');
  // 20:00 UTC on 5 December is 09:00 on 6 December in Auckland (NZDT, UTC+13).
  assert.equal(dateIn(new Date('2026-12-05T20:00:00Z'), 'Pacific/Auckland'), '2026-12-06');
  assert.equal(dateIn('2026-12-05T10:59:59.999Z', 'Pacific/Auckland'), '2026-12-05');
});

test('a day begins at local midnight, and a last day ends at the next local midnight', () => {
  assert.equal(startOfDay('2026-12-06', 'Pacific/Auckland'), '2026-12-05T11:00:00.000Z');
  assert.equal(endOfLastDay('2026-11-30', 'Europe/Berlin'), '2026-11-30T23:00:00.000Z');
  assert.equal(lastInstantOf('2026-12-06', 'Pacific/Auckland'), '2026-12-06T10:59:59.999Z');
});

test('a day on which the clocks change is still one calendar day', () => {
  // New Zealand daylight time starts 2026-09-27 at 02:00 (UTC+12 → UTC+13).
  assert.equal(startOfDay('2026-09-27', 'Pacific/Auckland'), '2026-09-26T12:00:00.000Z');
  assert.equal(startOfDay('2026-09-28', 'Pacific/Auckland'), '2026-09-27T11:00:00.000Z');
});

test('adding days crosses months, years and leap days without a zone', () => {
  assert.equal(addDays('2026-12-31', 1), '2027-01-01');
  assert.equal(addDays('2028-03-01', -1), '2028-02-29');
  assert.equal(addDays('2026-12-06', -13), '2026-11-23');
  assert.throws(() => addDays('2026-13-45', 1), /invalid calendar date 2026-13-45/);
});

test('a date asked for again with other day counts gets each its own answer', () => {
  const answers = [1, 30, -30, 0, 1, 30, -30, 0].map((days) => addDays('2026-01-31', days));
  assert.deepEqual(answers, ['2026-02-01', '2026-03-02', '2026-01-01', '2026-01-31', '2026-02-01', '2026-03-02', '2026-01-01', '2026-01-31']);
});
