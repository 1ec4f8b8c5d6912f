/**
 * The version of jml that is running, from its package.json: one place for
 * `jml --version`, backup manifests and anything else that names a release.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

let cached: string | null = null;

/** The running jml's semantic version, e.g. `0.2.0`. The same file is two levels up from src/app/ and dist/app/. */
export function jmlVersion(): string {
  cached ??= (JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version;
  return cached;
}
