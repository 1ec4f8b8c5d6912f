import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsvTable } from './csv-reader.ts';
import { mapSourceTable } from './record-mapper.ts';
import { resolveSourceConfig, sourceConfigSchema, type SourceConfigInput } from './source-config.ts';
import { createMemoryDirectory, EMPTY_DIRECTORY } from './reference-resolver.ts';
import type { IdentityDirectory } from './source-record.ts';
import { parseLocaleNumber } from './case-condition.ts';

const AS_OF = '2026-12-05';

function map(csv: string, config: SourceConfigInput, directory: IdentityDirectory = EMPTY_DIRECTORY) {
  const parsed = sourceConfigSchema.parse(config);
  const table = parseCsvTable(csv, { file: 'export.csv', delimiter: parsed.delimiter, headerRows: parsed.headerRows });
  return mapSourceTable(table, { source: parsed.type, config: resolveSourceConfig(parsed), timezone: 'Europe/Berlin', directory, asOf: AS_OF });
}

const PEOPLE = { key: 'ID', first_name: 'First', last_name: 'Last', start_date: 'Start' } as const;

describe('status', () => {
  test('from_dates makes a row pending before its start, terminated after its end and active between', () => {
    const snapshot = map('ID,First,Last,Start,End\nF1,A,A,2027-01-04,\nF2,B,B,2020-01-01,2026-12-04\nF3,C,C,2020-01-01,2026-12-05\nF4,D,D,2020-01-01,\n', {
      type: 'hr',
      mapping: { ...PEOPLE, end_date: 'End', status: { from_dates: true } },
    });
    assert.deepEqual(snapshot.errors, []);
    assert.deepEqual(snapshot.records.map((r) => [r.key, r.status]), [['F1', 'pending'], ['F2', 'terminated'], ['F3', 'active'], ['F4', 'active']]);
  });

  test('pre-hire words read as pending by default, and a status nobody mapped is a row error naming the value', () => {
    const snapshot = map('ID,First,Last,Start,Status\nP1,A,A,2027-01-04,Pre-Hire\nP2,B,B,2027-01-04,Offer Accepted\nP3,C,C,2027-01-04,hired\nP4,D,D,2020-01-01,Retired\n', {
      type: 'hr',
      mapping: { ...PEOPLE, status: 'Status' },
    });
    assert.deepEqual(snapshot.records.map((r) => [r.key, r.status]), [['P1', 'pending'], ['P2', 'pending'], ['P3', 'pending']]);
    assert.deepEqual(snapshot.errors.map((e) => [e.row, e.column, e.message]), [[5, 'Status', 'unknown status "Retired": add it to mapping.status.map (as active, pending, suspended, terminated or from_dates)']]);
    assert.deepEqual(snapshot.invalidKeys, ['P4'], 'the row is still in the file: never a leaver');
  });
});

describe('first_of and templates with a format', () => {
  test('first_of takes the first part with a value, each part read with its own date format', () => {
    const snapshot = map('ID,First,Last,Start,Contract End Date,Termination Date\nC1,A,A,2024-01-01,31/12/2026,\nC2,B,B,2024-01-01,,2026-06-30\nC3,C,C,2024-01-01,,\n', {
      type: 'hr',
      mapping: {
        ...PEOPLE,
        end_date: { first_of: [{ column: 'Contract End Date', format: 'DD/MM/YYYY' }, { column: 'Termination Date', format: 'iso' }] },
      },
    });
    assert.deepEqual(snapshot.errors, []);
    assert.deepEqual(snapshot.records.map((r) => [r.key, r.endDate]), [['C1', '2026-12-31'], ['C2', '2026-06-30'], ['C3', null]]);
  });

  test('a part mapped to no value falls through to the next part', () => {
    const snapshot = map('ID,First,Last,Start,Contract End,Fixed Term End\nC1,A,A,2024-01-01,31.12.9999,30.06.2027\n', {
      type: 'hr',
      mapping: {
        ...PEOPLE,
        end_date: { first_of: [{ column: 'Contract End', format: 'DD.MM.YYYY', map: { '31.12.9999': '' } }, { column: 'Fixed Term End', format: 'DD.MM.YYYY' }] },
      },
    });
    assert.deepEqual(snapshot.records.map((r) => r.endDate), ['2027-06-30']);
  });

  test('a date template is read with its format, and a wrong one names the value and the format', () => {
    const csv = 'ID,First,Last,Year,Month,Day\nT1,A,A,2025,3,7\nT2,B,B,2025,13,1\n';
    const snapshot = map(csv, { type: 'hr', mapping: { ...PEOPLE, start_date: { template: '{Year}-{Month}-{Day}', format: 'YYYY-MM-DD' } } });
    assert.deepEqual(snapshot.records.map((r) => [r.key, r.startDate]), [['T1', '2025-03-07']]);
    assert.deepEqual(snapshot.errors.map((e) => [e.row, e.column, e.message]), [[3, 'Year', 'invalid date "2025-13-1" for format YYYY-MM-DD']]);
  });
});

