/**
 * `jml leavers` as a person reads it, through the real CLI: it says which
 * leavers it lists and which it leaves out, names its columns, and its JSON
 * says when `--limit` cut the list.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/run-cli.ts';
import { staff, tempDir, writeHr } from '../support/hr-files.ts';

test('jml leavers explains what it lists, prints column headers, and its JSON says when --limit truncated it', { timeout: 180_000 }, async (t) => {
  const dir = tempDir('jml-leavers-cli-');
  const data = path.join(dir, 'data');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const people = staff(4);
  const today = new Date().toISOString().slice(0, 10);
  const longAgo = new Date(Date.now() - 100 * 86_400_000).toISOString().slice(0, 10);
  const recently = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
  assert.equal((await runCli(['--data', data, 'import', 'hr', writeHr(dir, 'day1.csv', people), '--as-of', today])).code, 0);
  // One left a hundred days ago, two left recently: the default 30-day window lists the two.
  const day2 = people.map((p, i) => (i === 1 ? { ...p, end: longAgo, status: 'terminated' } : i >= 2 ? { ...p, end: recently, status: 'terminated' } : p));
  const imported = await runCli(['--data', data, 'import', 'hr', writeHr(dir, 'day2.csv', day2), '--as-of', today]);
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);

  const text = await runCli(['--data', data, 'leavers']);
  const lines = text.stdout.split('\n');
  assert.match(lines[0]!, /^Leavers effective in the last 30 days, newest first: \d+ with access still being removed(?: \(\d+ overdue\))?, \d+ completed\.$/);
  assert.ok(lines.includes('Not listed: 1 effective earlier (use --days to see them).'), text.stdout);
  assert.equal(lines.filter((l) => /^IDENTITY\s+STATE\s+EFFECTIVE\s+DETECTED\s+LATENCY\s+SLA CLOCK\s+DUE$/.test(l)).length, 2, text.stdout);

  const json = JSON.parse((await runCli(['--data', data, 'leavers', '--json', '--limit', '1'])).stdout) as { total: number; limit: number; truncated: boolean; leavers: unknown[]; notListed: { earlier: number } };
  assert.deepEqual([json.total, json.limit, json.truncated, json.leavers.length, json.notListed.earlier], [2, 1, true, 1, 1]);
  const all = JSON.parse((await runCli(['--data', data, 'leavers', '--json', '--days', '365'])).stdout) as { total: number; truncated: boolean };
  assert.deepEqual([all.total, all.truncated], [3, false]);

  const bad = await runCli(['--data', data, 'leavers', '--limit', 'ten']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--limit must be a whole number of at least 1, not "ten"/);
});
