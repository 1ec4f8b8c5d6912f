/**
 * Passwords jml makes for accounts in other systems: a new account's first
 * password, a rehire's new one, and the unknowable value a disabled account's
 * password is replaced with. One generator, so every one of them meets the
 * same rules.
 */
import { randomInt } from 'node:crypto';

// No look-alikes (0/O, 1/l/I): a person may have to type it once.
const LOWER = 'abcdefghjkmnpqrstuvwxyz';
const UPPER = 'ABCDEFGHJKMNPQRSTUVWXYZ';
const DIGITS = '23456789';
const SYMBOLS = '-_.!';

/**
 * 20 random characters (~114 bits) with at least one lower-case letter, one
 * upper-case letter, one digit and one symbol, so Active Directory's default
 * complexity rules and most password policies accept it.
 *
 * @example
 * newAccountPassword() // → 'kP7-xQm2.tRz9Wb4nHcE' (different every time)
 */
export function newAccountPassword(): string {
  const all = LOWER + UPPER + DIGITS + SYMBOLS;
  const chars = [LOWER, UPPER, DIGITS, SYMBOLS].map((set) => set[randomInt(set.length)]!);
  while (chars.length < 20) chars.push(all[randomInt(all.length)]!);
  // Fisher–Yates, so the guaranteed characters are not always first.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
