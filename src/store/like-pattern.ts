/**
 * LIKE / ILIKE patterns from user text: the text's own `%`, `_` and `\` are
 * matched literally (PostgreSQL's default escape character is `\`).
 */

/** The text with LIKE's wildcards and escape character escaped. @example escapeLike('50%_off') // '50\\%\\_off' */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A pattern matching values that contain `text` anywhere. @example q.where('name', 'ilike', containing('ann')) */
export function containing(text: string): string {
  return `%${escapeLike(text)}%`;
}
