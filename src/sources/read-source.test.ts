import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isJmlError } from '../domain/errors.ts';
import type { RowError } from './source-record.ts';
import { formatSourceCheck, readSource, readSourceTable } from './read-source.ts';
import { sourceConfigSchema, type SourceConfigInput } from './source-config.ts';
import { createMemoryDirectory } from './reference-resolver.ts';

const FIXTURES = new URL('../../test/fixtures/sources/', import.meta.url).pathname;
const TZ = 'Europe/Berlin';
const directory = createMemoryDirectory([
  { key: 'E1001', attributes: { email: 'owner@example.com', first_name: 'Olga', last_name: 'Owner' } },
  { key: 'E1002', attributes: { email: 'existing@example.com', first_name: 'Ed', last_name: 'Existing' } },
  { key: 'E2001', attributes: { email: 'babbage@example.com', first_name: 'Charles', last_name: 'Babbage' } },
]);

async function read(file: string, config: SourceConfigInput = { type: 'hr' }) {
  return readSource({ name: 'hr', config: sourceConfigSchema.parse(config), filePath: FIXTURES + file, timezone: TZ, directory });
}

interface ExpectedError {
  readonly row: number;
  readonly column: string | null;
  readonly message: RegExp;
}

function assertErrors(actual: readonly RowError[], file: string, expected: readonly ExpectedError[]): void {
  assert.equal(actual.length, expected.length, `errors: ${JSON.stringify(actual, null, 1)}`);
  expected.forEach((e, i) => {
    const a = actual[i];
    assert.ok(a);
    assert.equal(a.file, FIXTURES + file);
    assert.equal(a.row, e.row, a.message);
    assert.equal(a.column, e.column, a.message);
    assert.match(a.message, e.message);
  });
}

