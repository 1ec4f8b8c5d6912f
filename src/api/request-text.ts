/**
 * Text PostgreSQL cannot store. A NUL character is refused by `text` and
 * `jsonb`, and a lone UTF-16 surrogate (valid in a JS string and in JSON's
 * `\ud800`, but not Unicode) by `jsonb`; either reached the driver as a 500.
 * Every request part is checked once, before its schema, so no route can
 * forget it.
 */

export interface UnstorableText {
  /** Where it is, as `field.0.name` (an object key is reported by its own path). */
  readonly path: string;
  readonly message: string;
}

function problemOf(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character';
  if (!text.isWellFormed()) return 'is not well-formed Unicode (lone surrogate)';
  return null;
}

/** A container being walked: its keys (null for an array), the next position, and how it was reached. */
interface Frame {
  readonly container: readonly unknown[] | Readonly<Record<string, unknown>>;
  readonly keys: readonly string[] | null;
  index: number;
  readonly key: string;
}

/**
 * The first string or object key in a parsed JSON value, query or params that
 * PostgreSQL could not store, or null. Depth-first with an explicit stack, so
 * memory grows with the nesting depth only (a 20 MB array of empty arrays
 * costs nothing extra) and deep nesting cannot overflow the call stack.
 * @example findUnstorableText({ name: 'a\u0000' }) // { path: 'name', message: 'contains a NUL character' }
 */
export function findUnstorableText(value: unknown): UnstorableText | null {
  if (typeof value === 'string') {
    const problem = problemOf(value);
    return problem ? { path: '', message: problem } : null;
  }
  const stack: Frame[] = [];
  const enter = (container: unknown, key: string) => {
    if (Array.isArray(container)) stack.push({ container, keys: null, index: 0, key });
    else if (container !== null && typeof container === 'object') stack.push({ container: container as Record<string, unknown>, keys: Object.keys(container), index: 0, key });
  };
  const pathTo = (last: string) => [...stack.slice(1).map((f) => f.key), last].join('.');
  enter(value, '');
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const size = frame.keys ? frame.keys.length : (frame.container as readonly unknown[]).length;
    if (frame.index >= size) {
      stack.pop();
      continue;
    }
    const key = frame.keys ? frame.keys[frame.index]! : String(frame.index);
    frame.index += 1;
    if (frame.keys) {
      const problem = problemOf(key);
      if (problem) return { path: pathTo(key.replace(/[\u0000\ud800-\udfff]/g, '\ufffd')), message: `key ${problem}` };
    }
    const item = frame.keys ? (frame.container as Readonly<Record<string, unknown>>)[key] : (frame.container as readonly unknown[])[frame.index - 1];
    if (typeof item === 'string') {
      const problem = problemOf(item);
      if (problem) return { path: pathTo(key), message: problem };
    } else {
      enter(item, key);
    }
  }
  return null;
}
