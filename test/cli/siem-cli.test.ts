/**
 * `jml audit export --format …` and `jml audit stream --to file://… --once` as
 * a person runs them, in child processes on the embedded database.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { runCli } from '../support/run-cli.ts';

test('audit export prints each format with seq and hash, a second stream run resumes at its cursor, and a bad format is refused', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jml-siem-cli-'));
  const env = { JML_DATA_DIR: path.join(dir, '.jml'), JML_ACTOR: 'tester' };
  const policy = path.join(import.meta.dirname, '../../policy');
  const jml = (...args: string[]) => runCli(['--policy', policy, ...args], { cwd: dir, env });
  const demo = await jml('demo', '--json');
  assert.equal(demo.code, 0, `demo: ${demo.stdout.slice(0, 500)} ${demo.stderr}`);
  const jsonl = (await jml('audit', 'export')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; hash: string });
  assert.ok(jsonl.length > 5);

  const ocsf = (await jml('audit', 'export', '--format', 'ocsf')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { class_uid: number; unmapped: { audit_seq: number; audit_hash: string } });
  assert.deepEqual(ocsf.map((e) => [e.unmapped.audit_seq, e.unmapped.audit_hash]), jsonl.map((e) => [e.seq, e.hash]));
  const cef = (await jml('audit', 'export', '--format', 'cef', '--after', String(jsonl.length - 2))).stdout.trim().split('\n');
  assert.equal(cef.length, 2);
  assert.ok(cef.every((l) => l.startsWith('CEF:0|jml|jml|')));

  const bad = await jml('audit', 'export', '--format', 'xml');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--format must be one of jsonl, ocsf, cef, syslog, hec, got xml/);

  const out = path.join(dir, 'stream.syslog');
  const first = await jml('audit', 'stream', '--to', pathToFileURL(out).href, '--format', 'syslog', '--once');
  assert.equal(first.code, 0, `stream: ${first.stdout} ${first.stderr}`);
  assert.match(first.stdout, new RegExp(`stream siem: ${jsonl.length} entries sent, cursor at ${jsonl.length}`));
  const again = await jml('audit', 'stream', '--to', pathToFileURL(out).href, '--format', 'syslog', '--once');
  assert.match(again.stdout, new RegExp(`stream siem: 0 entries sent, cursor at ${jsonl.length}`), 'resumes at its cursor');
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, jsonl.length);
});
