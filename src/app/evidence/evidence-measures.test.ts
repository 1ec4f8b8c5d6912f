import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lastWeeks, weeklyMeasures } from './evidence-measures.ts';

const period = { from: new Date('2026-11-02T00:00:00Z'), to: new Date('2026-11-16T00:00:00Z') };

test('each week counts its leavers, the share that met the SLA, the median hours to confirmed and the findings open at its end', () => {
  const leavers = [
    { effective_at: '2026-11-03T09:00:00.000Z', sla_met: true, hours_to_confirmed: 0.5 },
    { effective_at: '2026-11-04T09:00:00.000Z', sla_met: false, hours_to_confirmed: 30 },
    { effective_at: '2026-11-05T09:00:00.000Z', sla_met: true, hours_to_confirmed: 0.75 },
  ];
  const findings = [
    { kind: 'orphan_account', first_seen: '2026-11-03T00:00:00.000Z', resolved_at: '2026-11-12T00:00:00.000Z' },
    { kind: 'dormant', first_seen: '2026-11-10T00:00:00.000Z', resolved_at: null },
  ];
  assert.deepEqual(weeklyMeasures(period, leavers, findings), [
    { week_start: '2026-11-02', leavers: 3, sla_met_pct: 66.7, median_hours_to_confirmed: 0.75, open_findings: 1, open_orphans: 1 },
    { week_start: '2026-11-09', leavers: 0, sla_met_pct: null, median_hours_to_confirmed: null, open_findings: 1, open_orphans: 0 },
  ]);
});

test('the last weeks start on a Monday at 00:00 UTC and end now, the current week counting as one', () => {
  // Wednesday 25 November 2026: its week began on Monday the 23rd.
  assert.deepEqual(lastWeeks(new Date('2026-11-25T12:00:00Z'), 1), { from: new Date('2026-11-23T00:00:00Z'), to: new Date('2026-11-25T12:00:00Z') });
  assert.deepEqual(lastWeeks(new Date('2026-11-25T12:00:00Z'), 3).from, new Date('2026-11-09T00:00:00Z'));
  // A Sunday belongs to the week that began six days before; a Monday at midnight begins its own.
  assert.deepEqual(lastWeeks(new Date('2026-11-29T23:59:00Z'), 1).from, new Date('2026-11-23T00:00:00Z'));
  assert.deepEqual(lastWeeks(new Date('2026-11-30T00:00:00Z'), 2).from, new Date('2026-11-23T00:00:00Z'));
  assert.equal(weeklyMeasures(lastWeeks(new Date('2026-11-25T12:00:00Z'), 3), [], []).length, 3, 'one row per week');
});
