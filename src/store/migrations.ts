/**
 * Migrations are listed here in order; each file exports `up`. Names sort in
 * application order. A migration, once landed, is never edited: add a new one.
 * Migrations are forward-only (no `down`): a release's schema is only ever extended.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
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
import * as m0016 from './migrations/0016-leaver-priority.ts';
import * as m0020 from './migrations/0020-access-reviews.ts';
import * as m0021 from './migrations/0021-sod-and-siem.ts';
import * as m0022 from './migrations/0022-equipment.ts';
import * as m0023 from './migrations/0023-scim-inbound.ts';
import * as m0024 from './migrations/0024-review-schedule.ts';
import * as m0026 from './migrations/0026-equipment-schedules.ts';
import * as m0028 from './migrations/0028-change-runs-by-change.ts';
import * as m0030 from './migrations/0030-durable-scim-batches.ts';
import * as m0036 from './migrations/0036-scim-waiting-managers.ts';
import * as m0037 from './migrations/0037-scim-batch-attempts.ts';
import * as m0040 from './migrations/0040-plan-change-entitlements.ts';
import * as m0042 from './migrations/0042-observed-byte-order.ts';

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
  '0016-leaver-priority': m0016,
  '0020-access-reviews': m0020,
  '0021-sod-and-siem': m0021,
  '0022-equipment': m0022,
  '0023-scim-inbound': m0023,
  '0024-review-schedule': m0024,
  '0026-equipment-schedules': m0026,
  '0028-change-runs-by-change': m0028,
  '0030-durable-scim-batches': m0030,
  '0036-scim-waiting-managers': m0036,
  '0037-scim-batch-attempts': m0037,
  '0040-plan-change-entitlements': m0040,
  '0042-observed-byte-order': m0042,
};

const provider: MigrationProvider = { getMigrations: async () => ({ ...MIGRATIONS }) };

function migrator(db: Kysely<any>): Migrator {
  // Kysely runs each migrateTo/migrateToLatest in one transaction on PostgreSQL and PGlite (transactional DDL),
  // records each migration in jml_migrations and holds jml_migrations_lock, so several processes starting
  // at once migrate exactly once and a failed migration leaves the schema as it was.
  return new Migrator({ db, provider, migrationTableName: 'jml_migrations', migrationLockTableName: 'jml_migrations_lock' });
}

/** Where a database's schema stands against the migrations this jml knows. */
export interface SchemaStatus {
  /** Known migrations already recorded, in order. */
  readonly applied: readonly string[];
  /** Known migrations not yet recorded, in the order an upgrade runs them. */
  readonly pending: readonly string[];
  /** Recorded migrations this jml does not know: a newer jml upgraded the database. */
  readonly unknown: readonly string[];
}

/** Reads which migrations a database has recorded; changes nothing (an empty database has none). */
export async function readSchemaStatus(db: Kysely<any>): Promise<SchemaStatus> {
  const exists = await sql<{ table: string | null }>`select to_regclass('jml_migrations')::text as table`.execute(db);
  const recorded = exists.rows[0]?.table ? (await db.selectFrom('jml_migrations').select('name').orderBy('name').execute()).map((r) => r.name as string) : [];
  return schemaStatusOf(recorded);
}

/** Compares recorded migration names (from a database or a backup's manifest) with the ones this jml knows. */
export function schemaStatusOf(recorded: readonly string[]): SchemaStatus {
  const known = Object.keys(MIGRATIONS);
  return {
    applied: known.filter((name) => recorded.includes(name)),
    pending: known.filter((name) => !recorded.includes(name)),
    unknown: recorded.filter((name) => !(name in MIGRATIONS)),
  };
}

/**
 * Refuses a database whose schema a newer jml made: this jml does not know what
 * those migrations changed, so any write could break data it cannot see.
 */
export function assertSchemaKnown(status: SchemaStatus): void {
  if (status.unknown.length === 0) return;
  throw new JmlError(
    'conflict',
    `the database was upgraded by a newer jml: it has migration${status.unknown.length > 1 ? 's' : ''} ${status.unknown.join(', ')} that this jml does not know (see jml --version). ` +
      'Run the jml release that upgraded it (or a newer one); this jml opens it for nothing and has written nothing to it.',
    { details: { unknownMigrations: status.unknown } },
  );
}

/**
 * Brings the schema up to this jml's, after refusing one made by a newer jml.
 * Forward-only: there is no down. When every migration is already recorded it
 * only reads the bookkeeping table, so a least-privilege role (which may not
 * create or alter anything) opens an up-to-date database; a pending migration
 * under such a role fails naming `jml migrate`, which the owner role runs.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<readonly string[]> {
  const status = await readSchemaStatus(db);
  assertSchemaKnown(status);
  if (status.pending.length === 0) return [];
  return runMigrations(() => migrator(db).migrateToLatest());
}

/**
 * Migrates only as far as `name`, as an earlier release left the schema. For
 * upgrade tests that build the previous release's database; jml itself always
 * migrates to the latest.
 */
export async function migrateUpTo(db: Kysely<any>, name: string): Promise<readonly string[]> {
  if (!(name in MIGRATIONS)) throw new JmlError('invalid_input', `no migration named ${name}`);
  return runMigrations(() => migrator(db).migrateTo(name));
}

async function runMigrations(run: () => Promise<MigrationResultSet>): Promise<readonly string[]> {
  const { error, results } = await run();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const denied = (error as { code?: string }).code === '42501';
    const hint = denied ? ' (the connected role may not change the schema: run `jml migrate` as the database owner, see docs/operations.md "PostgreSQL roles")' : '';
    throw new JmlError('internal', `database migration ${failed} failed (the schema is left as it was): ${(error as Error).message}${hint}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
