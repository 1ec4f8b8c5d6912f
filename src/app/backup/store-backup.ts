/**
 * Backup and restore of the embedded database (PGlite). A backup is one zip
 * file: `manifest.json` (which jml made it, when, the schema's migrations and
 * the audit trail's head) and `pgdata.tar`, PGlite's own dump of its data
 * directory. A PostgreSQL server is backed up with its own tools (pg_dump; see
 * docs/operations.md), not with this.
 *
 * Consistency: the embedded database has one connection, and every query and
 * transaction of the process goes through it. The snapshot is taken while
 * holding that connection, so no transaction is open and none can start until
 * the dump is done: workers and the API in the same process simply wait.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { strFromU8, strToU8, unzipSync, zip, type AsyncZippable } from 'fflate';
import { sql } from 'kysely';
import { z } from 'zod';
import { JmlError } from '../../domain/errors.ts';
import { verifyAudit, type AuditVerdict } from '../../store/audit-log.ts';
import { assertSchemaKnown, readSchemaStatus, schemaStatusOf } from '../../store/migrations.ts';
import { openStore, type Store } from '../../store/open-store.ts';
import { jmlVersion } from '../jml-version.ts';
import { listSafeTarEntries } from './tar-entries.ts';

const manifestSchema = z.object({
  format: z.literal('jml-backup'),
  formatVersion: z.literal(1),
  jmlVersion: z.string(),
  createdAt: z.string(),
  backend: z.literal('pglite'),
  migrations: z.array(z.string()),
  audit: z.object({ entries: z.number().int().min(0), headHash: z.string() }),
  database: z.object({ file: z.literal('pgdata.tar'), bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
});

/** What a backup says about itself. */
export type BackupManifest = z.output<typeof manifestSchema>;

/**
 * Writes a consistent snapshot of an open embedded store to `file` (refusing
 * to replace an existing file). Safe while the same process serves the API
 * and runs workers: they wait for the snapshot (about a second for the demo).
 * @example const manifest = await backupStore(store, '/var/backups/jml-2026-12-05.zip', new Date());
 */
export async function backupStore(store: Store, file: string, now: Date): Promise<BackupManifest> {
  if (store.backend !== 'pglite' || !store.dump) {
    throw new JmlError('invalid_input', 'jml backup is for the embedded database; back up a PostgreSQL server with pg_dump (see docs/operations.md, "Backup and restore")');
  }
  const dump = store.dump;
  const { tar, status, head } = await store.db.connection().execute(async (conn) => {
    // Holding the only connection: nothing else in this process reads or writes until the dump is taken.
    await sql`checkpoint`.execute(conn);
    const status = await readSchemaStatus(conn);
    const head = await conn.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
    const tar = new Uint8Array(await (await dump()).arrayBuffer());
    return { tar, status, head };
  });
  const manifest: BackupManifest = {
    format: 'jml-backup',
    formatVersion: 1,
    jmlVersion: jmlVersion(),
    createdAt: now.toISOString(),
    backend: 'pglite',
    migrations: [...status.applied, ...status.unknown],
    audit: { entries: head.seq, headHash: head.hash },
    database: { file: 'pgdata.tar', bytes: tar.byteLength, sha256: sha256(tar) },
  };
  const archive = await zipped({ 'manifest.json': strToU8(`${JSON.stringify(manifest, null, 2)}\n`), 'pgdata.tar': [tar, { level: 6 }] });
  try {
    await writeFile(file, archive, { flag: 'wx', mode: 0o600 });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') throw new JmlError('conflict', `${file} already exists; jml backup never replaces a file: choose a new name`, { cause, details: { file } });
    throw new JmlError('internal', `cannot write the backup ${file}: ${(cause as Error).message}`, { cause, details: { file } });
  }
  return manifest;
}

/** A backup file, read and checked: its manifest is valid and its database matches the checksum. */
export interface BackupContents {
  readonly manifest: BackupManifest;
  readonly database: Blob;
}

/** Reads and checks a backup file; an unreadable, foreign or damaged file is refused naming what is wrong. */
export function readBackup(file: string): BackupContents {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(readFileSync(file));
  } catch (cause) {
    throw new JmlError('invalid_input', `${file} is not a jml backup (cannot read it as a zip file: ${(cause as Error).message})`, { cause, details: { file } });
  }
  const manifestBytes = entries['manifest.json'];
  const tar = entries['pgdata.tar'];
  if (!manifestBytes || !tar) throw new JmlError('invalid_input', `${file} is not a jml backup: it lacks ${manifestBytes ? 'pgdata.tar' : 'manifest.json'}`, { details: { file } });
  let parsed: unknown;
  try {
    parsed = JSON.parse(strFromU8(manifestBytes));
  } catch (cause) {
    throw new JmlError('invalid_input', `${file}: manifest.json is not JSON: ${(cause as Error).message}`, { cause, details: { file } });
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new JmlError('invalid_input', `${file}: manifest.json ${issue.path.join('.') || '(root)'}: ${issue.message}`, { details: { file } });
  }
  const manifest = result.data;
  if (tar.byteLength !== manifest.database.bytes || sha256(tar) !== manifest.database.sha256) {
    throw new JmlError('invalid_input', `${file} is damaged: pgdata.tar does not match the checksum in its manifest`, { details: { file } });
  }
  try {
    listSafeTarEntries(tar);
  } catch (cause) {
    throw new JmlError('invalid_input', `${file} is refused: pgdata.tar ${(cause as Error).message}; a jml backup holds only the database's own files`, { cause, details: { file } });
  }
  return { manifest, database: new Blob([tar]) };
}

/** What a restore found. */
export interface RestoreResult {
  readonly manifest: BackupManifest;
  readonly location: string;
  /** Migrations the restore ran because the backup came from an older jml. */
  readonly upgraded: readonly string[];
  readonly audit: AuditVerdict;
}

/**
 * Restores a backup into a data directory that is missing or empty, then
 * upgrades its schema if the backup is older and verifies the audit trail.
 * A non-empty directory is refused, so a restore never overwrites data.
 * @example const result = await restoreBackup('/var/backups/jml-2026-12-05.zip', '/var/lib/jml');
 */
export async function restoreBackup(file: string, dataDir: string): Promise<RestoreResult> {
  const { manifest, database } = readBackup(file);
  assertSchemaKnown(schemaStatusOf(manifest.migrations));
  const location = path.resolve(dataDir);
  if (existsSync(location) && readdirSync(location).length > 0) {
    throw new JmlError('conflict', `the data directory ${location} is not empty; jml restore only fills an empty or new directory, it never overwrites data: choose another --data directory or move this one aside`, { details: { dataDir: location } });
  }
  const before = manifest.migrations;
  const store = await openStore({ dataDir: location, loadDataDir: database });
  try {
    const status = await readSchemaStatus(store.db);
    const audit = await verifyAudit(store.db);
    return { manifest, location: store.location, upgraded: status.applied.filter((name) => !before.includes(name)), audit };
  } finally {
    await store.close();
  }
}

/** Compresses off the main thread (fflate's workers): a running server keeps answering meanwhile. */
function zipped(files: AsyncZippable): Promise<Uint8Array> {
  return new Promise((resolve, reject) => zip(files, (error, data) => (error ? reject(error) : resolve(data))));
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