describe('references', () => {
  const HEADER = 'ID,First,Last,Display,Email,Manager\n';
  const config = (by: string): SourceConfigInput => ({
    type: 'hr',
    mapping: { key: 'ID', first_name: 'First', last_name: 'Last', display_name: 'Display', email: 'Email', start_date: { const: '2020-01-01' }, manager: { column: 'Manager', by: by as 'id' } },
  });
  const directory = createMemoryDirectory([{ key: 'X9', attributes: { first_name: 'Olga', last_name: 'Owner', display_name: 'Olga O.', email: 'olga@example.com' } }]);

  const cases: readonly [by: string, value: string, expected: string][] = [
    ['name', 'Lovelace, Ada', 'M1'],
    ['name', 'ada  LOVELACE', 'M1'],
    ['name', 'Anna Maria Schmidt', 'M2'],
    ['name', 'Owner, Olga', 'X9'],
    ['name', 'Olga Owner', 'X9'],
    ['display_name', 'The Countess', 'M1'],
    ['display_name', 'olga o.', 'X9'],
    ['email', 'ADA@example.com', 'M1'],
    ['auto', 'M2', 'M2'],
    ['auto', 'ada@example.com', 'M1'],
    ['auto', 'Schmidt, Anna Maria', 'M2'],
    ['auto', 'The Countess', 'M1'],
  ];
  for (const [by, value, expected] of cases) {
    test(`by ${by}, "${value}" resolves to ${expected}`, () => {
      const csv = HEADER + 'M1,Ada,Lovelace,The Countess,ada@example.com,\nM2,Anna Maria,Schmidt,,anna@example.com,\n' + `R1,Rae,Report,,rae@example.com,"${value}"\n`;
      const snapshot = map(csv, config(by), directory);
      assert.deepEqual(snapshot.errors, []);
      assert.equal(snapshot.records.find((r) => r.key === 'R1')?.attributes.manager, expected);
    });
  }

  test('a name two people share is an error on the row listing both candidates', () => {
    const csv = HEADER + 'M1,John,Smith,,j1@example.com,\nM2,John,Smith,,j2@example.com,\nR1,Rae,Report,,rae@example.com,John Smith\n';
    const snapshot = map(csv, config('name'));
    assert.deepEqual(snapshot.errors.map((e) => [e.row, e.column, e.message]), [
      [4, 'Manager', 'manager "John Smith" is ambiguous: by name it matches M1, M2 — reference them by id or email instead'],
    ]);
  });

  test('an unknown reference names the value and how it was looked up', () => {
    const snapshot = map(HEADER + 'R1,Rae,Report,,rae@example.com,Nobody Here\n', config('auto'));
    assert.deepEqual(snapshot.errors.map((e) => [e.column, e.message]), [
      ['Manager', 'unknown manager "Nobody Here": not in this file nor among existing identities (looked up by id, email, name or display name)'],
    ]);
  });

  test('a sentinel mapped to no value leaves the reference empty instead of failing it', () => {
    const csv = 'USERID,FIRSTNAME,LASTNAME,MANAGER,HIREDATE\nsf1,Ada,Lovelace,NO_MANAGER,2020-01-01\nsf2,Alan,Turing,sf1,2020-01-01\n';
    const snapshot = map(csv, {
      type: 'hr',
      mapping: { key: 'USERID', first_name: 'FIRSTNAME', last_name: 'LASTNAME', start_date: 'HIREDATE', manager: { column: 'MANAGER', by: 'id', map: { NO_MANAGER: '' } } },
    });
    assert.deepEqual(snapshot.errors, []);
    assert.deepEqual(snapshot.records.map((r) => [r.key, r.attributes.manager]), [['sf1', null], ['sf2', 'sf1']]);
  });

  test('a contractor without a sponsor names the columns it expected one in', () => {
    const vendor = 'contractor_id,first_name,last_name,company,sponsor_id,start_date,contract_end,status\nC1,Carl,Contract,ACME,,2024-01-01,2026-12-31,active\n';
    const snapshot = map(vendor, { type: 'vendor' });
    assert.deepEqual(snapshot.errors.map((e) => [e.column, e.message]), [['sponsor_id', 'a contractor needs a sponsor: sponsor (column sponsor_id) is empty on this row']]);
  });
});

