import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsvTable } from './csv-reader.ts';
import { mapSourceTable } from './record-mapper.ts';
import { resolveSourceConfig, sourceConfigSchema, type SourceConfigInput } from './source-config.ts';
import { createMemoryDirectory, EMPTY_DIRECTORY } from './reference-resolver.ts';
import type { IdentityDirectory } from './source-record.ts';

function map(csv: string, config: SourceConfigInput, directory: IdentityDirectory = EMPTY_DIRECTORY, timezone = 'Europe/Berlin') {
  const parsed = sourceConfigSchema.parse(config);
  const table = parseCsvTable(csv, { file: 'people.csv', delimiter: parsed.delimiter, headerRows: parsed.headerRows });
  return mapSourceTable(table, { source: parsed.type, config: resolveSourceConfig(parsed), timezone, directory });
}

const HR = 'employee_id,first_name,last_name,email,manager_id,employment_type,start_date,end_date,status\n';

describe('row validation names row, file column and reason', () => {
  const cases: readonly [name: string, rows: string, row: number, column: string | null, message: RegExp][] = [
    ['a missing key', ',Ada,Lovelace,,,,2022-01-10,,\n', 2, 'employee_id', /key missing/],
    ['missing names', 'E1,,,,,,2022-01-10,,\n', 2, 'first_name', /first and last name \(or a display name\) missing/],
    ['a missing last name', 'E1,Ada,,,,,2022-01-10,,\n', 2, 'last_name', /first and last name/],
    ['a missing start date', 'E1,Ada,Lovelace,,,,,,\n', 2, 'start_date', /start date missing/],
    ['an invalid email', 'E1,Ada,Lovelace,ada@,,,2022-01-10,,\n', 2, 'email', /invalid email "ada@"/],
    ['an unknown status', 'E1,Ada,Lovelace,,,,2022-01-10,,Retired\n', 2, 'status', /unknown status "Retired": add it to mapping.status.map/],
    // Workday writes Active_Status=0 for pre-hires as well as leavers: a bare 0 is never guessed to be a leaver.
    ['a bare status 0', 'E1,Ada,Lovelace,,,,2022-01-10,,0\n', 2, 'status', /unknown status "0": add it to mapping.status.map \(as active, pending, suspended, terminated or from_dates\)/],
    ['an unmapped employment type', 'E1,Ada,Lovelace,,,Astronaut,2022-01-10,,\n', 2, 'employment_type', /employment type "Astronaut" is not mapped to a kind/],
    ['an unknown manager', 'E1,Ada,Lovelace,,E404,,2022-01-10,,\n', 2, 'manager_id', /unknown manager "E404"/],
    ['an end before the start', 'E1,Ada,Lovelace,,,,2022-01-10,2022-01-09,\n', 2, 'end_date', /end date 2022-01-09 is before start date 2022-01-10/],
    ['a contractor with neither sponsor nor manager', 'E1,Ada,Lovelace,,,Contractor,2022-01-10,,\n', 2, 'manager_id', /a contractor needs a sponsor/],
  ];
  for (const [name, rows, row, column, message] of cases) {
    test(`${name} is an error and the row is left out`, () => {
      const snapshot = map(HR + rows, { type: 'hr' });
      assert.equal(snapshot.errors.length, 1, JSON.stringify(snapshot.errors));
      const [error] = snapshot.errors;
      assert.deepEqual([error?.file, error?.row, error?.column], ['people.csv', row, column]);
      assert.match(error?.message ?? '', message);
      assert.deepEqual(snapshot.records, []);
    });
  }
});

test('with keepUnknownManagers an unknown manager is kept as manager_unresolved and the record is valid; an ambiguous one is still refused', () => {
  const parsed = sourceConfigSchema.parse({ type: 'hr', mapping: { manager: { column: 'manager_id', by: 'auto' } } });
  const table = parseCsvTable(`${HR}E1,Ada,Lovelace,,E404,,2022-01-10,,\nE2,Alan,Turing,,Joan Clarke,,2022-01-10,,\n`, { file: 'people.csv', delimiter: parsed.delimiter, headerRows: parsed.headerRows });
  const directory = createMemoryDirectory([{ key: 'X1', attributes: { first_name: 'Joan', last_name: 'Clarke' } }, { key: 'X2', attributes: { first_name: 'Joan', last_name: 'Clarke' } }]);
  const options = { source: 'hr', config: resolveSourceConfig(parsed), timezone: 'UTC', directory };
  const kept = mapSourceTable(table, { ...options, keepUnknownManagers: true });
  assert.deepEqual(kept.records.map((r) => [r.key, r.attributes.manager, r.attributes.manager_unresolved]), [['E1', null, 'E404']]);
  assert.deepEqual(kept.errors.map((e) => [e.row, e.column]), [[3, 'manager_id']]);
  assert.match(kept.errors[0]!.message, /ambiguous/);
  const refused = mapSourceTable(table, options);
  assert.deepEqual(refused.records, [], 'a file import keeps refusing an unknown manager');
  assert.match(refused.errors[0]!.message, /unknown manager "E404"/);
});

