/**
 * Backup and restore round trips. Embedded: `backupStore` while a writer
 * commits in the same process, `restoreBackup` into an empty directory, and
 * every refusal (a directory with data, a damaged file, a newer jml's backup,
 * a file that exists). PostgreSQL: pg_dump of a database a writer is changing,
 * pg_restore into a fresh database, `jml audit verify` against it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { sql, type Kysely } from 'kysely';
import { backupStore, restoreBackup } from '../../src/app/backup/store-backup.ts';
import { loadConfig } from '../../src/app/config.ts';
import { loadDemo } from '../../src/app/load-demo.ts';
import { isJmlError } from '../../src/domain/errors.ts';
import { appendAudit, verifyAudit } from '../../src/store/audit-log.ts';
import type { Database } from '../../src/store/database.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { createTestDatabase } from '../support/backends.ts';
import { CLI, runCli } from '../support/run-cli.ts';
import { buildConsoleOnce } from '../support/console-build.ts';

const NOW = new Date('2026-12-05T10:00:00Z');
const scratch = mkdtempSync(path.join(tmpdir(), 'jml-backup-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

async function demoStore(store: Store, dataDir: string): Promise<void> {
  const config = await loadConfig({ dataDir, configFile: undefined }, {});
  await loadDemo({ db: store.db, config }, { actor: 'test', people: 20, now: NOW });
}

/**
 * Commits, one transaction at a time, an audit entry and the count of such
 * entries on identity E1000: a snapshot is consistent when the two agree.
 */
