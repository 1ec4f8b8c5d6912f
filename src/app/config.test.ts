import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isJmlError } from '../domain/errors.ts';
import { configuredSource, loadConfig } from './config.ts';
import { parseConfigText } from './config-file.ts';

test('without an mfa section, admin, security and hr must enrol a second factor and the step-up window is 15 minutes', () => {
  assert.deepEqual(parseConfigText('timezone: UTC\n', 'jml.config.yaml').mfa, { required_roles: ['admin', 'security', 'hr'], step_up_minutes: 15 });
});

test('the roles that must enrol are configured per role, and an empty list requires it of nobody', () => {
  assert.deepEqual(parseConfigText('mfa:\n  required_roles: [admin]\n  step_up_minutes: 5\n', 'jml.config.yaml').mfa, { required_roles: ['admin'], step_up_minutes: 5 });
  assert.deepEqual(parseConfigText('mfa:\n  required_roles: []\n', 'jml.config.yaml').mfa.required_roles, []);
});

test('an unknown role in mfa.required_roles is refused naming the file, line and path', () => {
  assert.throws(
    () => parseConfigText('timezone: UTC\nmfa:\n  required_roles: [admin, root]\n', '/etc/jml/jml.config.yaml'),
    (error: unknown) => isJmlError(error, 'invalid_input') && /\/etc\/jml\/jml\.config\.yaml:3 mfa\.required_roles/.test(error.message),
  );
});

test('a source name that only the prototype of an object holds, such as "constructor", is an unknown source', () => {
  const config = parseConfigText('sources:\n  hr:\n    type: hr\n', 'jml.config.yaml');
  assert.equal(configuredSource(config, 'hr').type, 'hr');
  for (const name of ['constructor', '__proto__', 'toString', 'payroll']) {
    assert.throws(() => configuredSource(config, name), (error: unknown) => isJmlError(error, 'invalid_input') && error.message.includes(`unknown source "${name}"`));
  }
});

test('a SIEM stream in audit.streams gets the defaults (ocsf 1.8, batches of 500, token from JML_HEC_TOKEN)', () => {
  const config = parseConfigText('audit:\n  streams:\n    - name: splunk\n      target: https://siem.example:8088/services/collector/event\n', 'jml.config.yaml');
  assert.deepEqual(config.audit.streams, [{ name: 'splunk', target: 'https://siem.example:8088/services/collector/event', format: 'ocsf', ocsf_version: '1.8', batch_size: 500, token_env: 'JML_HEC_TOKEN' }]);
  assert.deepEqual(parseConfigText('timezone: UTC\n', 'jml.config.yaml').audit.streams, []);
});

test('a stream with an unsupported target, a bad batch size or a name used twice is refused naming the file, line and path', () => {
  const streams = (entries: string) => `audit:\n  streams:\n${entries}`;
  const refused = (text: string, where: RegExp) => assert.throws(() => parseConfigText(text, 'jml.config.yaml'), (error: unknown) => isJmlError(error, 'invalid_input') && where.test(error.message));
  refused(streams('    - name: a\n      target: ftp://siem.example/x\n'), /jml\.config\.yaml:4 audit\.streams\[0\]\.target/);
  refused(streams('    - name: a\n      target: file:///var/log/jml.ocsf\n      batch_size: 0\n'), /jml\.config\.yaml:5 audit\.streams\[0\]\.batch_size/);
  refused(streams('    - name: a\n      target: file:///tmp/a\n    - name: a\n      target: file:///tmp/b\n'), /audit\.streams\[1\]\.name: a second stream named a/);
});

test('batch commands run at nice 10 unless batch_nice or JML_BATCH_NICE says otherwise, and 0 keeps the normal priority', async () => {
  assert.equal(parseConfigText('timezone: UTC\n', 'jml.config.yaml').batch_nice, 10);
  assert.equal(parseConfigText('batch_nice: 0\n', 'jml.config.yaml').batch_nice, 0);
  assert.equal((await loadConfig({ configFile: undefined }, { JML_CONFIG: undefined, JML_BATCH_NICE: '15' })).batch_nice, 15);
});

test('a batch_nice outside 0–19 is refused naming the file, line and field; a bad JML_BATCH_NICE names the variable', async () => {
  assert.throws(() => parseConfigText('timezone: UTC\nbatch_nice: 20\n', 'jml.config.yaml'), (error: unknown) => isJmlError(error, 'invalid_input') && /jml\.config\.yaml:2 batch_nice/.test(error.message));
  for (const value of ['-5', 'low', '25', '1.5']) {
    await assert.rejects(loadConfig({}, { JML_BATCH_NICE: value }), (error: unknown) => isJmlError(error, 'invalid_input') && error.message.startsWith(`JML_BATCH_NICE: "${value}"`));
  }
});

test('an inbound source sets its guard window in minutes; without it the window is an hour', () => {
  const config = parseConfigText('sources:\n  entra:\n    type: scim\n    guard_window_minutes: 15\n  okta:\n    type: scim\n', 'jml.config.yaml');
  assert.equal(configuredSource(config, 'entra').guard_window_minutes, 15);
  assert.equal(configuredSource(config, 'okta').guard_window_minutes, undefined);
});

test('a guard window on a file source, or one outside 1 minute to a week, is refused naming the file, line and field', () => {
  const refused = (text: string, where: RegExp) => assert.throws(() => parseConfigText(text, '/etc/jml/jml.config.yaml'), (error: unknown) => isJmlError(error, 'invalid_input') && where.test(error.message));
  refused('sources:\n  hr:\n    type: hr\n    guard_window_minutes: 30\n', /jml\.config\.yaml:4 sources\.hr\.guard_window_minutes: guard_window_minutes applies to a scim source only/);
  refused('sources:\n  entra:\n    type: scim\n    guard_window_minutes: 0\n', /jml\.config\.yaml:4 sources\.entra\.guard_window_minutes/);
  refused('sources:\n  entra:\n    type: scim\n    guard_window_minutes: 10081\n', /jml\.config\.yaml:4 sources\.entra\.guard_window_minutes/);
  refused('sources:\n  entra:\n    type: scim\n    guard_window_minutes: 2.5\n', /jml\.config\.yaml:4 sources\.entra\.guard_window_minutes/);
});

test('a named configuration file is read and validated, a problem in it named by file and line', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'jml-config-'));
  try {
    const file = path.join(dir, 'jml.config.yaml');
    await writeFile(file, 'timezone: Europe/Berlin\nbatch_nice: 3\n');
    const config = await loadConfig({ configFile: file }, {});
    assert.deepEqual([config.file, config.timezone, config.batch_nice], [file, 'Europe/Berlin', 3]);
    await writeFile(file, 'timezone: UTC\nbatch_nice: 30\n');
    await assert.rejects(loadConfig({ configFile: file }, {}), (error: unknown) => isJmlError(error, 'invalid_input') && error.message.startsWith(`${file}:2 batch_nice`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('without a configuration file the YAML library is not loaded', async () => {
  // A fresh process, in a directory with no jml.config.yaml: this file's own imports load the library.
  const script = `import { registerHooks } from 'node:module';
const urls = [];
registerHooks({ resolve: (specifier, context, next) => { const found = next(specifier, context); urls.push(found.url); return found; } });
const { loadConfig } = await import(${JSON.stringify(new URL('./config.ts', import.meta.url).href)});
await loadConfig({ configFile: undefined }, {});
process.stdout.write(JSON.stringify(urls.filter((url) => url.includes('/node_modules/yaml/'))));`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'jml-config-'));
  try {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
