/**
 * Least privilege on a real PostgreSQL server: the owner role migrates and
 * grants; jml then runs as the app role, whose normal work (import, jobs,
 * audit appends, checkpoints) succeeds while every way of changing the audit
 * trail other than appending is refused by the server itself.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { staff, tempDir, testConfig, writeHr } from '../../test/support/hr-files.ts';
import { importSource } from '../app/import-source.ts';
import { startJobBoss } from '../jobs/job-boss.ts';
import { appendAudit, verifyAudit } from './audit-log.ts';
import { openStore, type Store } from './open-store.ts';
import { withIndexesDeferred } from './deferred-indexes.ts';
import { appRoleGrants } from './postgres-roles.ts';
import { runCli } from '../../test/support/run-cli.ts';

const adminUrl = process.env.JML_TEST_DATABASE_URL;

test('a role name that is not a plain identifier is refused before any SQL is built', () => {
  assert.throws(() => appRoleGrants('app; DROP TABLE audit_log'), /not a plain PostgreSQL role name/);
});

describe('PostgreSQL roles', { skip: adminUrl ? false : 'JML_TEST_DATABASE_URL is not set' }, () => {
  const suffix = randomBytes(4).toString('hex');
  const owner = `jml_owner_${suffix}`;
  const app = `jml_app_${suffix}`;
  const database = `jml_roles_${suffix}`;
  const password = randomBytes(12).toString('hex');
  let appStore: Store;

  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  const urlFor = (role: string) => {
    const url = new URL(adminUrl!);
    url.username = role;
    url.password = password;
    url.pathname = `/${database}`;
    return url.toString();
  };

  before(async () => {
    await admin(`CREATE ROLE ${owner} LOGIN PASSWORD '${password}'`);
    await admin(`CREATE ROLE ${app} LOGIN PASSWORD '${password}'`);
    await admin(`GRANT ${app} TO ${owner}`);
    await admin(`CREATE DATABASE ${database} OWNER ${owner}`);
    // An installation that ran as one role so far: the owner made the schema and the job queue.
    const ownerStore = await openStore({ databaseUrl: urlFor(owner), poolSize: 2 });
    try {
      await (await startJobBoss(ownerStore.db, 'postgres', { schedule: false, supervise: false })).stop({ graceful: false });
    } finally {
      await ownerStore.close();
    }
    const migrate = await runCli(['migrate', '--app-role', app], { env: { JML_MIGRATION_DATABASE_URL: urlFor(owner), DATABASE_URL: urlFor(app) } });
    assert.equal(migrate.code, 0, migrate.stderr + migrate.stdout);
    assert.match(migrate.stdout, new RegExp(`${app} may read and write jml's tables, and only INSERT and SELECT on the audit trail`));
    appStore = await openStore({ databaseUrl: urlFor(app), poolSize: 4 });
  });

  after(async () => {
    await appStore?.close();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin(`DROP ROLE IF EXISTS ${app}`);
    await admin(`DROP ROLE IF EXISTS ${owner}`);
  });

  test('the app role does its normal work: opens the migrated store, runs the job queue, imports and appends to the audit trail', { timeout: 60_000 }, async () => {
    const boss = await startJobBoss(appStore.db, 'postgres', { schedule: false, supervise: false });
    try {
      await boss.send('replan', { reason: 'test' });
    } finally {
      await boss.stop({ graceful: false });
    }
    const file = writeHr(tempDir(), 'hr.csv', staff(3));
    const result = await importSource({ db: appStore.db, config: testConfig() }, { source: 'hr', file, actor: 'cli:test', asOf: '2026-11-22', now: new Date('2026-11-22T10:00:00Z') });
    assert.equal(result.status, 'applied');
    await appendAudit(appStore.db, { actor: 'cli:test', action: 'identity.edited', subject: 'E0001', trigger: 'cli' });
    assert.equal((await verifyAudit(appStore.db)).ok, true);
  });

  test('the app role, which owns no table, loads empty tables with their indexes and foreign keys kept instead of failing', async () => {
    const shape = async () =>
      (await sql<{ d: string }>`SELECT indexdef AS d FROM pg_indexes WHERE tablename IN ('assets', 'assignments') UNION ALL SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid IN ('assets'::regclass, 'assignments'::regclass) ORDER BY d`.execute(appStore.db)).rows.map((r) => r.d);
    const before = await shape();
    let during: string[] = [];
    await appStore.db.transaction().execute((trx) =>
      withIndexesDeferred(trx, ['assets', 'assignments'], async () => {
        during = await shape();
      }),
    );
    assert.deepEqual(during, before);
  });

  test('a pending migration under the app role fails naming jml migrate', async () => {
    const client = new pg.Client({ connectionString: urlFor(owner) });
    await client.connect();
    try {
      const removed = await client.query<{ name: string; timestamp: string }>('DELETE FROM jml_migrations WHERE name = (SELECT max(name) FROM jml_migrations) RETURNING name, timestamp');
      try {
        await assert.rejects(openStore({ databaseUrl: urlFor(app), poolSize: 1 }), /run `jml migrate` as the database owner/);
      } finally {
        await client.query('INSERT INTO jml_migrations (name, timestamp) VALUES ($1, $2)', [removed.rows[0]!.name, removed.rows[0]!.timestamp]);
      }
    } finally {
      await client.end();
    }
  });

  const refused: readonly [string, string, RegExp][] = [
    ['update an audit entry', `UPDATE audit_log SET actor = 'someone-else'`, /permission denied for table audit_log/],
    ['delete audit entries', 'DELETE FROM audit_log', /permission denied for table audit_log/],
    ['truncate the audit trail', 'TRUNCATE audit_log', /permission denied for table audit_log/],
    ['disable the append-only trigger', 'ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update', /must be owner of table audit_log/],
    ['drop the append-only trigger', 'DROP TRIGGER audit_log_no_update ON audit_log', /must be owner of (table|relation) audit_log/],
    ['replace the trigger function with one that allows changes', `CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`, /must be owner of function audit_log_refuse_change|permission denied for schema public/],
    ['create a table of its own', 'CREATE TABLE audit_log_copy (seq bigint)', /permission denied for schema public/],
    ['delete the migration records', `DELETE FROM jml_migrations`, /permission denied for table jml_migrations/],
  ];
  for (const [what, statement, error] of refused) {
    test(`the app role is refused by the server when it tries to ${what}`, async () => {
      await assert.rejects(sql.raw(statement).execute(appStore.db), error);
    });
  }
});
