/**
 * Migrations are listed here in order; each file exports `up`. Names sort in
 * application order. A migration, once landed, is never edited: add a new one.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
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
import * as m0020 from './migrations/0020-access-reviews.ts';

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
  '0020-access-reviews': m0020,
};

const provider: MigrationProvider = { getMigrations: async () => ({ ...MIGRATIONS }) };

export async function migrateToLatest(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({ db, provider, migrationTableName: 'jml_migrations', migrationLockTableName: 'jml_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new JmlError('internal', `database migration ${failed} failed: ${(error as Error).message}`, { cause: error });
  }
}
