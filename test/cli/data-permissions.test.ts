/**
 * The embedded database's files are the user's alone: the data directory is
 * 0700 and everything in it 0600 (PGlite writes 0666 whatever the umask), and
 * jml refuses to start on a data directory or master key file that other
 * users may change or read, with exit code 7 and the command that fixes it.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import { isJmlError } from '../../src/domain/errors.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { openStore } from '../../src/store/open-store.ts';
import { runCli } from '../support/run-cli.ts';

/** Every entry's mode, by kind, as `{ 'dir 700': n, 'file 600': m }`. */
function modesIn(dir: string): Record<string, number> {
  const modes: Record<string, number> = {};
  const count = (file: string) => {
    const stats = lstatSync(file);
    const key = `${stats.isDirectory() ? 'dir' : 'file'} ${(stats.mode & 0o777).toString(8)}`;
    modes[key] = (modes[key] ?? 0) + 1;
    if (stats.isDirectory()) for (const name of readdirSync(file)) count(path.join(file, name));
  };
  count(dir);
  return modes;
}

/** Sets every directory to `dirMode` and every file to `fileMode`, as an older jml left them. */
function setModes(dir: string, dirMode: number, fileMode: number): void {
  chmodSync(dir, dirMode);
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (lstatSync(file).isDirectory()) setModes(file, dirMode, fileMode);
    else chmodSync(file, fileMode);
  }
}

describe('data directory and master key file permissions', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'jml-perm-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  test('a new data directory is 0700 and every file in it 0600, after opening, after writing and after closing', async () => {
    const dir = path.join(work, 'fresh');
    const store = await openStore({ dataDir: dir });
    try {
      const open = modesIn(dir);
      assert.ok((open['file 600'] ?? 0) > 900, JSON.stringify(open));
      assert.deepEqual(Object.keys(open).sort(), ['dir 700', 'file 600'], 'after opening');
      await sql`create table scratch (n int primary key)`.execute(store.db);
      await sql`insert into scratch select generate_series(1, 1000)`.execute(store.db);
    } finally {
      await store.close();
    }
    const closed = modesIn(dir);
    assert.deepEqual(Object.keys(closed).sort(), ['dir 700', 'file 600'], `after closing: ${JSON.stringify(closed)}`);
  });

  test('a data directory an older jml left readable by others (0755, files 0666) is made private when opened', async () => {
    const dir = path.join(work, 'fresh');
    setModes(dir, 0o755, 0o666);
    const store = await openStore({ dataDir: dir });
    await store.close();
    assert.deepEqual(Object.keys(modesIn(dir)).sort(), ['dir 700', 'file 600']);
  });

  test('a data directory others may write to is refused with the chmod that fixes it, and nothing is written into it', async () => {
    for (const mode of [0o777, 0o770, 0o702]) {
      const dir = path.join(work, `open-${mode.toString(8)}`);
      mkdirSync(dir);
      chmodSync(dir, mode);
      await assert.rejects(openStore({ dataDir: dir }), (e) => isJmlError(e, 'unsafe_permissions') && e.message.includes(`chmod -R go-rwx ${dir}`) && e.message.includes(`mode ${mode.toString(8)}`));
      assert.deepEqual(readdirSync(dir), [], 'no lock, no database');
      assert.equal(lstatSync(dir).mode & 0o777, mode, 'left as it was for a person to look at');
    }
    const nested = path.join(work, 'nested');
    mkdirSync(path.join(nested, 'pgdata'), { recursive: true });
    chmodSync(path.join(nested, 'pgdata'), 0o777);
    await assert.rejects(openStore({ dataDir: nested }), (e) => isJmlError(e, 'unsafe_permissions') && e.message.includes(`holds ${path.join(nested, 'pgdata')}`));
  });

  test('a data directory owned by another user is refused', { skip: process.getuid?.() === 0 ? false : 'needs root to give a directory away' }, async () => {
    const dir = path.join(work, 'theirs');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    await assert.rejects(openStore({ dataDir: dir }), (e) => isJmlError(e, 'unsafe_permissions') && /owned by uid 65534, not by the user running jml/.test(e.message));
  });

  test('jml refuses to start, with exit code 7, on a world-writable data directory or a master key file others can read', async () => {
    const open = path.join(work, 'cli-open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const refusedDir = await runCli(['--data', open, 'identities']);
    assert.equal(refusedDir.code, EXIT.unsafePermissions, refusedDir.stderr);
    assert.match(refusedDir.stderr, new RegExp(`chmod -R go-rwx ${open}`));

    const key = path.join(work, 'master.key');
    writeFileSync(key, `${randomBytes(32).toString('base64')}\n`, { mode: 0o644 });
    chmodSync(key, 0o644);
    const data = path.join(work, 'cli-data');
    const refusedKey = await runCli(['--data', data, 'identities'], { env: { JML_MASTER_KEY_FILE: key } });
    assert.equal(refusedKey.code, EXIT.unsafePermissions, refusedKey.stderr);
    assert.match(refusedKey.stderr, new RegExp(`master key file ${key} is open to every user \\(mode 0644\\).*chmod 600 ${key}`));
    assert.equal(existsSync(path.join(data, 'pgdata')), false, 'refused before the database was opened');
  });

  test('a data directory that cannot be made (under a file) is invalid input named with its path, not a crash', async () => {
    const file = path.join(work, 'a-file');
    writeFileSync(file, '');
    const under = path.join(file, 'data');
    const refused = await runCli(['--data', under, 'identities']);
    assert.equal(refused.code, EXIT.invalidInput, refused.stderr);
    assert.match(refused.stderr, new RegExp(`^jml: cannot make the data directory ${under}: ENOTDIR.*Point --data \\(JML_DATA_DIR\\) at a directory`, 'm'));
    assert.doesNotMatch(refused.stderr, /unexpected error|\n\s+at /, 'no stack trace');
  });
});