function startWriter(db: Kysely<Database>): { readonly commits: () => number; stop(): Promise<void> } {
  let n = 0;
  let committed = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      await db.transaction().execute(async (trx) => {
        n += 1;
        await appendAudit(trx, { actor: 'test', action: 'writer.tick', subject: 'E1000', trigger: 'test', details: { n } }, NOW);
        await sql`update identities set attributes = attributes || jsonb_build_object('ticks', ${String(n)}::text) where key = 'E1000'`.execute(trx);
      });
      committed = n;
      // PGlite answers without a trip through the event loop: let timers (and the backup) run between commits.
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  return {
    commits: () => committed,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Identities, and how many writer ticks the snapshot holds by each count. */
async function snapshotOf(db: Kysely<Database>) {
  const identities = await db.selectFrom('identities').selectAll().orderBy('key').execute();
  const ticks = await db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).where('action', '=', 'writer.tick').executeTakeFirstOrThrow();
  const e1000 = identities.find((i) => i.key === 'E1000')!;
  return { identities, auditTicks: Number(ticks.n), identityTicks: Number(e1000.attributes.ticks ?? 0) };
}

describe('backup and restore of the embedded database', () => {
  const source = path.join(scratch, 'source');
  const backup = path.join(scratch, 'jml.backup.zip');
  let sourceIdentities: unknown[] = [];

  test('a backup taken while a writer commits restores into an empty directory with the same identities and a verifying audit trail', async () => {
    const store = await openStore({ dataDir: source });
    try {
      await demoStore(store, source);
      const writer = startWriter(store.db);
      await waitFor(() => writer.commits() >= 20);
      const manifest = await backupStore(store, backup, NOW);
      const atBackup = writer.commits();
      await waitFor(() => writer.commits() >= atBackup + 20);
      await writer.stop();
      assert.equal(manifest.jmlVersion, JSON.parse(readFileSync(path.join(import.meta.dirname, '../../package.json'), 'utf8')).version);
      assert.equal(manifest.createdAt, NOW.toISOString());
      const live = await snapshotOf(store.db);
      assert.ok(live.auditTicks > 20, 'the writer kept committing after the backup');
      sourceIdentities = live.identities.map(({ attributes, ...rest }) => ({ ...rest, attributes: { ...attributes, ticks: undefined } }));

      const target = path.join(scratch, 'restored');
      const result = await restoreBackup(backup, target);
      assert.deepEqual(result.audit, { ok: true, entries: manifest.audit.entries, headHash: manifest.audit.headHash });
      assert.deepEqual(result.upgraded, []);
      const restored = await openStore({ dataDir: target });
      try {
        const snap = await snapshotOf(restored.db);
        assert.equal(snap.identityTicks, snap.auditTicks, 'the snapshot holds whole transactions: every tick with its audit entry');
        assert.ok(snap.auditTicks >= 20 && snap.auditTicks < live.auditTicks, `the snapshot is of the moment of the backup (${snap.auditTicks} of ${live.auditTicks} ticks)`);
        assert.deepEqual(
          snap.identities.map(({ attributes, ...rest }) => ({ ...rest, attributes: { ...attributes, ticks: undefined } })),
          sourceIdentities,
        );
      } finally {
        await restored.close();
      }
      const verify = await runCli(['--data', target, 'audit', 'verify']);
      assert.equal(verify.code, 0, verify.stderr);
      assert.match(verify.stdout, new RegExp(`audit trail intact: ${manifest.audit.entries} entries, head ${manifest.audit.headHash}`));
    } finally {
      await store.close();
    }
  });

  test('restore refuses a data directory that holds anything and leaves it as it was', async () => {
    const target = path.join(scratch, 'occupied');
    mkdirSync(target);
    writeFileSync(path.join(target, 'notes.txt'), 'keep me');
    await assert.rejects(restoreBackup(backup, target), (error) => isJmlError(error, 'conflict') && /not empty; jml restore .* never overwrites data/.test(error.message));
    assert.deepEqual(readdirSync(target), ['notes.txt']);
  });

  test('a damaged backup or one made by a newer jml is refused, naming what is wrong, before anything is written', async () => {
    const entries = unzipSync(readFileSync(backup));
    const damaged = path.join(scratch, 'damaged.zip');
    const tar = entries['pgdata.tar']!.slice();
    tar[0] = (tar[0] ?? 0) ^ 0xff;
    writeFileSync(damaged, zipSync({ ...entries, 'pgdata.tar': tar }));
    const newer = path.join(scratch, 'newer.zip');
    const manifest = JSON.parse(strFromU8(entries['manifest.json']!));
    writeFileSync(newer, zipSync({ ...entries, 'manifest.json': strToU8(JSON.stringify({ ...manifest, migrations: [...manifest.migrations, '9999-from-a-newer-release'] })) }));
    const notABackup = path.join(scratch, 'notes.zip');
    writeFileSync(notABackup, 'just text');

    const cases = [
      [damaged, 'invalid_input', /damaged: pgdata.tar does not match the checksum/],
      [newer, 'conflict', /newer jml: it has migration 9999-from-a-newer-release/],
      [notABackup, 'invalid_input', /notes.zip is not a jml backup/],
    ] as const;
    for (const [file, code, message] of cases) {
      const target = path.join(scratch, `target-${path.basename(file)}`);
      await assert.rejects(restoreBackup(file, target), (error) => isJmlError(error, code) && message.test(error.message));
      assert.equal(existsSync(target), false, `${path.basename(file)}: no directory was made`);
    }
  });

  test('a running jml serve --backup-dir writes a backup on SIGUSR2 that restores with its audit trail verifying', { timeout: 180_000 }, async () => {
    const data = path.join(scratch, 'served');
    const backups = path.join(scratch, 'served-backups');
    await buildConsoleOnce();
    const server = spawn(process.execPath, [CLI, '--data', data, 'serve', '--port', '0', '--backup-dir', backups, '--backup-every', '0'], { env: { ...process.env, DATABASE_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    server.stdout.on('data', (d: Buffer) => (output += d.toString()));
    const seen = async (pattern: RegExp): Promise<RegExpExecArray> => {
      for (;;) {
        const found = pattern.exec(output);
        if (found) return found;
        if (server.exitCode !== null) throw new Error(`jml serve exited ${server.exitCode}: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      await seen(/Backups: into .* on SIGUSR2\./);
      server.kill('SIGUSR2');
      const [, file, entries] = await seen(/Backed up to (\S+\.zip): audit head entry (\d+)/);
      assert.equal(path.dirname(file!), backups);
      const result = await restoreBackup(file!, path.join(scratch, 'served-restored'));
      assert.equal(result.audit.ok, true);
      assert.equal(result.audit.entries, Number(entries));
    } finally {
      server.kill('SIGTERM');
    }
  });

  test('jml backup never replaces an existing file', async () => {
    const existing = path.join(scratch, 'yesterday.zip');
    writeFileSync(existing, 'an older backup');
    const run = await runCli(['--data', path.join(scratch, 'backed-up'), 'backup', existing]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /yesterday.zip already exists; jml backup never replaces a file/);
    assert.equal(readFileSync(existing, 'utf8'), 'an older backup');
  });
});

const serverUrl = process.env.JML_TEST_DATABASE_URL;
/** Runs a PostgreSQL tool without blocking the event loop, so the writer keeps committing meanwhile. */
function run(command: string, args: readonly string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}
const pgBin = (tool: string) => (process.env.JML_TEST_PG_BIN ? path.join(process.env.JML_TEST_PG_BIN, tool) : tool);

describe('backup and restore of a PostgreSQL database with pg_dump and pg_restore', { skip: serverUrl ? false : 'JML_TEST_DATABASE_URL is not set' }, () => {
  test('pg_dump of a database a writer is changing restores with pg_restore into a fresh database whose audit trail verifies', async () => {
    const original = await createTestDatabase();
    const fresh = await createTestDatabase();
    try {
      const store = await openStore({ databaseUrl: original.url, poolSize: 4 });
      const dump = path.join(scratch, 'jml.pgdump');
      let live: Awaited<ReturnType<typeof snapshotOf>>;
      try {
        await demoStore(store, path.join(scratch, 'pg-demo'));
        const writer = startWriter(store.db);
        await waitFor(() => writer.commits() >= 20);
        // As docs/operations.md shows: one consistent snapshot, custom format, roles and grants left to the target.
        const dumped = await run(pgBin('pg_dump'), ['--format=custom', '--no-owner', '--no-privileges', '--file', dump, original.url]);
        await writer.stop();
        assert.equal(dumped.status, 0, dumped.stderr);
        live = await snapshotOf(store.db);
      } finally {
        await store.close();
      }
      const restored = await run(pgBin('pg_restore'), ['--no-owner', '--no-privileges', '--exit-on-error', '--dbname', fresh.url, dump]);
      assert.equal(restored.status, 0, restored.stderr);

      const verify = await runCli(['audit', 'verify'], { env: { DATABASE_URL: fresh.url } });
      assert.equal(verify.code, 0, verify.stderr);
      assert.match(verify.stdout, /audit trail intact: \d+ entries/);
      const store2 = await openStore({ databaseUrl: fresh.url, poolSize: 2 });
      try {
        const snap = await snapshotOf(store2.db);
        assert.equal(snap.identityTicks, snap.auditTicks, 'pg_dump took one snapshot: every tick with its audit entry');
        assert.ok(snap.auditTicks >= 20 && snap.auditTicks <= live.auditTicks);
        const strip = (rows: typeof snap.identities) => rows.map(({ attributes, ...rest }) => ({ ...rest, attributes: { ...attributes, ticks: undefined } }));
        assert.deepEqual(strip(snap.identities), strip(live.identities));
        assert.equal((await verifyAudit(store2.db)).ok, true);
      } finally {
        await store2.close();
      }
    } finally {
      await original.drop();
      await fresh.drop();
    }
  });
});
