import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LeaverStatus } from '../app/leaver-sla.ts';
import { formatDuration, leaverLines } from './leaver-text.ts';

const done: LeaverStatus = {
  eventId: 'ev-1',
  identityKey: 'E1001',
  effectiveAt: '2026-12-04T00:00:00.000Z',
  detectedAt: '2026-12-05T09:00:00.000Z',
  importId: 'imp-1',
  state: 'complete',
  dueAt: '2026-12-04T01:00:00.000Z',
  elapsedMs: 33 * 3_600_000,
  latencyMs: 1_300,
  steps: [
    { planId: 'p', changeId: 'c1', kind: 'disable_account', system: 'dir', state: 'confirmed', manual: false, taskId: null, dueAt: '2026-12-04T01:00:00.000Z', confirmedAt: '2026-12-05T09:00:00.900Z', overdue: false, plannedAt: '2026-12-05T09:00:00.300Z', queuedAt: '2026-12-05T09:00:00.350Z', startedAt: '2026-12-05T09:00:00.400Z', actedAt: '2026-12-05T09:00:00.800Z', latencyMs: 900 },
    { planId: 'p', changeId: 'c2', kind: 'disable_account', system: 'app', state: 'confirmed', manual: false, taskId: null, dueAt: '2026-12-04T01:00:00.000Z', confirmedAt: '2026-12-05T09:00:01.300Z', overdue: false, plannedAt: '2026-12-05T09:00:00.300Z', queuedAt: '2026-12-05T09:00:00.350Z', startedAt: '2026-12-05T09:00:00.400Z', actedAt: '2026-12-05T09:00:01.200Z', latencyMs: 1_300 },
  ],
};
const open: LeaverStatus = { ...done, eventId: 'ev-2', identityKey: 'E1002', state: 'in_progress', latencyMs: null, steps: [{ ...done.steps[0]!, changeId: 'c3', state: 'running', confirmedAt: null, latencyMs: null }] };

test('the listing says what it lists, how many are still being removed, and names its columns', () => {
  const lines = leaverLines({ days: 30, leavers: [open, done], total: 2, outside: { earlier: 0, scheduled: 0 } });
  assert.equal(lines[0], 'Leavers effective in the last 30 days, newest first: 1 with access still being removed, 1 completed.');
  assert.ok(lines.some((l) => /^IDENTITY\s+STATE\s+EFFECTIVE\s+DETECTED\s+LATENCY\s+SLA CLOCK\s+DUE$/.test(l)));
  assert.ok(lines.some((l) => /^\s+STEP\s+SYSTEM\s+STATE\s+CONFIRMED\s+LATENCY$/.test(l)));
});

test('each leaver shows the latency measured from the import to the last confirmation, and each step its own', () => {
  const lines = leaverLines({ days: 30, leavers: [done], total: 1, outside: { earlier: 0, scheduled: 0 } });
  assert.ok(lines.some((l) => /^E1001\s+complete\s+2026-12-04 00:00Z\s+2026-12-05 09:00:00Z\s+1\.3 s\s+33\.0 h/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /✔ disable_account\s+dir\s+confirmed\s+2026-12-05 09:00:00Z\s+900 ms$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /✔ disable_account\s+app\s+confirmed\s+2026-12-05 09:00:01Z\s+1\.3 s$/.test(l)), lines.join('\n'));
});

test('an empty window says which leavers it leaves out instead of only "no leavers"', () => {
  const lines = leaverLines({ days: 30, leavers: [], total: 0, outside: { earlier: 13, scheduled: 2 } });
  assert.deepEqual(lines, ['No leavers effective in the last 30 days.', 'Not listed: 13 effective earlier (use --days to see them); 2 scheduled to leave later.']);
});

test('a list cut by --limit says so', () => {
  const lines = leaverLines({ days: 7, leavers: [done], total: 40, outside: { earlier: 0, scheduled: 0 } });
  assert.ok(lines.includes('Showing 1 of 40 (--limit).'));
});

test('durations read in the unit a person would use', () => {
  assert.deepEqual([850, 1_440, 12 * 60_000, 3.5 * 3_600_000, 50 * 3_600_000].map(formatDuration), ['850 ms', '1.4 s', '12 min', '3.5 h', '2.1 d']);
});
