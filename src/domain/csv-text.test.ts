import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvCell, csvText } from './csv-text.ts';

test('cells a spreadsheet would run as formulas are written as text', () => {
  assert.deepEqual(['=1+1', '+SUM(A1)', '-2', '@cmd', '\tx', 'plain', '1-2'].map(csvCell), ["'=1+1", "'+SUM(A1)", "'-2", "'@cmd", "'\tx", 'plain', '1-2']);
  assert.equal(csvCell(-2), '-2', 'numbers are numbers');
});

test('commas, quotes and line breaks are quoted, and a document ends every line with CRLF', () => {
  assert.equal(csvText(['a', 'b'], [['x,y', 'say "hi"\nbye'], [null, true]]), 'a,b\r\n"x,y","say ""hi""\nbye"\r\n,true\r\n');
  assert.equal(csvCell('=HYPERLINK("http://x")'), `"'=HYPERLINK(""http://x"")"`);
});
