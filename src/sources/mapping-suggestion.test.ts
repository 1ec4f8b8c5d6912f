import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { suggestSourceMapping } from './mapping-suggestion.ts';
import { parseCsvTable } from './csv-reader.ts';
import { mapSourceTable } from './record-mapper.ts';
import { resolveSourceConfig, sourceConfigSchema } from './source-config.ts';
import { EMPTY_DIRECTORY } from './reference-resolver.ts';

const BAMBOO =
  'Employee #,First Name,Last Name,Work Email,Department,Job Title,Reporting to,Employment Status,Hire Date,Termination Date,Status,Shirt Size\n' +
  '0007,Grace,Hopper,grace@example.com,Research,Lead,,Full-Time,07/15/2021,,Active,M\n' +
  '0008,Carl,Contract,carl@example.com,Research,Analyst,"Hopper, Grace",Full-Time,01/02/2024,12/31/2024,Inactive,L\n';

test('a suggested mapping is valid configuration and maps the file it was drafted from', () => {
  const draft = suggestSourceMapping(Buffer.from(BAMBOO), 'bamboo.csv', 'hr');
  assert.match(draft, /Looks like a BambooHR export: see examples\/sources\/bamboohr\//);
  assert.match(draft, /start_date: \{ column: Hire Date, format: "MM\/DD\/YYYY" \}\n/);
  assert.match(draft, /manager: \{ column: Reporting to, by: name \}/);
  assert.match(draft, /not mapped \(add as attributes if jml needs them\): Shirt Size/);
  const config = sourceConfigSchema.parse(parse(draft).sources.hr);
  const table = parseCsvTable(BAMBOO, { file: 'bamboo.csv', delimiter: config.delimiter, headerRows: config.headerRows });
  const snapshot = mapSourceTable(table, { source: 'hr', config: resolveSourceConfig(config), timezone: 'UTC', directory: EMPTY_DIRECTORY, asOf: '2026-12-05' });
  assert.deepEqual(snapshot.errors, []);
  assert.deepEqual(snapshot.records.map((r) => [r.key, r.status, r.startDate, r.endDate, r.attributes.manager]), [
    ['0007', 'active', '2021-07-15', null, null],
    ['0008', 'terminated', '2024-01-02', '2024-12-31', '0007'],
  ]);
});

test('a date format the sample cannot decide, a status nobody maps, encoding and delimiter are said, not guessed', () => {
  const csv = 'Personalnummer;Vorname;Nachname;Eintritt;Status\n1;Jürgen;Müller;01.02.2024;0\n2;Zoë;Berg;03.04.2024;Aktiv\n';
  const draft = suggestSourceMapping(Buffer.from(csv, 'latin1'), 'personio.csv', 'hr');
  assert.match(draft, /encoding: windows-1252/);
  assert.match(draft, /delimiter: ";"/);
  assert.match(draft, /status: Status {3}# map these: 0, Aktiv \(to active, pending, suspended, terminated or from_dates\)/);
  const us = suggestSourceMapping(Buffer.from('id,first_name,last_name,start_date\n1,A,B,01/02/2024\n'), 'us.csv', 'hr');
  assert.match(us, /start_date: \{ column: start_date, format: "MM\/DD\/YYYY" \} {3}# ambiguous: MM\/DD\/YYYY and DD\/MM\/YYYY both read every value — check/);
});
