import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvCell, csvText, fromCsvCell, toCsv } from './csv-text.ts';

test('cells a spreadsheet would run as formulas are written as text', () => {
  assert.deepEqual(['=1+1', '+SUM(A1)', '-2', '@cmd', '\tx', 'plain', '1-2'].map(csvCell), ["'=1+1", "'+SUM(A1)", "'-2", "'@cmd", "'\tx", 'plain', '1-2']);
  assert.equal(csvCell(-2), '-2', 'numbers are numbers');
});

test('commas, quotes and line breaks are quoted, and a document ends every line with CRLF', () => {
  assert.equal(csvText(['a', 'b'], [['x,y', 'say "hi"\nbye'], [null, true]]), 'a,b\r\n"x,y","say ""hi""\nbye"\r\n,true\r\n');
  assert.equal(csvCell('=HYPERLINK("http://x")'), `"'=HYPERLINK(""http://x"")"`);
});

test('dates are ISO instants, objects JSON, and a table from records follows its columns', () => {
  assert.equal(csvCell(new Date('2026-12-05T10:00:00Z')), '2026-12-05T10:00:00.000Z');
  assert.equal(csvCell({ a: 1 }), '"{""a"":1}"');
  assert.equal(toCsv(['a', 'b'], [{ b: 2, a: '=x' }, { a: null, b: true }]), "a,b\r\n'=x,2\r\n,true\r\n");
});

test('fromCsvCell undoes the formula neutralising of csvCell and leaves other text alone', () => {
  for (const text of ['=1+1', '-fragile', '@SUM(A1)']) assert.equal(fromCsvCell(csvCell(text)), text);
  assert.equal(fromCsvCell("'quoted'"), "'quoted'");
  assert.equal(fromCsvCell('plain'), 'plain');
});
