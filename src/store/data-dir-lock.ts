/**
 * PGlite is a single-process database: a second process that opens the same data
 * directory silently loses its writes. The lock turns that into a clear error.
 */
import { chmodSync } from 'node:fs';
import lockfile from 'proper-lockfile';
import { JmlError } from '../domain/errors.ts';

export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  try {
    // `stale`: a lock not refreshed for this long belongs to a dead process (kill -9) and may be taken over.
    const release = await lockfile.lock(dir, { lockfilePath: `${dir}/.lock`, stale: 10_000, update: 2_000, realpath: false });
    // The lock is a directory made under the umask; like everything in the data directory it is private.
    chmodSync(`${dir}/.lock`, 0o700);
    return release;
  } catch (cause) {
    if ((cause as { code?: string }).code === 'ELOCKED') {
      throw new JmlError(
        'locked',
        `the data directory ${dir} is in use by another jml process; stop it first, or use a PostgreSQL server (DATABASE_URL) to run several processes`,
        { cause, details: { dataDir: dir } },
      );
    }
    throw new JmlError('internal', `cannot lock the data directory ${dir}: ${(cause as Error).message}`, { cause });
  }
}
