import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { strToU8, zipSync } from 'fflate';
import { readBackup } from './store-backup.ts';
import { listSafeTarEntries } from './tar-entries.ts';

/** One ustar entry: header, then data padded to 512 bytes. */
function entry(name: string, type: string, data = new Uint8Array(0)): Uint8Array {
  const header = new Uint8Array(512);
  header.set(strToU8(name.slice(0, 100)), 0);
  header.set(strToU8('0000644\0'), 100);
  header.set(strToU8(`${data.byteLength.toString(8).padStart(11, '0')}\0`), 124);
  header[156] = type.charCodeAt(0);
  header.set(strToU8('ustar\0'), 257);
  const padded = new Uint8Array(Math.ceil(data.byteLength / 512) * 512);
  padded.set(data);
  const out = new Uint8Array(512 + padded.byteLength);
  out.set(header);
  out.set(padded, 512);
  return out;
}

function tar(...entries: Uint8Array[]): Uint8Array {
  const total = entries.reduce((n, e) => n + e.byteLength, 0) + 1024;
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of entries) { out.set(e, at); at += e.byteLength; }
  return out;
}

describe('tar entries of a backup', () => {
  it('lists the plain files and directories of a relative archive', () => {
    const listed = listSafeTarEntries(tar(entry('base/', '5'), entry('base/1/PG_VERSION', '0', strToU8('17\n'))));
    assert.deepEqual(listed, [{ name: 'base/', type: 'directory' }, { name: 'base/1/PG_VERSION', type: 'file' }]);
  });

  it('refuses a name that climbs out of the data directory, a drive letter, a link and a long name that climbs', () => {
    assert.throws(() => listSafeTarEntries(tar(entry('base/../../etc/cron.d/x', '0', strToU8('x')))), /"base\/..\/..\/etc\/cron.d\/x" has a ".." in its name/);
    assert.throws(() => listSafeTarEntries(tar(entry('/../etc/passwd', '0'))), /"\/..\/etc\/passwd" has a ".."/);
    assert.throws(() => listSafeTarEntries(tar(entry('C:/x', '0'))), /a drive letter/);
    assert.throws(() => listSafeTarEntries(tar(entry('base/link', '2'))), /is not a plain file or directory \(tar type "2"\)/);
    assert.throws(() => listSafeTarEntries(tar(entry('././@LongLink', 'L', strToU8('../../x\0')), entry('short', '0'))), /"..\/..\/x" has a ".."/);
  });

  it('accepts the data directory PGlite itself dumps', async () => {
    const db = await PGlite.create();
    try {
      await db.exec('create table t (v int); insert into t values (1)');
      const bytes = new Uint8Array(await (await db.dumpDataDir('none')).arrayBuffer());
      const listed = listSafeTarEntries(bytes);
      assert.ok(listed.some((e) => e.name.endsWith('PG_VERSION')), 'the dump lists PG_VERSION');
    } finally {
      await db.close();
    }
  });

  it('makes a restore refuse a backup whose checksummed tar climbs out, before anything is unpacked', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'jml-tar-'));
    try {
      const bad = tar(entry('../outside', '0', strToU8('owned')));
      const manifest = { format: 'jml-backup', formatVersion: 1, jmlVersion: '0.0.0', createdAt: '2026-12-06T00:00:00Z', backend: 'pglite', migrations: [], audit: { entries: 0, headHash: '' }, database: { file: 'pgdata.tar', bytes: bad.byteLength, sha256: createHash('sha256').update(bad).digest('hex') } };
      const file = path.join(dir, 'evil.zip');
      writeFileSync(file, zipSync({ 'manifest.json': strToU8(JSON.stringify(manifest)), 'pgdata.tar': bad }));
      assert.throws(() => readBackup(file), (error: Error) => error.message.includes('evil.zip is refused: pgdata.tar entry "../outside" has a ".." in its name'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
