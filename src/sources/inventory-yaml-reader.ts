/**
 * The non-human identity inventory in YAML → SourceTable, with the line of
 * every value so errors point into the file:
 *
 * ```yaml
 * - key: svc-backup
 *   kind: service_account
 *   name: Backup runner
 *   owner: E1001
 *   systems: [ldap, github]
 *   credentials:
 *     - { system: github, kind: api_key, name: deploy-key, created: 2025-01-10, expires: 2026-01-10 }
 * ```
 *
 * The root is that list, or a map with the list under `identities:`.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type YAMLMap } from 'yaml';
import type { RowError } from './source-record.ts';
import type { SourceRow, SourceTable } from './source-table.ts';

function lineOf(node: Node | null | undefined, counter: LineCounter): number {
  return node?.range ? counter.linePos(node.range[0]).line : 0;
}

function scalarText(node: unknown): string | null {
  if (!isScalar(node)) return null;
  return node.value === null || node.value === undefined ? '' : String(node.value);
}

interface EntryResult {
  readonly row: SourceRow;
  readonly errors: readonly RowError[];
}

function readEntry(map: YAMLMap, file: string, counter: LineCounter, columns: Set<string>): EntryResult {
  const values: Record<string, string> = {};
  const lines: Record<string, number> = {};
  const errors: RowError[] = [];
  let credentials: SourceRow[] | undefined;
  for (const pair of map.items) {
    const name = scalarText(pair.key);
    if (name === null) continue;
    const value = pair.value as Node | null;
    columns.add(name);
    lines[name] = lineOf(value ?? (pair.key as Node), counter);
    const text = scalarText(value);
    if (text !== null || value === null) {
      values[name] = text ?? '';
    } else if (name === 'credentials' && isSeq(value)) {
      credentials = value.items.map((item) => {
        const line = lineOf(item as Node, counter);
        if (!isMap(item)) {
          errors.push({ file, row: line, column: name, message: 'a credential must be a map of system, kind, name, created…' });
          return { row: line, values: {} };
        }
        return readEntry(item, file, counter, new Set()).row;
      });
    } else if (isSeq(value) && value.items.every((item) => scalarText(item) !== null)) {
      // Lists of names (systems) travel as the CSV form does: ';'-separated.
      values[name] = value.items.map(scalarText).join(';');
    } else {
      errors.push({ file, row: lines[name] ?? 0, column: name, message: `${name} must be a value or a list of values` });
    }
  }
  return { row: { row: lineOf(map, counter), values, lines, ...(credentials ? { credentials } : {}) }, errors };
}

/** Parses an inventory YAML document; never throws for bad input. */
export function parseInventoryYaml(text: string, file: string): SourceTable {
  const counter = new LineCounter();
  const doc = parseDocument(text.replace(/^\uFEFF/, ''), { lineCounter: counter, prettyErrors: false });
  const base = { file, fixedColumns: false, headerRow: 0, delimiter: null } as const;
  const fail = (row: number, message: string): SourceTable => ({
    ...base,
    columns: [],
    rowsTotal: 0,
    rows: [],
    errors: [{ file, row, column: null, message }],
  });
  const syntax = doc.errors[0];
  if (syntax) return fail(counter.linePos(syntax.pos[0]).line, `invalid YAML: ${syntax.message.split('\n')[0]}`);
  if (doc.contents === null) return fail(0, 'file is empty');
  const root = isMap(doc.contents) ? doc.contents.get('identities', true) : doc.contents;
  if (!isSeq(root)) return fail(lineOf(doc.contents, counter), 'the inventory must be a list of identities (or a map with one under identities:)');
  if (root.items.length === 0) return fail(0, 'the inventory lists no identities');
  const columns = new Set<string>();
  const rows: SourceRow[] = [];
  const errors: RowError[] = [];
  for (const item of root.items) {
    if (!isMap(item)) {
      errors.push({ file, row: lineOf(item as Node, counter), column: null, message: 'an identity must be a map of key, kind, name, owner…' });
      continue;
    }
    const entry = readEntry(item, file, counter, columns);
    errors.push(...entry.errors);
    if (entry.errors.length === 0) rows.push(entry.row);
  }
  return { ...base, columns: [...columns], rowsTotal: root.items.length, rows, errors };
}
