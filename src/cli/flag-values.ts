/**
 * Numbers given on the command line, checked before anything runs: a flag
 * that is not one is invalid input (exit 2) naming the flag and what it got.
 */
import { JmlError } from '../domain/errors.ts';

/**
 * @example
 * positiveInteger('--batch', '200'); // 200
 * positiveInteger('--batch', 'abc'); // throws: --batch must be a whole number of at least 1, not "abc"
 */
export function positiveInteger(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1) throw new JmlError('invalid_input', `${flag} must be a whole number of at least 1, not "${value}"`);
  return n;
}
