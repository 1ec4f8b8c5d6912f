import assert from 'node:assert/strict';
import { test } from 'node:test';
import { barChart, renderReport, REPORT_ROW_LIMIT } from './evidence-report.ts';

const base = {
  title: 'Evidence pack',
  frameworkTitle: 'SOC 2',
  period: { from: '2026-01-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' },
  builtAt: '2027-01-02T00:00:00.000Z',
  controls: [{ id: 'CC6.2', title: 'Registration and removal', evidence: ['joiners' as const] }],
  itemTitles: { joiners: 'Joiners in the period' },
  measures: [],
  audit: { firstSeq: 1, lastSeq: 9, checkpoint: 'no checkpoint given' },
};

test('values from the records are escaped, so a name cannot inject markup into the report', () => {
  const html = renderReport({ ...base, tables: [{ item: 'joiners', name: 'joiners', title: 'Joiners', columns: ['identity_key'], rows: [{ identity_key: '<img src=x onerror=alert(1)>' }] }] });
  assert.ok(!html.includes('<img src=x'));
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
});

test('a long table shows its first rows and says where the rest are; the summary counts them all', () => {
  const rows = Array.from({ length: REPORT_ROW_LIMIT + 5 }, (_, i) => ({ identity_key: `E${i}` }));
  const html = renderReport({ ...base, tables: [{ item: 'joiners', name: 'joiners', title: 'Joiners', columns: ['identity_key'], rows }] });
  assert.match(html, new RegExp(`First ${REPORT_ROW_LIMIT} of ${REPORT_ROW_LIMIT + 5} rows; all of them are in data/joiners\\.csv`));
  assert.match(html, new RegExp(`joiners</a>: ${REPORT_ROW_LIMIT + 5}`));
  assert.equal(html.match(/<tr><td>E\d+<\/td><\/tr>/g)?.length, REPORT_ROW_LIMIT);
});

test('a bar chart draws one bar per week with a value and leaves weeks without one empty', () => {
  const svg = barChart('SLA', ['2026-11-02', '2026-11-09', '2026-11-16'], [50, null, 100], '%');
  assert.equal(svg.match(/<rect /g)?.length, 2);
  assert.match(svg, /<title>2026-11-16: 100%<\/title>/);
});
