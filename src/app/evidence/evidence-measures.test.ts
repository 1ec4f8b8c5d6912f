import assert from 'node:assert/strict';
import { test } from 'node:test';
import { weeklyMeasures } from './evidence-measures.ts';

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
