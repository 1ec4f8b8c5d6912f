/**
 * A connector secret in memory. It prints as `[redacted]` everywhere a value
 * can leak — string conversion, JSON, util.inspect/console.log, template
 * strings — and hands out its value only through `reveal()`, so a secret can
 * only reach a wire or a cipher by someone writing that word.
 */
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The plaintext. Call it only where the secret is sent to its own host or encrypted. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/**
 * Replaces every occurrence of the given secrets in a text (an error message
 * from a peer that echoes a header, say) with `[redacted]`.
 *
 * @example
 * redactSecrets(`401 for token ${token.reveal()}`, [token]) // → '401 for token [redacted]'
 */
export function redactSecrets(text: string, secrets: readonly Secret[]): string {
  let out = text;
  for (const secret of secrets) {
    const value = secret.reveal();
    // Very short values would redact ordinary words; they are not worth protecting this way.
    if (value.length >= 4) out = out.split(value).join(REDACTED);
  }
  return out;
}
