import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsvTable } from './csv-reader.ts';
import { mapSourceTable } from './record-mapper.ts';
import { resolveSourceConfig, sourceConfigSchema, type SourceConfigInput } from './source-config.ts';
import { createMemoryDirectory } from './reference-resolver.ts';

test('a bare configuration takes the issue defaults', () => {
  const config = sourceConfigSchema.parse({ type: 'hr' });
  assert.deepEqual(
    { ...config, mapping: undefined },
    { type: 'hr', format: 'csv', delimiter: ',', encoding: 'utf-8', headerRows: 1, full_snapshot: true, max_value_length: 1024, access_ends: 'end_date', mapping: undefined },
  );
  const resolved = resolveSourceConfig(config);
  assert.deepEqual([...resolved.fields.keys()], [
    'key', 'first_name', 'last_name', 'email', 'department', 'title', 'manager', 'location', 'employment_type', 'start_date', 'end_date', 'status',
  ]);
  assert.deepEqual(resolved.fields.get('end_date')?.source, { from: 'column', column: 'end_date', format: 'iso', map: null });
  assert.equal(resolved.fields.get('manager')?.by, 'id');
});

test('a user mapping overrides a default field, and null drops one', () => {
  const resolved = resolveSourceConfig(sourceConfigSchema.parse({ type: 'vendor', mapping: { key: 'Vendor ID', company: null } }));
  assert.equal(resolved.fields.get('key')?.explicit, true);
  assert.deepEqual(resolved.fields.get('key')?.source, { from: 'column', column: 'Vendor ID', format: null, map: null });
  assert.equal(resolved.fields.has('company'), false);
  assert.deepEqual(resolved.fields.get('kind')?.source, { from: 'const', value: 'contractor' });
});

const invalid: readonly [name: string, config: unknown, path: string, message: RegExp][] = [
  ['an unknown type', { type: 'crm' }, 'type', /Invalid option/],
  ['a YAML HR file', { type: 'hr', format: 'yaml' }, 'format', /only an nhi inventory may be YAML/],
  ['a two-character delimiter', { type: 'hr', delimiter: ';;' }, 'delimiter', /1 character/],
  ['an unknown encoding', { type: 'hr', encoding: 'ebcdic' }, 'encoding', /Invalid option/],
  ['an unsupported date format', { type: 'hr', mapping: { start_date: { column: 'd', format: 'dd/mm/yy' } } }, 'mapping.start_date.format', /unsupported date format/],
  ['a format on a non-date field', { type: 'hr', mapping: { title: { column: 't', format: 'iso' } } }, 'mapping.title.format', /title is not a date field/],
  ['a reference mode on a non-reference field', { type: 'hr', mapping: { email: { column: 'e', by: 'email' } } }, 'mapping.email.by', /email does not reference an identity/],
  ['a status mapped to a non-status', { type: 'hr', mapping: { status: { column: 's', map: { X: 'gone' } } } }, 'mapping.status.map.X', /status maps to one of active, pending, suspended, terminated, from_dates, not "gone"/],
  ['a status mapped to no value', { type: 'hr', mapping: { status: { column: 's', map: { X: '' } } } }, 'mapping.status.map.X', /a status cannot be "no value"/],
  ['a status case value that is not a status', { type: 'hr', mapping: { status: { cases: [{ when: { column: 'S', eq: 'x' }, value: 'gone' }] } } }, 'mapping.status.cases.0.value', /status maps to one of/],
  ['a kind constant that is not a kind', { type: 'hr', mapping: { kind: { first_of: ['K', { const: 'robot' }] } } }, 'mapping.kind.first_of.1.const', /kind maps to one of/],
  ['from_dates on a field other than status', { type: 'hr', mapping: { title: { from_dates: true } } }, 'mapping.title.from_dates', /only status can be derived from the dates/],
  ['a format inside first_of on a non-date field', { type: 'hr', mapping: { title: { first_of: ['A', { column: 'B', format: 'iso' }] } } }, 'mapping.title.first_of.1.format', /title is not a date field/],
  ['a by on a non-reference template', { type: 'hr', mapping: { title: { template: '{A}', by: 'name' } } }, 'mapping.title.by', /title does not reference an identity/],
  ['an inventory field on an HR source', { type: 'hr', mapping: { systems: 'Systems' } }, 'mapping.systems', /systems is read only from an nhi inventory/],
  ['access_ends: last_day_worked without the field', { type: 'hr', access_ends: 'last_day_worked' }, 'access_ends', /needs a last_day_worked field/],
  ['a condition with two comparisons', { type: 'hr', mapping: { title: { cases: [{ when: { column: 'A', eq: 'x', gt: 1 }, value: 'y' }] } } }, 'mapping.title.cases.0.when', /takes exactly one of eq, ne, in, not_in, lt, le, gt, ge, empty \(found eq, gt\)/],
  ['a decimal on a text comparison', { type: 'hr', mapping: { title: { cases: [{ when: { column: 'A', eq: 'x', decimal: ',' } , value: 'y' }] } } }, 'mapping.title.cases.0.when.decimal', /decimal applies only to lt, le, gt and ge/],
  ['an unknown option', { type: 'hr', header_rows: 2 }, '', /Unrecognized key/],
  ['a delimiter on a YAML inventory', { type: 'nhi', format: 'yaml', delimiter: ';' }, 'delimiter', /delimiter and headerRows apply to CSV files only/],
];
for (const [name, config, path, message] of invalid) {
  test(`${name} is rejected at ${path || 'the top level'}`, () => {
    const result = sourceConfigSchema.safeParse(config);
    assert.equal(result.success, false);
    const issue = result.error?.issues[0];
    assert.equal(issue?.path.join('.'), path);
    assert.match(issue?.message ?? '', message);
  });
}

