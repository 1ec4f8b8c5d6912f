/**
 * `jml audit keygen|checkpoint|verify --checkpoints` and `jml evidence
 * build|verify` as a person runs them, in child processes on the embedded
 * database: exit codes and what they print.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/run-cli.ts';

function workspace() {
  const dir = mkdtempSync(path.join(tmpdir(), 'jml-audit-cli-'));
  const env = { JML_DATA_DIR: path.join(dir, '.jml'), JML_AUDIT_KEY_FILE: path.join(dir, 'audit.key'), JML_AUDIT_CHECKPOINT_FILE: path.join(dir, 'checkpoints.jsonl'), JML_ACTOR: 'tester' };
  return { dir, env, jml: (...args: string[]) => runCli(args, { cwd: dir, env }) };
}

test('keygen, checkpoint and verify --checkpoints pass on an untouched trail, and an edited checkpoint fails with exit 4', { timeout: 120_000 }, async () => {
  const { env, jml } = workspace();
  const keygen = await jml('audit', 'keygen');
  assert.equal(keygen.code, 0, keygen.stderr);
  assert.match(keygen.stdout, /audit key [0-9a-f]{16} written to .*audit\.key \(mode 0600\)/);
  assert.equal((await jml('audit', 'keygen')).code, 1, 'an existing key is never replaced');
  const checkpoint = await jml('audit', 'checkpoint', '--json');
  assert.equal(checkpoint.code, 0, checkpoint.stderr);
  assert.equal((JSON.parse(checkpoint.stdout) as { type: string }).type, 'jml.audit.checkpoint');
  const ok = await jml('audit', 'verify', '--checkpoints', env.JML_AUDIT_CHECKPOINT_FILE, '--public-key', `${env.JML_AUDIT_KEY_FILE}.pub`);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /extends 1 checkpoints/);
  const line = readFileSync(env.JML_AUDIT_CHECKPOINT_FILE, 'utf8').replace(/"seq":\d+/, '"seq":7');
  writeFileSync(env.JML_AUDIT_CHECKPOINT_FILE, line);
  const forged = await jml('audit', 'verify', '--checkpoints', env.JML_AUDIT_CHECKPOINT_FILE);
  assert.equal(forged.code, 4);
  assert.match(forged.stdout, /checkpoints\.jsonl:1 is not signed by the audit key/);
});

test('a group-readable audit key is refused with exit 7 and the chmod that fixes it', { timeout: 60_000 }, async () => {
  const { env, jml } = workspace();
  assert.equal((await jml('audit', 'keygen')).code, 0);
  chmodSync(env.JML_AUDIT_KEY_FILE, 0o640);
  const refused = await jml('audit', 'checkpoint');
  assert.equal(refused.code, 7);
  assert.match(refused.stderr + refused.stdout, /chmod 600/);
});

test('evidence build with an unknown framework or a bad date changes nothing and names the flag', { timeout: 60_000 }, async () => {
  const { dir, jml } = workspace();
  assert.equal((await jml('audit', 'keygen')).code, 0);
  const framework = await jml('evidence', 'build', '--framework', 'hipaa', '--from', '2026-01-01', '--to', '2026-12-31', '--out', path.join(dir, 'pack'));
  assert.equal(framework.code, 2);
  assert.match(framework.stderr + framework.stdout, /--framework: .*iso27001/);
  const date = await jml('evidence', 'build', '--framework', 'soc2', '--from', '2026-13-01', '--to', '2026-12-31', '--out', path.join(dir, 'pack'));
  assert.equal(date.code, 2);
  assert.match(date.stderr + date.stdout, /from: "2026-13-01" is not a date/);
});

test('an evidence pack built on the command line verifies, and a changed CSV fails verify with exit 4 naming it', { timeout: 120_000 }, async () => {
  const { dir, jml } = workspace();
  assert.equal((await jml('audit', 'keygen')).code, 0);
  const out = path.join(dir, 'pack');
  const built = await jml('evidence', 'build', '--framework', 'nist-csf', '--from', '2026-01-01', '--to', '2026-12-31', '--out', out, '--no-pdf', '--json');
  assert.equal(built.code, 0, built.stderr);
  assert.equal((await jml('evidence', 'verify', out)).code, 0);
  writeFileSync(path.join(out, 'data/joiners.csv'), `${readFileSync(path.join(out, 'data/joiners.csv'), 'utf8')}"E9"\r\n`);
  const failed = await jml('evidence', 'verify', out);
  assert.equal(failed.code, 4);
  assert.match(failed.stdout, /FAILED data\/joiners\.csv: changed/);
});

test('a build whose PDF cannot be printed fails naming Chromium and leaves the directory empty for the next try', { timeout: 60_000 }, async () => {
  const { dir, env } = workspace();
  assert.equal((await runCli(['audit', 'keygen'], { cwd: dir, env })).code, 0);
  const out = path.join(dir, 'pack');
  const failed = await runCli(['evidence', 'build', '--framework', 'soc2', '--from', '2026-01-01', '--to', '2026-01-31', '--out', out], { cwd: dir, env: { ...env, JML_CHROMIUM: path.join(dir, 'no-such-chromium') } });
  assert.equal(failed.code, 1, failed.stdout + failed.stderr);
  assert.match(failed.stderr + failed.stdout, /cannot start Chromium at .*no-such-chromium.*--no-pdf/);
  assert.deepEqual(readdirSync(out), []);
});