describe('cases', () => {
  const HEADER = 'ID,First,Last,Start,Worker_Type,Time_Type,Weekly Hours,Contract Type\n';
  const config: SourceConfigInput = {
    type: 'hr',
    mapping: {
      ...PEOPLE,
      employment_type: {
        cases: [
          { when: { column: 'Contract Type', in: ['Intern', 'Praktikum'] }, value: 'intern' },
          { when: { all: [{ column: 'Worker_Type', eq: 'employee' }, { column: 'Time_Type', eq: 'Part_Time' }] }, value: 'part_time' },
          { when: { column: 'Weekly Hours', lt: 30, decimal: ',' }, value: 'part_time' },
          { when: { any: [{ column: 'Worker_Type', eq: 'Contingent Worker' }, { column: 'Worker_Type', eq: 'Contractor' }] }, value: 'contractor' },
          { when: { not: { column: 'Time_Type', empty: true } }, value: { template: '{Worker_Type} {Time_Type}' } },
        ],
        default: 'full_time',
      },
      kind: { cases: [{ when: { column: 'Worker_Type', in: ['Contingent Worker', 'Contractor'] }, value: 'contractor' }], default: 'employee' },
      sponsor: { cases: [{ when: { column: 'Worker_Type', eq: 'Contractor' }, value: { const: 'W1' } }] },
    },
  };

  test('the first case whose condition holds gives the value; numbers are read with a decimal comma', () => {
    const snapshot = map(
      HEADER +
        'W1,A,A,2020-01-01,Employee,Full_Time,40,Permanent\n' +
        'W2,B,B,2020-01-01,Employee,Part_Time,20,Permanent\n' +
        'W3,C,C,2020-01-01,Employee,,"29,5",Permanent\n' +
        'W4,D,D,2020-01-01,Employee,,"37,5",Praktikum\n' +
        'W5,E,E,2020-01-01,Contractor,,"1.040,0",\n' +
        'W6,F,F,2020-01-01,Employee,,"30,0",\n',
      config,
    );
    assert.deepEqual(snapshot.errors, []);
    assert.deepEqual(snapshot.records.map((r) => [r.key, r.attributes.employment_type, r.kind, r.sponsor]), [
      ['W1', 'Employee Full_Time', 'employee', null],
      ['W2', 'part_time', 'employee', null],
      ['W3', 'part_time', 'employee', null],
      ['W4', 'intern', 'employee', null],
      ['W5', 'contractor', 'contractor', 'W1'],
      ['W6', 'full_time', 'employee', null],
    ]);
  });

  test('a number comparison on text that is not a number is a row error naming the column and the value', () => {
    const snapshot = map(HEADER + 'W1,A,A,2020-01-01,Employee,,forty,\n', config);
    assert.deepEqual(snapshot.errors.map((e) => [e.row, e.column, e.message]), [[2, 'Weekly Hours', 'employment_type: "forty" is not a number (decimal separator ",")']]);
    assert.deepEqual(snapshot.records, []);
  });

  test('locale numbers: thousands separators are tolerated, text is not a number', () => {
    assert.deepEqual(
      ['37,5', '1.234,5', '1 234,5', "1'234,5", '37.5', 'abc', '1,2,3', ''].map((v) => parseLocaleNumber(v, ',')),
      [37.5, 1234.5, 1234.5, 1234.5, null, null, null, null],
    );
    assert.deepEqual(['37.5', '1,234.5', '-2'].map((v) => parseLocaleNumber(v, '.')), [37.5, 1234.5, -2]);
  });
});