/**
 * Mappings for exports as the common HR systems produce them. Each is a
 * realistic starting point for a jml.config.yaml `sources:` entry.
 */
const EXPORTS: readonly { system: string; config: SourceConfigInput; csv: string; expected: readonly unknown[] }[] = [
  {
    // Active Status 0 marks both a leaver and a signed pre-hire: the dates tell them apart, never a guess.
    system: 'Workday (custom report: worker type, MM/DD/YYYY dates, manager as "Last, First", Active Status 0 for pre-hires and leavers)',
    config: {
      type: 'hr',
      mapping: {
        key: 'Employee ID', first_name: 'Legal First Name', last_name: 'Legal Last Name', email: 'Primary Work Email',
        department: 'Supervisory Organization', title: 'Business Title', location: 'Location',
        manager: { column: 'Manager', by: 'name' },
        employment_type: 'Worker Type',
        start_date: { column: 'Hire Date', format: 'MM/DD/YYYY' },
        end_date: { column: 'Termination Date', format: 'MM/DD/YYYY' },
        status: { column: 'Active Status', map: { '1': 'active', '0': 'from_dates' } },
      },
    },
    csv:
      'Employee ID,Legal First Name,Legal Last Name,Primary Work Email,Supervisory Organization,Business Title,Location,Manager,Worker Type,Hire Date,Termination Date,Active Status\n' +
      '21001,Ada,Lovelace,ada@example.com,Engineering,CTO,London,,Employee,01/10/2022,,1\n' +
      '21002,Alan,Turing,alan@example.com,Engineering,Engineer,London,"Lovelace, Ada",Contingent Worker,3/1/2023,2/29/2024,0\n' +
      '21003,Joan,Clarke,joan@example.com,Engineering,Engineer,London,"Lovelace, Ada",Employee,01/04/2027,,0\n',
    expected: [
      ['21001', 'employee', 'active', '2022-01-10', null, null, null],
      ['21002', 'contractor', 'terminated', '2023-03-01', '2024-02-29', '21001', '21001'],
      ['21003', 'employee', 'pending', '2027-01-04', null, '21001', null],
    ],
  },
  {
    system: 'BambooHR (employee #, "Reporting to" by name, employment status)',
    config: {
      type: 'hr',
      mapping: {
        key: 'Employee #', first_name: 'First Name', last_name: 'Last Name', email: 'Work Email',
        department: 'Department', title: 'Job Title', location: 'Location',
        manager: { column: 'Reporting to', by: 'name' },
        employment_type: 'Employment Status',
        start_date: { column: 'Hire Date', format: 'MM/DD/YYYY' },
        end_date: { column: 'Termination Date', format: 'MM/DD/YYYY' },
        status: 'Status',
      },
    },
    csv:
      'Employee #,First Name,Last Name,Work Email,Department,Job Title,Location,Reporting to,Employment Status,Hire Date,Termination Date,Status\n' +
      '0007,Grace,Hopper,grace@example.com,Research,Lead,Remote,"Owner, Olga",Full-Time,07/15/2021,,Active\n' +
      '0008,Carl,Contract,carl@example.com,Research,Analyst,Remote,"Hopper, Grace",Contractor,01/02/2024,12/31/2024,Inactive\n',
    expected: [
      ['0007', 'employee', 'active', '2021-07-15', null, 'E1001', null],
      ['0008', 'contractor', 'terminated', '2024-01-02', '2024-12-31', '0007', '0007'],
    ],
  },
  {
    system: 'Personio (semicolons, windows-1252, DD.MM.YYYY, manager by email, internal/external)',
    config: {
      type: 'hr',
      delimiter: ';',
      encoding: 'windows-1252',
      mapping: {
        key: 'ID', first_name: 'Vorname', last_name: 'Nachname', email: 'E-Mail', department: 'Abteilung', title: 'Position',
        manager: { column: 'Vorgesetzter', by: 'email' },
        employment_type: { column: 'Beschäftigungsart', map: { intern: 'employee', extern: 'contractor' } },
        start_date: { column: 'Eintrittsdatum', format: 'DD.MM.YYYY' },
        end_date: { column: 'Austrittsdatum', format: 'DD.MM.YYYY' },
        status: { column: 'Status', map: { onboarding: 'active', inactive: 'terminated' } },
        company: { const: 'ACME GmbH' },
      },
    },
    csv:
      'ID;Vorname;Nachname;E-Mail;Abteilung;Position;Vorgesetzter;Beschäftigungsart;Eintrittsdatum;Austrittsdatum;Status\n' +
      '12;Jürgen;Müller;jm@example.de;Vertrieb;Leitung;owner@example.com;intern;01.10.2022;;active\n' +
      '13;Zoë;Berg;zb@example.de;Vertrieb;Beraterin;JM@example.de;extern;15.01.2025;30.06.2025;onboarding\n',
    expected: [
      ['12', 'employee', 'active', '2022-10-01', null, 'E1001', null],
      ['13', 'contractor', 'active', '2025-01-15', '2025-06-30', '12', '12'],
    ],
  },
  {
    system: 'SuccessFactors (user data file: field IDs row, then labels row)',
    config: {
      type: 'hr',
      headerRows: 2,
      mapping: {
        key: 'User ID', first_name: 'First Name', last_name: 'Last Name', email: 'Email', department: 'Department',
        title: 'Title', manager: { column: 'Manager', by: 'id' },
        start_date: { column: 'Hire Date', format: 'MM/DD/YYYY' },
        status: 'Status',
      },
    },
    csv:
      'STATUS,USERID,FIRSTNAME,LASTNAME,EMAIL,DEPARTMENT,TITLE,MANAGER,HIREDATE\n' +
      'Status,User ID,First Name,Last Name,Email,Department,Title,Manager,Hire Date\n' +
      'active,sf001,Katherine,Johnson,kj@example.com,Research,Analyst,E1001,12/01/2020\n' +
      'inactive,sf002,Dorothy,Vaughan,dv@example.com,Research,Supervisor,sf001,06/15/2019\n',
    expected: [
      ['sf001', 'employee', 'active', '2020-12-01', null, 'E1001', null],
      ['sf002', 'employee', 'terminated', '2019-06-15', null, 'sf001', null],
    ],
  },
  {
    system: 'Entra ID inbound provisioning CSV (WorkerStatus 1/0 with 0 read from the dates, ISO instants in UTC)',
    config: {
      type: 'hr',
      mapping: {
        key: 'WorkerID', first_name: 'FirstName', last_name: 'LastName', display_name: 'FullName', email: 'Email',
        department: 'Department', title: 'JobTitle', manager: 'ManagerID', employment_type: 'WorkerType',
        start_date: { column: 'HireDate', format: 'iso' },
        end_date: { column: 'LeaveDate', format: 'iso' },
        status: { column: 'WorkerStatus', map: { '0': 'from_dates' } },
        cost_center: 'CostCenter',
      },
    },
    csv:
      'WorkerID,WorkerStatus,WorkerType,FirstName,LastName,FullName,Email,Department,JobTitle,ManagerID,HireDate,LeaveDate,CostCenter\n' +
      '0901,1,Employee,Joan,Clarke,Joan Clarke,joan@example.com,Crypto,Analyst,E1001,2026-11-30T23:00:00Z,,CC-100\n' +
      '0902,0,Contractor,Tommy,Flowers,Tommy Flowers,tf@example.com,Hardware,Engineer,0901,2024-03-01T08:00:00Z,2025-03-31T21:59:59Z,CC-200\n',
    expected: [
      ['0901', 'employee', 'active', '2026-12-01', null, 'E1001', null],
      ['0902', 'contractor', 'terminated', '2024-03-01', '2025-03-31', '0901', '0901'],
    ],
  },
];

describe('example mappings for common HR exports', () => {
  const directory = createMemoryDirectory([
    { key: 'E1001', attributes: { email: 'owner@example.com', first_name: 'Olga', last_name: 'Owner' } },
  ]);
  for (const example of EXPORTS) {
    test(`${example.system} maps to records`, () => {
      const config = sourceConfigSchema.parse(example.config);
      const table = parseCsvTable(example.csv, { file: 'export.csv', delimiter: config.delimiter, headerRows: config.headerRows });
      const snapshot = mapSourceTable(table, { source: 'hr', config: resolveSourceConfig(config), timezone: 'Europe/Berlin', directory, asOf: '2026-12-05' });
      assert.deepEqual(snapshot.errors, []);
      assert.deepEqual(
        snapshot.records.map((r) => [r.key, r.kind, r.status, r.startDate, r.endDate, r.attributes.manager, r.sponsor]),
        example.expected,
      );
    });
  }
});
