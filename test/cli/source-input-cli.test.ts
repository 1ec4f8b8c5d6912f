/**
 * Malformed source files through the real CLI: each exits 2, names file, row
 * and column, and writes nothing (no identity, no audit entry, no held import).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli } from '../support/run-cli.ts';
import { tempDir, writeFile } from '../support/hr-files.ts';
import { sql } from 'kysely';
import { openStore } from '../../src/store/open-store.ts';

const HEADER = 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status\n';
const row = (id: string, first = 'Ada') => `${id},${first},Lovelace,${id.toLowerCase()}@example.com,Eng,X,,Berlin,Full-time,2024-12-31,,active\n`;

describe('malformed source files on the command line', () => {
  let dir: string;
  let data: string;
  /** What an import could have written: identities, events, imports (held ones too) and audit entries. */
  const footprint = async () => {
    const store = await openStore({ dataDir: data });
    try {
      const count = async (table: string) => Number((await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(store.db)).rows[0]!.n);
      return { identities: await count('identities'), events: await count('lifecycle_events'), imports: await count('imports'), audit: await count('audit_log') };
    } finally {
      await store.close();
    }
  };
  const importRejected = async (file: string, config?: string) => {
    const before = await footprint();
    const args = [...(config ? ['--config', config] : []), '--data', data, 'import', 'hr', file];
    const run = await runCli(args);
    assert.deepEqual(await footprint(), before, 'nothing was written');
    return run;
  };

  before(async () => {
    dir = tempDir('jml-source-input-');
    data = path.join(dir, 'data');
    const first = await runCli(['--data', data, 'import', 'hr', writeFile(dir, 'first.csv', HEADER + row('E0001'))]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
  });

  test('a NUL byte in a row exits 2 naming file, row and column', async () => {
    const file = writeFile(dir, 'nul.csv', HEADER + row('E0001') + row('E0002', 'Al\u0000an'));
    const run = await importRejected(file);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stdout, new RegExp(`error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3 \\[first_name\\] value holds a NUL byte`));
    assert.equal(run.stderr, '', 'no unhandled driver error');
  });

  test('a lone surrogate in a UTF-16 file exits 2 naming file, row and column', async () => {
    const config = writeFile(dir, 'utf16.yaml', 'sources:\n  hr:\n    type: hr\n    encoding: utf-16le\n');
    const text = Buffer.from('\uFEFF' + HEADER + row('E0001') + row('E0003', 'Zo'), 'utf16le');
    // "Zo" followed by a high surrogate that no low surrogate completes.
    const at = text.indexOf(Buffer.from('Zo', 'utf16le')) + 4;
    const file = writeFile(dir, 'surrogate.csv', Buffer.concat([text.subarray(0, at), Buffer.from([0x3d, 0xd8]), text.subarray(at)]));
    const run = await importRejected(file, config);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stdout, /surrogate\.csv:3 \[first_name\] value holds a NUL byte or a broken UTF-16 character/);
  });

  test('a binary file for a UTF-8 source is invalid input (exit 2), not a held import', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0xff, 0xfe, 0x00]);
    const run = await importRejected(writeFile(dir, 'photo.csv', png));
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stderr, /photo\.csv: file is not valid UTF-8/);
    assert.doesNotMatch(run.stdout, /HELD/);
  });

  test('a Windows-1252 file for a UTF-8 source is invalid input (exit 2) that names the encoding setting', async () => {
    const run = await importRejected(writeFile(dir, 'cp1252.csv', Buffer.from(HEADER + row('E0001', 'Jürgen'), 'latin1')));
    assert.equal(run.code, 2);
    assert.match(run.stderr, /cp1252\.csv: file is not valid UTF-8 — is it latin1\/windows-1252 or utf-16le\? set the source's encoding/);
  });

  test('a value over max_value_length exits 2 naming file, row and column, without echoing the value', async () => {
    const config = writeFile(dir, 'short.yaml', 'sources:\n  hr:\n    type: hr\n    max_value_length: 20\n');
    const run = await importRejected(writeFile(dir, 'long.csv', HEADER + row('E0001') + row('E0008', 'Maximiliane-Adelheid-Konstanze')), config);
    assert.equal(run.code, 2);
    assert.match(run.stdout, /long\.csv:3 \[first_name\] value of 30 characters, longer than the limit of 20 \(max_value_length/);
    assert.doesNotMatch(run.stdout, /Maximiliane/);
  });

  test('every malformed row of a file is reported in one run', async () => {
    const file = writeFile(dir, 'quotes.csv', HEADER + row('E0001') + 'E0004,"Al"an,T,a@example.com,Eng,X,,Berlin,Full-time,2024-12-31,,active\n' + 'E0005,Grace\n' + 'E0006,Jo"an,C,j@example.com,Eng,X,,Berlin,Full-time,2024-12-31,,active\n');
    const run = await importRejected(file);
    assert.equal(run.code, 2);
    const errors = run.stdout.split('\n').filter((l) => l.startsWith('error:'));
    assert.deepEqual(errors.map((l) => /quotes\.csv:(\d+)/.exec(l)?.[1]), ['3', '4', '5']);
  });

  test('source check prints no problem for a file that maps, and names file, row and column otherwise', async () => {
    const good = await runCli(['--data', data, 'source', 'check', 'hr', writeFile(dir, 'good.csv', HEADER + row('E0001') + row('E0007'))]);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /no problems: every row of .*good\.csv maps/);
    const bad = await runCli(['--data', data, 'source', 'check', 'hr', writeFile(dir, 'bad.csv', HEADER + row('E0001').replace('2024-12-31', '31/12/2024'))]);
    assert.equal(bad.code, 2);
    assert.match(bad.stdout, /bad\.csv:2 \[start_date\] {2}invalid date "31\/12\/2024" for format iso/);
  });
});