test('status and employment type value maps are case-insensitive and user entries extend the defaults', () => {
  const snapshot = map(
    HR +
      'E1,Ada,Lovelace,,,Full-time,2022-01-10,,1\n' +
      'E2,Alan,Turing,,E1,CONTRACTOR,2022-01-10,,Pre-Hire\n' +
      'E3,Grace,Hopper,,E1,external,2022-01-10,,inactive\n' +
      'E4,Joan,Clarke,,E1,Werkstudent,2022-01-10,,Beurlaubt\n',
    {
      type: 'hr',
      mapping: {
        status: { column: 'status', map: { Beurlaubt: 'suspended' } },
        kind: { column: 'employment_type', map: { werkstudent: 'employee' } },
      },
    },
  );
  assert.deepEqual(snapshot.errors, []);
  assert.deepEqual(snapshot.records.map((r) => [r.key, r.kind, r.status, r.attributes.employment_type]), [
    ['E1', 'employee', 'active', 'Full-time'],
    ['E2', 'contractor', 'pending', 'CONTRACTOR'],
    ['E3', 'contractor', 'terminated', 'external'],
    ['E4', 'employee', 'suspended', 'Werkstudent'],
  ]);
});

test('constants and templates fill fields, and a missing default column is not required', () => {
  const snapshot = map('id,given,family\n7,Ada,Lovelace\n', {
    type: 'hr',
    mapping: {
      key: 'id', first_name: 'given', last_name: 'family',
      display_name: { template: '{given} {family}' }, company: { const: 'ACME' }, start_date: { const: '2022-01-10' },
    },
  });
  assert.deepEqual(snapshot.errors, []);
  const [record] = snapshot.records;
  assert.equal(record?.attributes.display_name, 'Ada Lovelace');
  assert.equal(record?.attributes.company, 'ACME');
  assert.equal(record?.startDate, '2022-01-10');
  assert.ok(!('department' in (record?.attributes ?? {})), 'department is a default column the file lacks');
});

test('a column the user names must exist even when the field is optional', () => {
  const snapshot = map(HR + 'E1,Ada,Lovelace,,,,2022-01-10,,\n', { type: 'hr', mapping: { department: 'Dept' } });
  assert.deepEqual(snapshot.errors.map((e) => [e.row, e.column, e.message]), [[0, 'Dept', 'column Dept not found in the header (employee_id, first_name, last_name, email, manager_id, employment_type, start_date, end_date, status)']]);
});

test('a near miss in a column name is suggested', () => {
  const snapshot = map('Employee_ID,first_name,last_name,start_date\nE1,A,B,2022-01-10\n', { type: 'hr' });
  assert.equal(snapshot.errors[0]?.message, 'column employee_id not found; did you mean "Employee_ID"?');
});

test('a date with time and zone becomes the calendar date in the organisation time zone', () => {
  const csv = 'employee_id,first_name,last_name,start_date\nE1,Ada,Lovelace,2026-11-30T23:30:00Z\n';
  assert.equal(map(csv, { type: 'hr' }, EMPTY_DIRECTORY, 'Europe/Berlin').records[0]?.startDate, '2026-12-01');
  assert.equal(map(csv, { type: 'hr' }, EMPTY_DIRECTORY, 'America/Chicago').records[0]?.startDate, '2026-11-30');
});

test('managers and sponsors resolve against existing identities when not in the file', () => {
  const directory = createMemoryDirectory([{ key: 'E1001', attributes: { email: 'boss@example.com' } }]);
  const snapshot = map(
    'contractor_id,first_name,last_name,sponsor_id,start_date,contract_end\nC1,Carl,Contract,E1001,2025-01-06,2025-12-31\n',
    { type: 'vendor' },
    directory,
  );
  assert.deepEqual(snapshot.errors, []);
  assert.deepEqual([snapshot.records[0]?.kind, snapshot.records[0]?.sponsor, snapshot.records[0]?.endDate], ['contractor', 'E1001', '2025-12-31']);
});