describe('value maps on every field', () => {
  test('a value map applies to a plain attribute, a key and an end date', () => {
    const snapshot = map('ID,First,Last,Start,End,Dept\nx-1,A,A,2020-01-01,9999-12-31,ENG\n', {
      type: 'hr',
      mapping: { ...PEOPLE, key: { column: 'ID', map: { 'x-1': 'X1' } }, end_date: { column: 'End', map: { '9999-12-31': '' } }, department: { column: 'Dept', map: { ENG: 'Engineering' } } },
    });
    assert.deepEqual(snapshot.errors, []);
    assert.deepEqual(snapshot.records.map((r) => [r.key, r.endDate, r.attributes.department]), [['X1', null, 'Engineering']]);
  });
});

describe('garden leave', () => {
  const config = (accessEnds: 'end_date' | 'last_day_worked'): SourceConfigInput => ({
    type: 'hr',
    access_ends: accessEnds,
    mapping: { ...PEOPLE, end_date: 'Termination', last_day_worked: 'Last Day' },
  });
  const CSV = 'ID,First,Last,Start,Termination,Last Day\nG1,A,A,2020-01-01,2027-03-31,2026-12-31\nG2,B,B,2020-01-01,2027-03-31,\n';

  test('by default the end date is the termination date and the last day worked is kept beside it', () => {
    const snapshot = map(CSV, config('end_date'));
    assert.deepEqual(snapshot.records.map((r) => [r.key, r.endDate, r.attributes.last_day_worked, r.attributes.termination_date]), [
      ['G1', '2027-03-31', '2026-12-31', undefined],
      ['G2', '2027-03-31', null, undefined],
    ]);
  });

  test('access_ends: last_day_worked ends access after the last day worked and keeps the termination date', () => {
    const snapshot = map(CSV, config('last_day_worked'));
    assert.deepEqual(snapshot.records.map((r) => [r.key, r.endDate, r.attributes.last_day_worked, r.attributes.termination_date]), [
      ['G1', '2026-12-31', '2026-12-31', '2027-03-31'],
      ['G2', '2027-03-31', null, undefined],
    ]);
  });

  test('a last day worked after the termination date is a row error', () => {
    const snapshot = map('ID,First,Last,Start,Termination,Last Day\nG1,A,A,2020-01-01,2026-03-31,2026-04-30\n', config('end_date'));
    assert.deepEqual(snapshot.errors.map((e) => [e.column, e.message]), [['Last Day', 'last day worked 2026-04-30 is after the termination date 2026-03-31']]);
  });
});

describe('values no database can store', () => {
  for (const [name, value] of [['a NUL byte', 'Ada\u0000'], ['a lone surrogate', 'Ada\uD800']] as const) {
    test(`${name} in a value is a row error naming the column, and the key still marks the row as present`, () => {
      const snapshot = map(`ID,First,Last,Start\nN1,${value},Lovelace,2020-01-01\nN2,Alan,Turing,2020-01-01\n`, { type: 'hr', mapping: PEOPLE });
      assert.deepEqual(snapshot.errors.map((e) => [e.row, e.column, e.message]), [
        [2, 'First', 'value holds a NUL byte or a broken UTF-16 character: is the file binary, or exported in another encoding?'],
      ]);
      assert.deepEqual(snapshot.records.map((r) => r.key), ['N2']);
      assert.deepEqual(snapshot.invalidKeys, ['N1']);
    });
  }
});
