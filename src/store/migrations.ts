/**
 * Migrations are listed here in order; each file exports `up`. Names sort in
 * application order. A migration, once landed, is never edited: add a new one.
 * Migrations are forward-only (no `down`): a release's schema is only ever extended.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import { JmlError } from '../domain/errors.ts';

/**
 * Each migration's module, imported only when a migration runs: an up-to-date
 * database (every open after the first) needs just the names, and importing the
 * modules was ~30 ms of CPU in each CLI command.
 */
const MIGRATIONS: Readonly<Record<string, () => Promise<Migration>>> = {
  '0001-foundation': () => import('./migrations/0001-foundation.ts'),
  '0002-assignments': () => import('./migrations/0002-assignments.ts'),
  '0003-plans-and-tasks': () => import('./migrations/0003-plans-and-tasks.ts'),
  '0004-connector-secrets': () => import('./migrations/0004-connector-secrets.ts'),
  '0005-reconcile': () => import('./migrations/0005-reconcile.ts'),
  '0006-jobs-and-approvals': () => import('./migrations/0006-jobs-and-approvals.ts'),
  '0007-console-users': () => import('./migrations/0007-console-users.ts'),
  '0008-console-read-indexes': () => import('./migrations/0008-console-read-indexes.ts'),
  '0009-console-plan-previews': () => import('./migrations/0009-console-plan-previews.ts'),
  '0010-simulated-systems': () => import('./migrations/0010-simulated-systems.ts'),
  '0011-initial-credentials': () => import('./migrations/0011-initial-credentials.ts'),
  '0012-sign-in-attempts': () => import('./migrations/0012-sign-in-attempts.ts'),
  '0013-identity-edit-approvals': () => import('./migrations/0013-identity-edit-approvals.ts'),
  '0014-multi-factor-sign-in': () => import('./migrations/0014-multi-factor-sign-in.ts'),
  '0016-leaver-priority': () => import('./migrations/0016-leaver-priority.ts'),
  '0020-access-reviews': () => import('./migrations/0020-access-reviews.ts'),
  '0021-sod-and-siem': () => import('./migrations/0021-sod-and-siem.ts'),
  '0022-equipment': () => import('./migrations/0022-equipment.ts'),
  '0023-scim-inbound': () => import('./migrations/0023-scim-inbound.ts'),
  '0024-review-schedule': () => import('./migrations/0024-review-schedule.ts'),
  '0026-equipment-schedules': () => import('./migrations/0026-equipment-schedules.ts'),
  '0028-change-runs-by-change': () => import('./migrations/0028-change-runs-by-change.ts'),
  '0030-durable-scim-batches': () => import('./migrations/0030-durable-scim-batches.ts'),
  '0036-scim-waiting-managers': () => import('./migrations/0036-scim-waiting-managers.ts'),
  '0037-scim-batch-attempts': () => import('./migrations/0037-scim-batch-attempts.ts'),
  '0040-plan-change-entitlements': () => import('./migrations/0040-plan-change-entitlements.ts'),
  '0042-observed-byte-order': () => import('./migrations/0042-observed-byte-order.ts'),
};

const provider: MigrationProvider = {
  getMigrations: async () => Object.fromEntries(await Promise.all(Object.entries(MIGRATIONS).map(async ([name, load]) => [name, await load()] as const))),
};

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