describe('inventory CSV', () => {
  const NHI = 'key,kind,name,owner,systems,credentials\n';
  test('credentials in YAML form inside a cell become credential records', () => {
    const snapshot = map(
      NHI + 'svc-a,Service Account,Runner,E1,ldap;github,"[{system: github, kind: API key, name: deploy, created: 2025-01-10, expires: 2026-01-10}]"\n',
      { type: 'nhi' },
      createMemoryDirectory([{ key: 'E1', attributes: {} }]),
      'UTC',
    );
    assert.deepEqual(snapshot.errors, []);
    assert.deepEqual(snapshot.records[0]?.credentials, [
      { system: 'github', kind: 'api_key', name: 'deploy', createdAt: '2025-01-10T00:00:00Z', lastRotatedAt: null, expiresAt: '2026-01-10T00:00:00Z' },
    ]);
    assert.equal(snapshot.records[0]?.kind, 'service_account');
  });

  const errors: readonly [name: string, row: string, column: string, message: RegExp][] = [
    ['an identity without an owner', 'svc-a,service_account,Runner,,ldap,\n', 'owner', /a non-human identity needs an owner/],
    ['an unknown owner', 'svc-a,integration,Runner,E404,ldap,\n', 'owner', /unknown owner "E404"/],
    ['an unknown kind', 'svc-a,robot overlord,Runner,E1,ldap,\n', 'kind', /unknown kind "robot overlord"/],
    ['a nameless identity', 'svc-a,ai_agent,,E1,ldap,\n', 'name', /name missing/],
    ['a credentials cell that is not YAML', 'svc-a,ai_agent,Bot,E1,ldap,"[{system: x"\n', 'credentials', /credentials are not valid YAML/],
    ['a credential of unknown kind', 'svc-a,ai_agent,Bot,E1,ldap,"[{system: x, kind: magic, name: n, created: 2025-01-01}]"\n', 'credentials', /unknown credential kind "magic"/],
    ['a credential without created time', 'svc-a,ai_agent,Bot,E1,ldap,"[{system: x, kind: token, name: n}]"\n', 'credentials', /credential created time missing/],
  ];
  for (const [name, row, column, message] of errors) {
    test(`${name} is an error on its row and column`, () => {
      const snapshot = map(NHI + row, { type: 'nhi' }, createMemoryDirectory([{ key: 'E1', attributes: {} }]));
      assert.equal(snapshot.errors.length, 1, JSON.stringify(snapshot.errors));
      assert.deepEqual([snapshot.errors[0]?.file, snapshot.errors[0]?.row, snapshot.errors[0]?.column], ['people.csv', 2, column]);
      assert.match(snapshot.errors[0]?.message ?? '', message);
      assert.deepEqual(snapshot.records, []);
    });
  }

  test('a repeated key with different identity values is a duplicate, not a credential row', () => {
    const snapshot = map(NHI + 'svc-a,integration,A,E1,,\nsvc-a,integration,B,E1,,\n', { type: 'nhi' }, createMemoryDirectory([{ key: 'E1', attributes: {} }]));
    assert.deepEqual(snapshot.errors.map((e) => [e.row, e.column, e.message]), [
      [2, 'key', 'duplicate key "svc-a" (also on row 3)'],
      [3, 'key', 'duplicate key "svc-a" (also on row 2)'],
    ]);
  });
});

test('a value longer than max_value_length (1 KiB by default) is a row error naming file, row and column, without echoing the value', () => {
  const long = 'x'.repeat(1025);
  const snapshot = map(`${HR}E1,Ada,${long},,,,2022-01-10,,\nE2,Bob,Ok,,,,2022-01-10,,\n`, { type: 'hr' });
  assert.deepEqual(snapshot.errors.map((e) => [e.file, e.row, e.column]), [['people.csv', 2, 'last_name']]);
  assert.match(snapshot.errors[0]!.message, /1025 characters, longer than the limit of 1024 \(max_value_length/);
  assert.ok(!snapshot.errors[0]!.message.includes(long));
  assert.deepEqual(snapshot.records.map((r) => r.key), ['E2']);
  const raised = map(`${HR}E1,Ada,${long},,,,2022-01-10,,\n`, { type: 'hr', max_value_length: 2048 });
  assert.deepEqual(raised.errors, []);
});