describe('the malformed-file corpus is rejected with errors naming file, row and column', () => {
  const corpus: readonly { file: string; config?: SourceConfigInput; errors: readonly ExpectedError[] }[] = [
    { file: 'empty.csv', errors: [{ row: 0, column: null, message: /file is empty/ }] },
    { file: 'header-only.csv', errors: [{ row: 0, column: null, message: /header but no data rows/ }] },
    {
      file: 'hr-bad-dates.csv',
      errors: [
        { row: 2, column: 'start_date', message: /invalid date "2022-13-40" for format iso/ },
        { row: 3, column: 'start_date', message: /invalid date "10\/01\/2022" for format iso/ },
        { row: 4, column: 'end_date', message: /end date 2022-04-30 is before start date 2022-05-01/ },
      ],
    },
    {
      file: 'hr-duplicate-keys.csv',
      errors: [
        { row: 2, column: 'employee_id', message: /duplicate key "E1" \(also on row 4\)/ },
        { row: 4, column: 'employee_id', message: /duplicate key "E1" \(also on row 2\)/ },
      ],
    },
    {
      file: 'hr-missing-column.csv',
      errors: [{ row: 0, column: 'employee_id', message: /column employee_id not found in the header \(id, first_name/ }],
    },
    {
      file: 'hr-unbalanced-quotes.csv',
      errors: [{ row: 3, column: 'title', message: /unbalanced quotes: a quote opened on row 3 is never closed/ }],
    },
    {
      file: 'hr-semicolon.csv',
      errors: ['employee_id', 'first_name', 'last_name', 'start_date'].map((column) => ({
        row: 0,
        column,
        message: new RegExp(`^column ${column} not found; the header has 1 column — is the delimiter ';'\\?$`),
      })),
    },
    {
      file: 'hr-truncated.csv',
      errors: [{ row: 3, column: null, message: /row has 4 field\(s\), the header has 12 — is the file truncated/ }],
    },
    {
      file: 'vendor.csv',
      config: { type: 'vendor' },
      errors: [
        { row: 3, column: 'sponsor_id', message: /a contractor needs a sponsor/ },
        { row: 4, column: 'sponsor_id', message: /unknown sponsor "E9999": not in this file nor among existing identities/ },
      ],
    },
  ];
  for (const c of corpus) {
    test(`${c.file} yields its errors and no record from an invalid row`, async () => {
      const snapshot = await read(c.file, c.config);
      assertErrors(snapshot.errors, c.file, c.errors);
      const invalidRows = new Set(c.errors.map((e) => e.row));
      assert.ok(snapshot.records.every((r) => !invalidRows.has(r.row)));
    });
  }

  test('an empty or header-only file has no records at all, so it can never read as "everyone left"', async () => {
    for (const file of ['empty.csv', 'header-only.csv', 'hr-unbalanced-quotes.csv']) {
      const snapshot = await read(file);
      assert.equal(snapshot.records.length, 0);
      assert.ok(snapshot.errors.length > 0);
    }
  });

  test('rows with errors are reported as invalid keys so a diff never treats them as leavers', async () => {
    const snapshot = await read('hr-duplicate-keys.csv');
    assert.deepEqual(snapshot.invalidKeys, ['E1']);
    assert.deepEqual(snapshot.records.map((r) => r.key), ['E2']);
  });
});

describe('well-formed files', () => {
  test('a UTF-8 file with BOM and CRLF reads its first column name and values cleanly', async () => {
    const snapshot = await read('hr-bom-crlf.csv');
    assert.deepEqual(snapshot.errors, []);
    assert.deepEqual(snapshot.records.map((r) => [r.key, r.row, r.attributes.first_name, r.attributes.manager]), [
      ['0001', 2, 'Ada', null],
      ['0002', 3, 'Alan', '0001'],
    ]);
  });

  test('leading zeros, quoted commas, doubled quotes, multi-line fields and value maps survive', async () => {
    const snapshot = await read('hr-valid.csv');
    const [grace, linus, katherine] = snapshot.records;
    assert.equal(grace?.key, '00042');
    assert.equal(grace?.attributes.title, 'VP, Engineering');
    assert.equal(linus?.attributes.last_name, 'O"Neil');
    assert.equal(linus?.attributes.location, 'Berlin\nMitte');
    assert.equal(linus?.kind, 'contractor');
    assert.equal(linus?.sponsor, '00042', 'a contingent worker without a sponsor column is sponsored by their manager');
    assert.equal(linus?.status, 'active');
    assert.equal(katherine?.row, 5, 'the row after a two-line record starts on line 5');
    assert.equal(katherine?.status, 'suspended');
    assertErrors(snapshot.errors, 'hr-valid.csv', [{ row: 6, column: 'manager_id', message: /unknown manager "E900"/ }]);
  });

  test('a latin1 file with its encoding configured keeps its umlauts', async () => {
    const snapshot = await read('hr-latin1.csv', { type: 'hr', delimiter: ';', encoding: 'latin1' });
    assert.deepEqual(snapshot.errors, []);
    assert.deepEqual(snapshot.records.map((r) => `${r.attributes.first_name} ${r.attributes.last_name}`), ['Jürgen Müller', 'Zoë Ångström']);
  });

  test('a UTF-16LE file with BOM reads with encoding utf-16le', async () => {
    const snapshot = await read('hr-utf16le.csv', { type: 'hr', encoding: 'utf-16le' });
    assert.deepEqual(snapshot.errors, []);
    assert.equal(snapshot.records[0]?.attributes.last_name, 'Núñez');
  });

  test('01/10/2022 is 10 January under MM/DD/YYYY and 1 October under DD/MM/YYYY', async () => {
    const us = await read('hr-ambiguous-date.csv', { type: 'hr', mapping: { start_date: { column: 'start_date', format: 'MM/DD/YYYY' } } });
    const eu = await read('hr-ambiguous-date.csv', { type: 'hr', mapping: { start_date: { column: 'start_date', format: 'DD/MM/YYYY' } } });
    assert.equal(us.records[0]?.startDate, '2022-01-10');
    assert.equal(eu.records[0]?.startDate, '2022-10-01');
  });
});

describe('manager references', () => {
  const byEmail: SourceConfigInput = {
    type: 'hr',
    mapping: {
      key: 'Employee ID', first_name: 'First Name', last_name: 'Last Name', email: 'Work Email',
      start_date: 'Hire Date', manager: { column: 'Manager Email', by: 'email' },
    },
  };
  test('a manager referenced by email resolves case-insensitively in the file and among existing identities', async () => {
    const snapshot = await read('hr-manager-by-email.csv', byEmail);
    assert.deepEqual(snapshot.records.map((r) => [r.key, r.attributes.manager]), [['E1', null], ['E2', 'E1'], ['E4', 'E1002']]);
    assertErrors(snapshot.errors, 'hr-manager-by-email.csv', [
      { row: 4, column: 'Manager Email', message: /unknown manager "boss@example.com"/ },
    ]);
  });

  test('a manager referenced by name resolves as "Last, First" or "First Last", and an ambiguous name lists its candidates', async () => {
    const snapshot = await read('hr-manager-by-name.csv', {
      type: 'hr',
      mapping: { key: 'Employee ID', first_name: 'First Name', last_name: 'Last Name', start_date: 'Hire Date', manager: { column: 'Manager', by: 'name' } },
    });
    assert.deepEqual(snapshot.records.map((r) => [r.key, r.attributes.manager]), [
      ['E1', null], ['E2', 'E1'], ['E3', 'E1'], ['E4', 'E1'], ['E6', 'E1'], ['E7', 'E2001'],
    ]);
    assertErrors(snapshot.errors, 'hr-manager-by-name.csv', [
      { row: 6, column: 'Manager', message: /manager "Smith, John" is ambiguous: by name it matches E3, E4 — reference them by id or email/ },
    ]);
  });
});

describe('non-human identity inventory', () => {
  test('the YAML inventory yields identities with systems and credentials as ISO instants', async () => {
    const snapshot = await read('nhi-inventory.yaml', { type: 'nhi', format: 'yaml' });
    assert.deepEqual(snapshot.errors, []);
    const [backup, agent] = snapshot.records;
    assert.equal(backup?.kind, 'service_account');
    assert.equal(backup?.owner, 'E1001');
    assert.equal(backup?.attributes.display_name, 'Backup runner');
    assert.deepEqual(backup?.systems, ['ldap', 'github']);
    assert.deepEqual(backup?.credentials, [
      { system: 'github', kind: 'api_key', name: 'deploy-key', createdAt: '2025-01-09T23:00:00Z', lastRotatedAt: '2025-05-31T22:00:00Z', expiresAt: '2026-01-09T23:00:00Z' },
      { system: 'ldap', kind: 'password', name: 'bind', createdAt: '2024-03-01T08:00:00Z', lastRotatedAt: null, expiresAt: null },
    ]);
    assert.equal(agent?.kind, 'ai_agent');
    assert.equal(agent?.row, 13);
  });

  test('YAML inventory errors name the line of the offending value', async () => {
    const snapshot = await read('nhi-bad.yaml', { type: 'nhi', format: 'yaml' });
    assertErrors(snapshot.errors, 'nhi-bad.yaml', [
      { row: 1, column: 'owner', message: /a non-human identity needs an owner/ },
      { row: 13, column: 'created', message: /invalid date "2025-02-30" for format iso/ },
      { row: 15, column: 'kind', message: /kind "employee" is not a non-human kind/ },
    ]);
    assert.deepEqual(snapshot.records, []);
  });

  test('the CSV inventory takes one credential per row with the key repeated', async () => {
    const snapshot = await read('nhi-inventory.csv', { type: 'nhi' });
    assert.deepEqual(snapshot.errors, []);
    assert.deepEqual(snapshot.records.map((r) => [r.key, r.credentials?.map((c) => c.name), r.systems]), [
      ['svc-backup', ['deploy-key', 'bind'], ['ldap', 'github']],
      ['int-crm', [], ['crm']],
    ]);
  });
});

test('a file that is not UTF-8 for a utf-8 source is invalid input naming the file, not an empty snapshot', async () => {
  await assert.rejects(read('hr-latin1.csv', { type: 'hr', delimiter: ';' }), (error: unknown) => {
    assert.ok(isJmlError(error, 'invalid_input'));
    assert.match(error.message, /hr-latin1\.csv: file is not valid UTF-8 — is it latin1\/windows-1252/);
    return true;
  });
});

test('a file that cannot be read throws source_unreadable instead of returning an empty snapshot', async () => {
  await assert.rejects(read('no-such-file.csv'), (error: unknown) => {
    assert.ok(isJmlError(error, 'source_unreadable'));
    assert.match(error.message, /cannot read .*no-such-file\.csv \(ENOENT\)/);
    return true;
  });
  await assert.rejects(read(''), (error: unknown) => isJmlError(error, 'source_unreadable'));
});

test('source check shows each file column, its field and its mapped value, then the errors', async () => {
  const config = sourceConfigSchema.parse({ type: 'hr' });
  const snapshot = await readSource({ name: 'hr', config, filePath: FIXTURES + 'hr-valid.csv', timezone: TZ, directory });
  const table = await readSourceTable({ name: 'hr', config, filePath: FIXTURES + 'hr-valid.csv' });
  const text = formatSourceCheck(snapshot, table, 2, config);
  assert.match(text, /^source hr · .*hr-valid\.csv · 4 row\(s\), 3 valid, 1 error\(s\)/);
  assert.match(text, /row 3 {2}00043\n/);
  assert.match(text, /status +→ status +"active" {2}← "A"/);
  assert.match(text, /manager_id +→ manager +"00042"/);
  assert.doesNotMatch(text, /row 5/, 'only the first 2 rows are shown');
  assert.match(text, /errors:\n {2}.*hr-valid\.csv:6 \[manager_id\] {2}unknown manager "E900"/);
});
