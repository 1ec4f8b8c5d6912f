/**
 * Writes a JSON document exactly as `JSON.stringify(value, null, 2)` would,
 * but piece by piece: a large array is written one element at a time. The
 * `--json` of an import of 100,000 rows is a 100 MB document; built as one
 * string it was the largest single allocation of the whole import.
 */

/** Arrays and objects with at least this many entries are written entry by entry. */
const STREAM_FROM = 64;

/**
 * Writes `value` to `write` in the text of `JSON.stringify(value, null, 2)`.
 * @example writeJson((s) => process.stdout.write(s), { events }) // then write('\n')
 */
export function writeJson(write: (text: string) => void, value: unknown): void {
  writeValue(write, value, '');
}

function isPlainContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  if (value === null || typeof value !== 'object') return false;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  const proto = Object.getPrototypeOf(value);
  return Array.isArray(value) || proto === Object.prototype || proto === null;
}

/** What JSON.stringify leaves out of an object (and writes as null in an array). */
function isOmitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

function writeValue(write: (text: string) => void, value: unknown, indent: string): void {
  if (!isPlainContainer(value) || (Array.isArray(value) ? value.length : Object.keys(value).length) < STREAM_FROM && !hasLargeChild(value)) {
    write(reindent(JSON.stringify(value, null, 2) ?? 'null', indent));
    return;
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    write('[');
    for (let i = 0; i < value.length; i += 1) {
      write(`${i === 0 ? '' : ','}\n${inner}`);
      writeValue(write, isOmitted(value[i]) ? null : value[i], inner);
    }
    write(`\n${indent}]`);
    return;
  }
  const entries = Object.entries(value).filter(([, v]) => !isOmitted(v));
  if (entries.length === 0) {
    write('{}');
    return;
  }
  write('{');
  entries.forEach(([key, v], i) => {
    write(`${i === 0 ? '' : ','}\n${inner}${JSON.stringify(key)}: `);
    writeValue(write, v, inner);
  });
  write(`\n${indent}}`);
}

/** Whether a container directly holds a container large enough to stream (a result object holding its events). */
function hasLargeChild(value: Record<string, unknown> | unknown[]): boolean {
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    if (isPlainContainer(child) && (Array.isArray(child) ? child.length : Object.keys(child).length) >= STREAM_FROM) return true;
  }
  return false;
}

function reindent(text: string, indent: string): string {
  return indent === '' ? text : text.replaceAll('\n', `\n${indent}`);
}
