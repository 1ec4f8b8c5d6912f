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
  for (const piece of jsonPieces(value)) write(piece);
}

/**
 * The text of `JSON.stringify(value, null, 2)` as pieces, made as they are
 * asked for: a writer that waits for its reader (a pipe) between pieces never
 * holds more than a piece of the document.
 * @example for (const piece of jsonPieces(result)) await write(piece)
 */
export function jsonPieces(value: unknown): Generator<string, void, undefined> {
  return pieces(value, '');
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

function* pieces(value: unknown, indent: string): Generator<string, void, undefined> {
  if (!isPlainContainer(value) || !holdsLarge(value)) {
    yield indentedText(value, indent);
    return;
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    yield '[';
    for (let i = 0; i < value.length; i += 1) {
      yield `${i === 0 ? '' : ','}\n${inner}`;
      yield* pieces(isOmitted(value[i]) ? null : value[i], inner);
    }
    yield `\n${indent}]`;
    return;
  }
  const entries = Object.entries(value).filter(([, v]) => !isOmitted(v));
  if (entries.length === 0) {
    yield '{}';
    return;
  }
  yield '{';
  for (let i = 0; i < entries.length; i += 1) {
    const [key, v] = entries[i]!;
    yield `${i === 0 ? '' : ','}\n${inner}${JSON.stringify(key)}: `;
    yield* pieces(v, inner);
  }
  yield `\n${indent}}`;
}

/**
 * Whether a container is large enough to stream, or holds one at any depth (a
 * result holding its events; the plan file holding the plan holding its changes:
 * written as one string, 500,000 people's plan was a 160 MB string, the command's
 * peak memory). A small container is looked through once more than it is written.
 */
function holdsLarge(value: Record<string, unknown> | unknown[]): boolean {
  if (Array.isArray(value)) {
    if (value.length >= STREAM_FROM) return true;
    for (const child of value) if (isPlainContainer(child) && holdsLarge(child)) return true;
    return false;
  }
  // Walked without listing the members first (an import's 100,000 events are each looked through).
  let members = 0;
  for (const key in value) {
    members += 1;
    if (members >= STREAM_FROM) return true;
    const child = value[key];
    if (isPlainContainer(child) && holdsLarge(child)) return true;
  }
  return false;
}

/**
 * `JSON.stringify(value, null, 2)` as it reads `indent` deep in the document. Written inside as many
 * arrays as it is levels deep, whose brackets are cut off again, the engine indents it itself: the pieces
 * of an import's 100,000 events took 390-480 ms so, against 620-860 ms re-indenting each element's text.
 */
function indentedText(value: unknown, indent: string): string {
  if (indent === '' || value === null || typeof value !== 'object') return JSON.stringify(value, null, 2) ?? 'null';
  const depth = indent.length / 2;
  let wrapped: unknown = value;
  for (let d = 0; d < depth; d += 1) wrapped = [wrapped];
  const text = JSON.stringify(wrapped, null, 2);
  // Each level opens with `[`, a newline and its indent, and closes with a newline, its indent and `]`.
  return text.slice(depth * (depth + 3), text.length - depth * (depth + 1));
}
