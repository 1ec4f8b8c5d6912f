/**
 * The embedded database's files hold password, session and token hashes and
 * personal data, so only the user running jml may reach them: the data
 * directory is 0700, everything PGlite keeps in it 0700 (directories) and 0600
 * (files). PGlite's WASM file system creates files 0666 whatever the umask
 * (measured: 969 of 1,161 files after initdb, umask 022 or 077 alike), so the
 * modes are set after it opens and again after it closes; the 0700 directory
 * is what keeps others out in between.
 *
 * Refused rather than repaired: a data directory (or a directory of the
 * database inside it) that another user owns or that group or others may
 * write to. Someone else may
 * already have changed what is in it; a person should look before jml trusts
 * it again. A directory jml made before this rule (0755, files 0666) is only
 * readable by others, so it is tightened in place.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, type Stats } from 'node:fs';
import path from 'node:path';
import { JmlError } from '../domain/errors.ts';

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

function refuse(dir: string, problem: string, fix: string): never {
  throw new JmlError('unsafe_permissions', `the data directory ${dir} ${problem}; jml will not use it until it is private to the user running jml. ${fix}`, { details: { dataDir: dir } });
}

function checkDirectory(dir: string, stats: Stats, root: string): void {
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) refuse(root, `${dir === root ? 'is' : `holds ${dir}, which is`} owned by uid ${stats.uid}, not by the user running jml (uid ${uid})`, `Run jml as its owner, or check its contents and chown -R it.`);
  if ((stats.mode & 0o022) !== 0) {
    const mode = (stats.mode & 0o777).toString(8);
    refuse(root, `${dir === root ? 'is' : `holds ${dir}, which is`} writable by ${stats.mode & 0o002 ? 'every user' : 'its group'} (mode ${mode})`, `Check that nobody changed its contents, then: chmod -R go-rwx ${root}`);
  }
}

/** Every entry below `dir` (not following symbolic links), directories before their contents. */
function* walk(dir: string): Generator<{ readonly file: string; readonly stats: Stats }> {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const stats = lstatSync(file);
    yield { file, stats };
    if (stats.isDirectory()) yield* walk(file);
  }
}

/**
 * Makes the data directory (0700) if it is missing; refuses one that another
 * user owns or may write to, or whose database directory holds such a
 * directory; otherwise makes the data directory 0700 and the database
 * directory's contents private. Other files in the data directory keep their
 * modes (it may hold things a person put there); the 0700 directory shields them.
 * @example preparePrivateDataDir('/var/lib/jml', '/var/lib/jml/pgdata') // before PGlite opens it
 */
export function preparePrivateDataDir(dir: string, databaseDir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  } catch (cause) {
    // A path under a file, a read-only file system, a parent the user may not write: said as such, not as a crash.
    throw new JmlError('invalid_input', `cannot make the data directory ${dir}: ${(cause as Error).message}. Point --data (JML_DATA_DIR) at a directory jml may create, or create it first.`, { cause, details: { dataDir: dir } });
  }
  // Windows has ACLs, not these mode bits (every directory reads as 0777 there).
  if (process.platform === 'win32') return;
  const root = lstatSync(dir);
  if (!root.isDirectory()) refuse(dir, 'is not a directory', 'Point --data (JML_DATA_DIR) at a directory.');
  checkDirectory(dir, root, dir);
  const database = existsSync(databaseDir) ? [{ file: databaseDir, stats: lstatSync(databaseDir) }, ...walk(databaseDir)] : [];
  for (const { file, stats } of database) if (stats.isDirectory()) checkDirectory(file, stats, dir);
  chmodSync(dir, PRIVATE_DIR);
  tighten(database);
}

/** Sets `dir` and the directories below it to 0700, and files to 0600 (PGlite makes new files 0666). */
export function tightenDataFiles(dir: string): void {
  if (process.platform === 'win32') return;
  tighten([{ file: dir, stats: lstatSync(dir) }, ...walk(dir)]);
}

function tighten(entries: Iterable<{ readonly file: string; readonly stats: Stats }>): void {
  for (const { file, stats } of entries) {
    const wanted = stats.isDirectory() ? PRIVATE_DIR : stats.isFile() ? PRIVATE_FILE : null;
    if (wanted !== null && (stats.mode & 0o777) !== wanted) chmodSync(file, wanted);
  }
}
