/**
 * Migrations are listed here in order; each file exports `up`. Names sort in
 * application order. A migration, once landed, is never edited: add a new one.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { JmlError } from '../domain/errors.ts';
import * as m0001 from './migrations/0001-foundation.ts';
import * as m0002 from './migrations/0002-assignments.ts';
import * as m0003 from './migrations/0003-plans-and-tasks.ts';
import * as m0004 from './migrations/0004-connector-secrets.ts';
import * as m0005 from './migrations/0005-reconcile.ts';
import * as m0006 from './migrations/0006-jobs-and-approvals.ts';
import * as m0007 from './migrations/0007-console-users.ts';
import * as m0008 from './migrations/0008-console-read-indexes.ts';
import * as m0009 from './migrations/0009-console-plan-previews.ts';
import * as m0010 from './migrations/0010-simulated-systems.ts';
import * as m0011 from './migrations/0011-initial-credentials.ts';
import * as m0012 from './migrations/0012-sign-in-attempts.ts';
import * as m0013 from './migrations/0013-identity-edit-approvals.ts';
import * as m0014 from './migrations/0014-multi-factor-sign-in.ts';
import * as m0022 from './migrations/0022-equipment.ts';

const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001-foundation': m0001,
  '0002-assignments': m0002,
  '0003-plans-and-tasks': m0003,
  '0004-connector-secrets': m0004,
  '0005-reconcile': m0005,
  '0006-jobs-and-approvals': m0006,
  '0007-console-users': m0007,
  '0008-console-read-indexes': m0008,
  '0009-console-plan-previews': m0009,
  '0010-simulated-systems': m0010,
  '0011-initial-credentials': m0011,
  '0012-sign-in-attempts': m0012,
  '0013-identity-edit-approvals': m0013,
  '0014-multi-factor-sign-in': m0014,
  '0022-equipment': m0022,
};

const provider: MigrationProvider = { getMigrations: async () => ({ ...MIGRATIONS }) };

/**
 * Brings the schema up to date. When every migration is already recorded it
 * only reads the bookkeeping table, so a least-privilege role (which may not
 * create or alter anything) opens an up-to-date database; a pending migration
 * under such a role fails naming `jml migrate`, which the owner role runs.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<void> {
  if ((await pendingMigrations(db)).length === 0) return;
  const migrator = new Migrator({ db, provider, migrationTableName: 'jml_migrations', migrationLockTableName: 'jml_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const denied = (error as { code?: string }).code === '42501';
    const hint = denied ? ' (the connected role may not change the schema: run `jml migrate` as the database owner, see docs/operations.md "PostgreSQL roles")' : '';
    throw new JmlError('internal', `database migration ${failed} failed: ${(error as Error).message}${hint}`, { cause: error });
  }
}

/** The migrations the database has not recorded yet, in order (all of them on an empty database). */
export async function pendingMigrations(db: Kysely<any>): Promise<readonly string[]> {
  let done: Set<string>;
  try {
    const rows = await sql<{ name: string }>`SELECT name FROM jml_migrations`.execute(db);
    done = new Set(rows.rows.map((r) => r.name));
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return Object.keys(MIGRATIONS).sort();
    throw error;
  }
  return Object.keys(MIGRATIONS).sort().filter((name) => !done.has(name));
}
