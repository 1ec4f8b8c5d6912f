import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSourceBytes, parseCsvTable } from './csv-reader.ts';

const read = (text: string, headerRows = 1, delimiter = ',') => parseCsvTable(text, { file: 'people.csv', delimiter, headerRows });

test('rows carry the line they start on, across CRLF, blank lines and multi-line values', () => {
  const table = read('id,note\r\n1,"two\r\nlines"\r\n\r\n2,plain\r\n3,"a, ""b"""\r\n');
  assert.deepEqual(table.errors, []);
  assert.deepEqual(table.columns, ['id', 'note']);
  assert.equal(table.headerRow, 1);
  assert.deepEqual(table.rows.map((r) => [r.row, r.values.id, r.values.note]), [
    [2, '1', 'two\nlines'],
    [5, '2', 'plain'],
    [6, '3', 'a, "b"'],
  ]);
  assert.equal(table.rowsTotal, 3);
});

test('with several header rows the last one names the columns', () => {
  const table = read('Employee export,,\nGenerated 2025-01-01,,\nid,first,last\n007,Ada,Lovelace\n', 3);
  assert.deepEqual(table.columns, ['id', 'first', 'last']);
  assert.equal(table.headerRow, 3);
  assert.deepEqual(table.rows.map((r) => [r.row, r.values.id]), [[4, '007']]);
});

test('a configured delimiter splits fields and a tab delimiter works too', () => {
  assert.deepEqual(read('a;b\n1;2,5\n', 1, ';').rows[0]?.values, { a: '1', b: '2,5' });
  assert.deepEqual(read('a\tb\n1\t2\n', 1, '\t').rows[0]?.values, { a: '1', b: '2' });
});

const structuralErrors: readonly [name: string, text: string, headerRows: number, row: number, column: string | null, message: RegExp][] = [
  ['an empty file', '', 1, 0, null, /^file is empty$/],
  ['a file of blank lines', '\n\r\n  \n', 1, 0, null, /^file is empty$/],
  ['a header-only file', 'id,name\n', 1, 0, null, /header but no data rows/],
  ['fewer rows than header rows', 'title\nid,name\n', 3, 0, null, /2 row\(s\) but 3 header row\(s\)/],
  ['a duplicate header name', 'id,name,name\n1,a,b\n', 1, 1, 'name', /duplicate column name "name"/],
  ['a short last row (truncated file)', 'id,name,email\n1,a,a@x.io\n2,b', 1, 3, null, /row has 2 field\(s\), the header has 3 — is the file truncated/],
  ['a row with too many fields', 'id,name\n1,Smith, John\n', 1, 2, null, /row has 3 field\(s\), the header has 2 — is there an unquoted ","/],
  ['a quote never closed', 'id,name,city\n1,a,x\n2,"b,y\n3,c,z\n', 1, 3, 'name', /a quote opened on row 3 is never closed/],
  ['a quote never closed after a multi-line value', 'id,name,city\n1,"a\nb",x\n2,b,"y\n3,c,z\n', 1, 4, 'city', /a quote opened on row 4 is never closed/],
  ['text after a closing quote', 'id,name\n1,"a"b\n', 1, 2, 'name', /text follows a closing quote/],
];

for (const [name, text, headerRows, row, column, message] of structuralErrors) {
  test(`${name} is reported at row ${row}`, () => {
    const table = read(text, headerRows);
    const [error, ...rest] = table.errors;
    assert.deepEqual(rest, []);
    assert.equal(error?.file, 'people.csv');
    assert.equal(error?.row, row);
    assert.equal(error?.column, column);
    assert.match(error?.message ?? '', message);
  });
}

test('every malformed row of a file is reported, not only the first, and the well-formed rows are kept', () => {
  const table = read('id,name,city\n1,"a"b,x\n2,b,y\n3,Robert "Bob" Smith,z\n4,d\n5,e,f,g\n6,"f"g,w\n7,g,v\n');
  assert.deepEqual(table.errors.map((e) => [e.row, e.column, e.message.slice(0, 40)]), [
    [2, 'name', 'unbalanced quotes: text follows a closin'],
    [4, 'name', 'a quote inside an unquoted value: quote '],
    [5, null, 'row has 2 field(s), the header has 3 — i'],
    [6, null, 'row has 4 field(s), the header has 3 — i'],
    [7, 'name', 'unbalanced quotes: text follows a closin'],
  ]);
  assert.deepEqual(table.rows.map((r) => r.values.id), ['2', '7']);
  assert.equal(table.rowsTotal, 7);
});

test('a malformed row is left out while the other rows are kept', () => {
  const table = read('id,name\n1,a\n2\n3,c\n');
  assert.deepEqual(table.rows.map((r) => r.values.id), ['1', '3']);
  assert.equal(table.rowsTotal, 3);
});

test('decoding honours the configured encoding and rejects invalid UTF-8', () => {
  const latin1 = Buffer.from('Müller', 'latin1');
  assert.deepEqual(decodeSourceBytes(latin1, 'latin1'), { text: 'Müller' });
  assert.deepEqual(decodeSourceBytes(latin1, 'windows-1252'), { text: 'Müller' });
  assert.match((decodeSourceBytes(latin1, 'utf-8') as { error: string }).error, /not valid UTF-8/);
  assert.deepEqual(decodeSourceBytes(Buffer.from('\uFEFFid', 'utf8'), 'utf-8'), { text: 'id' });
  assert.deepEqual(decodeSourceBytes(Buffer.from('\uFEFFid', 'utf16le'), 'utf-16le'), { text: 'id' });
});

test('a quote inside an unquoted value is an error naming its row and column', () => {
  const [error, ...rest] = read('id,name,city\n1,a,x\n2,Robert "Bob" Smith,y\n').errors;
  assert.deepEqual(rest, []);
  assert.deepEqual([error?.row, error?.column], [3, 'name']);
  assert.match(error?.message ?? '', /quote inside an unquoted value/);
});
