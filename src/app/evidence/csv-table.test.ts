import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvCell, fromCsvCell, toCsv } from './csv-table.ts';

test('a cell that a spreadsheet would run as a formula is prefixed with an apostrophe', () => {
  for (const text of ['=HYPERLINK("http://x")', '+1', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd']) assert.equal(csvCell(text).slice(0, 2), `"'`, JSON.stringify(text));
  assert.equal(csvCell('plain'), '"plain"');
  assert.equal(csvCell(-5), `"'-5"`);
});

test('quotes are doubled, nulls are empty and a table has a header row and CRLF line ends', () => {
  assert.equal(toCsv(['a', 'b'], [{ a: 'say "hi"', b: null }, { a: true, b: 2 }]), '"a","b"\r\n"say ""hi""",\r\n"true","2"\r\n');
});

test('fromCsvCell undoes the formula neutralising of csvCell and leaves other text alone', () => {
  assert.equal(fromCsvCell("'=1+1"), '=1+1');
  assert.equal(fromCsvCell("'-fragile"), '-fragile');
  assert.equal(fromCsvCell("'quoted'"), "'quoted'");
  assert.equal(fromCsvCell('plain'), 'plain');
});
