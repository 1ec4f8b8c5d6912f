import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli } from '../support/run-cli.ts';
import { randomBytes } from 'node:crypto';
import { staff, tempDir, VENDOR_HEADER, writeFile, writeHr } from '../support/hr-files.ts';
import { writePolicyDir } from '../support/jml-fixture.ts';
import { openStore } from '../../src/store/open-store.ts';

describe('jml import from the command line', () => {
  let dir: string;
  let data: string;
  before(() => {
    dir = tempDir('jml-cli-');
    data = path.join(dir, 'data');
  });

  test('--json prints exactly one JSON object with events, held and errors', async () => {
    const file = writeHr(dir, 'people.csv', [...staff(3), { id: 'E0100', start: '2026-12-01', department: 'Sales', manager: 'E0001' }]);
    const run = await runCli(['--data', data, 'import', 'hr', file, '--as-of', '2026-11-22', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.equal(out.held, false);
    assert.deepEqual(out.errors, []);
    assert.equal(out.events.length, 4);
    assert.deepEqual(
      { type: out.events[3].type, key: out.events[3].key, source: out.events[3].source, effective: out.events[3].effective, department: out.events[3].changes.department },
      { type: 'joiner', key: 'E0100', source: 'hr', effective: '2026-12-01', department: [null, 'Sales'] },
    );
  });

  test('an invalid file exits 2, names file, row and column, and imports nothing', async () => {
    const file = writeFile(dir, 'bad.csv', 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status\nE0001,A,B,a@example.com,Eng,X,,Berlin,Full-time,31/12/2024,,active\n');
    const run = await runCli(['--data', data, 'import', 'hr', file, '--json']);
    assert.equal(run.code, 2);
    const out = JSON.parse(run.stdout);
    assert.equal(out.errors[0].row, 2);
    assert.equal(out.errors[0].column, 'start_date');
    const list = JSON.parse((await runCli(['--data', data, 'identities', '--json'])).stdout);
    assert.equal(list.identities.length, 4);
  });

  test('a value over the length cap exits 2, names file, row and column, and imports nothing', async () => {
    const file = writeFile(dir, 'long.csv', `employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status\nE0200,${'A'.repeat(15 * 1024 * 1024)},B,a@example.com,Eng,X,,Berlin,Full-time,2024-12-31,,active\n`);
    const run = await runCli(['--data', data, 'import', 'hr', file, '--json']);
    assert.equal(run.code, 2);
    const out = JSON.parse(run.stdout);
    assert.deepEqual([out.errors[0].file, out.errors[0].row, out.errors[0].column], [file, 2, 'first_name']);
    assert.match(out.errors[0].message, /max_value_length/);
    assert.ok(run.stdout.length < 10_000, 'the value is not echoed back');
    const list = JSON.parse((await runCli(['--data', data, 'identities', '--json'])).stdout);
    assert.equal(list.identities.length, 4);
  });

  test('a header-only file exits 3 (held) and says how to release it', async () => {
    const run = await runCli(['--data', data, 'import', 'hr', writeHr(dir, 'empty.csv', [])]);
    assert.equal(run.code, 3);
    assert.match(run.stdout, /HELD/);
    assert.match(run.stdout, /nothing was changed/);
  });

  test('a second process cannot open a data directory in use, and says so', async () => {
    const held = await openStore({ dataDir: data });
    try {
      const run = await runCli(['--data', data, 'identities']);
      assert.equal(run.code, 6);
      assert.match(run.stderr, /in use by another jml process/);
    } finally {
      await held.close();
    }
    const after = await runCli(['--data', data, 'identities', '--json']);
    assert.equal(after.code, 0, after.stderr);
  });

  test('audit verify reports an intact chain, and export prints one JSON entry per line', async () => {
    const verify = await runCli(['--data', data, 'audit', 'verify', '--json']);
    assert.equal(verify.code, 0);
    assert.equal(JSON.parse(verify.stdout).ok, true);
    const exported = await runCli(['--data', data, 'audit', 'export', '--format', 'jsonl']);
    const lines = exported.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.length >= 6);
    assert.deepEqual(lines.map((l) => l.seq), lines.map((_, i) => i + 1));
  });

  test('unknown options and sources are refused with a clear message', async () => {
    const unknownSource = await runCli(['--data', data, 'import', 'payroll', writeHr(dir, 'x.csv', staff(1))]);
    assert.equal(unknownSource.code, 2);
    assert.match(unknownSource.stderr, /unknown source "payroll"/);
    const badDate = await runCli(['--data', data, 'import', 'hr', writeHr(dir, 'y.csv', staff(1)), '--as-of', '22.11.2026']);
    assert.equal(badDate.code, 2);
    assert.match(badDate.stderr, /--as-of must be YYYY-MM-DD/);
  });

  test('source check shows how each column maps, names the invalid rows, and writes nothing', async () => {
    const file = writeFile(dir, 'check.csv', 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status\n007,Ada,Lovelace,ada@example.com,Eng,X,,Berlin,Full-time,2024-01-01,,A\n008,Alan,Turing,alan@example.com,Eng,X,,Berlin,Full-time,2024-02-30,,active\n');
    const before = JSON.parse((await runCli(['--data', data, 'identities', '--json'])).stdout).identities.length;
    const run = await runCli(['--data', data, 'source', 'check', 'hr', file]);
    assert.equal(run.code, 2);
    assert.match(run.stdout, /employee_id\s+→ key\s+"007"/);
    assert.match(run.stdout, /status\s+→ status\s+"active"\s+← "A"/);
    assert.match(run.stdout, /check\.csv:3 \[start_date\]/);
    const after = JSON.parse((await runCli(['--data', data, 'identities', '--json'])).stdout).identities.length;
    assert.equal(after, before);
  });
});

describe('a contract end between two imports of the same file', () => {
  const dir = tempDir('jml-cli-due-');
  const policy = writePolicyDir(
    {
      'systems.yaml': 'systems:\n  - name: directory\n    connector: { type: simulated }\n    owner: E0001\n    enforcement: full\n    leaver: { action: disable }\n',
      'entitlements.yaml': 'entitlements:\n  - { system: directory, name: staff }\n',
      'rules.yaml': 'rules:\n  - name: everyone\n    when: { kind: [contractor] }\n    grant: { entitlements: ["directory:staff"] }\n',
    },
    path.join(dir, 'policy'),
  );
  const env = { JML_MASTER_KEY: randomBytes(32).toString('base64'), JML_ACTOR: 'alice' };
  const jml = async (...args: string[]) => {
    const run = await runCli(['--data', path.join(dir, 'data'), '--policy', policy, ...args], { env });
    assert.equal(run.code, 0, `jml ${args.join(' ')}: ${run.stderr}`);
    return run.stdout;
  };
  const file = writeFile(dir, 'vendor.csv', `${VENDOR_HEADER}\nC-17,Lin,Chen,lin.chen@example.com,Acme,E0001,2026-01-05,2026-11-30,active\nC-18,Sam,Lee,sam.lee@example.com,Acme,E0001,2025-01-05,2027-06-30,active\n`);
  const shown = async (key: string) => JSON.parse(await jml('identity', key, '--json')) as { identity: { status: string }; timeline: { type: string; state: string }[] };

  test('the later import applies the due leaver without a warning, and the plan then disables the account', async () => {
    await jml('import', 'hr', writeHr(dir, 'hr.csv', staff(1)), '--as-of', '2026-11-16');
    const first = JSON.parse(await jml('import', 'vendor', file, '--as-of', '2026-11-16', '--json'));
    assert.deepEqual(first.events.filter((e: { type: string }) => e.type === 'leaver').map((e: { identity: string; effective: string }) => [e.identity, e.effective]), [['C-17', '2026-11-30'], ['C-18', '2027-06-30']]);
    await jml('apply', '--yes', '--json');
    assert.deepEqual(JSON.parse(await jml('plan', '--json')).plan.changes, [], 'both contractors hold their account');

    const text = await jml('import', 'vendor', file, '--as-of', '2026-12-02');
    assert.doesNotMatch(text, /warning/);
    assert.match(text, /1 scheduled event\(s\) took effect as of 2026-12-02:\n {2}leaver +C-17 +effective 2026-11-30/);
    const c17 = await shown('C-17');
    assert.equal(c17.identity.status, 'left');
    assert.deepEqual(c17.timeline.map((e) => [e.type, e.state]), [['joiner', 'applied'], ['leaver', 'applied']]);

    const again = JSON.parse(await jml('import', 'vendor', file, '--as-of', '2026-12-03', '--json'));
    assert.deepEqual([again.warnings, again.events, again.effective], [[], [], []], 'every later import stays quiet');

    const changes = JSON.parse(await jml('plan', '--json')).plan.changes as { identityKey: string; kind: string }[];
    assert.deepEqual(changes.map((c) => [c.identityKey, c.kind]), [['C-17', 'disable_account'], ['C-17', 'remove_grant']]);
  });
});
