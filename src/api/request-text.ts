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

/**
 * The first string or object key in a parsed JSON value, query or params that
 * PostgreSQL could not store, or null. Iterative, so a deeply nested body
 * cannot overflow the stack.
 * @example findUnstorableText({ name: 'a\u0000' }) // { path: 'name', message: 'contains a NUL character' }
 */
export function findUnstorableText(value: unknown): UnstorableText | null {
  const pending: { value: unknown; path: readonly string[] }[] = [{ value, path: [] }];
  while (pending.length > 0) {
    const { value: current, path } = pending.pop()!;
    if (typeof current === 'string') {
      const problem = problemOf(current);
      if (problem) return { path: path.join('.'), message: problem };
    } else if (Array.isArray(current)) {
      current.forEach((item, i) => pending.push({ value: item, path: [...path, String(i)] }));
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        const problem = problemOf(key);
        if (problem) return { path: [...path, key.replace(/[\u0000\ud800-\udfff]/g, '\ufffd')].join('.'), message: `key ${problem}` };
        pending.push({ value: item, path: [...path, key] });
      }
    }
  }
  return null;
}
