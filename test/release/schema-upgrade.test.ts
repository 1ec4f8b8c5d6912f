/**
 * Upgrades, on both backends: a database left by the previous release (jml
 * 0.1.0, schema at 0013-identity-edit-approvals, with the data 0.1.0 wrote,
 * kept in fixtures/) opens in this jml with every identity, event, plan and
 * audit entry intact and `jml audit verify` passing, whatever migrations have
 * been added since; a schema made by a newer jml is refused and not written
 * to; `jml migrate --dry-run` lists what an upgrade would run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { isJmlError } from '../../src/domain/errors.ts';
import { verifyAudit } from '../../src/store/audit-log.ts';
import { migrateUpTo, readSchemaStatus, schemaStatusOf } from '../../src/store/migrations.ts';
import { openStore, type Backend, type Store, type StoreOptions } from '../../src/store/open-store.ts';
import { createTestDatabase } from '../support/backends.ts';
import { runCli } from '../support/run-cli.ts';

/** The last migration of jml 0.1.0. */
const RELEASE_0_1_0 = '0013-identity-edit-approvals';
const FIXTURE = readFileSync(path.join(import.meta.dirname, 'fixtures/jml-0.1.0-data.sql'), 'utf8');
/** What 0.1.0's own `jml audit verify` printed for the fixture. */
const FIXTURE_AUDIT = { entries: 238, headHash: '0d9fcbd734db24393168d25716d058fa06c78f19e5e0e99b069e402b4be08779' };
/** Tables whose rows an upgrade must keep, with the key that orders them. */
const KEPT = { identities: 'key', lifecycle_events: 'seq', plans: 'id', plan_changes: 'change_id', audit_log: 'seq', access_requests: 'id', tasks: 'id', assets: 'tag' } as const;

interface Place {
  readonly options: StoreOptions;
  /** Arguments and environment that point the CLI at the same database. */
  readonly cli: { readonly args: readonly string[]; readonly env: Record<string, string> };
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** A new, empty database of the backend, not yet migrated. */
async function emptyPlace(backend: Backend): Promise<Place> {
  if (backend === 'pglite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'jml-upgrade-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    return { options: { dataDir: dir }, cli: { args: ['--data', dir], env: {} } };
  }
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  return { options: { databaseUrl: database.url }, cli: { args: [], env: { DATABASE_URL: database.url } } };
}

/** The schema as release `upTo` left it, with 0.1.0's data when `withData`. */
async function previousRelease(backend: Backend, upTo: string, withData: boolean): Promise<Place> {
  const place = await emptyPlace(backend);
  const store = await openStore({ ...place.options, migrate: false });
  try {
    await migrateUpTo(store.db, upTo);
    if (withData) {
      // The migrations seed an empty audit head; the fixture brings the head 0.1.0 left.
      await sql`delete from audit_head`.execute(store.db);
      await sql.raw(FIXTURE).execute(store.db);
    }
  } finally {
    await store.close();
  }
  return place;
}

async function rowsOf(db: Kysely<any>): Promise<Record<string, Record<string, unknown>[]>> {
  const rows: Record<string, Record<string, unknown>[]> = {};
  for (const [table, key] of Object.entries(KEPT)) rows[table] = await db.selectFrom(table).selectAll().orderBy(key).execute();
  return rows;
}

async function withStore<T>(options: StoreOptions, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(options);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const backends: Backend[] = process.env.JML_TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

for (const backend of backends) {
  describe(`upgrades (${backend})`, () => {
    test('a database left by jml 0.1.0 opens with every identity, event, plan and audit entry intact and its audit trail verifying', async () => {
      const place = await previousRelease(backend, RELEASE_0_1_0, true);
      const before = await withStore({ ...place.options, migrate: false }, (store) => rowsOf(store.db));
      assert.equal(before.identities!.length, 38);
      assert.equal(before.audit_log!.length, FIXTURE_AUDIT.entries);

      const after = await withStore(place.options, async (store) => {
        assert.deepEqual((await readSchemaStatus(store.db)).pending, [], 'opening migrated to the latest schema');
        assert.deepEqual(await verifyAudit(store.db), { ok: true, ...FIXTURE_AUDIT });
        return rowsOf(store.db);
      });
      for (const [table, rows] of Object.entries(before)) {
        assert.equal(after[table]!.length, rows.length, `${table}: as many rows as 0.1.0 left`);
        // Later migrations may add columns; the columns 0.1.0 had keep their values.
        rows.forEach((row, i) => assert.deepEqual(pick(after[table]![i]!, Object.keys(row)), row, `${table} row ${i + 1}`));
      }

      const verify = await runCli([...place.cli.args, 'audit', 'verify'], { env: place.cli.env });
      assert.equal(verify.code, 0, verify.stderr);
      assert.match(verify.stdout, new RegExp(`audit trail intact: ${FIXTURE_AUDIT.entries} entries, head ${FIXTURE_AUDIT.headHash}`));
    });

    test('the change rows of plans recorded by jml 0.1.0 name, after the upgrade, the entitlement their plan document gives each change', async () => {
      const place = await previousRelease(backend, RELEASE_0_1_0, true);
      const { rows, documents } = await withStore(place.options, async (store) => ({
        rows: await store.db.selectFrom('plan_changes').select(['plan_id', 'position', 'kind', 'entitlement']).orderBy('plan_id').orderBy('position').execute(),
        documents: new Map((await store.db.selectFrom('plans').select(['id', 'plan']).execute()).map((p) => [p.id, p.plan as { changes: { entitlement?: string }[] }])),
      }));
      const grants = rows.filter((r) => r.kind === 'add_grant' || r.kind === 'remove_grant');
      assert.ok(grants.length > 0, 'the fixture holds grant changes');
      assert.ok(grants.every((r) => r.entitlement !== null), 'every grant change names its entitlement');
      assert.deepEqual(rows.map((r) => r.entitlement), rows.map((r) => documents.get(r.plan_id)!.changes[r.position]?.entitlement ?? null));
    });

    test('jml migrate --dry-run lists the pending migrations in order and changes nothing; jml migrate then runs them', async () => {
      const place = await previousRelease(backend, '0012-sign-in-attempts', false);
      const expected = schemaStatusOf([]).pending.filter((name) => name > '0012-sign-in-attempts');
      assert.ok(expected.includes(RELEASE_0_1_0));

      const dry = await runCli([...place.cli.args, 'migrate', '--dry-run'], { env: place.cli.env });
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /12 migrations applied/);
      assert.match(dry.stdout, new RegExp(`would run ${expected.length} migrations?, in one transaction, in this order:\\n${expected.map((n) => `  ${n}`).join('\\n')}\\n`));
      assert.deepEqual((await withStore({ ...place.options, migrate: false }, (store) => readSchemaStatus(store.db))).pending, expected, 'the dry run ran nothing');

      const run = await runCli([...place.cli.args, 'migrate', '--json'], { env: place.cli.env });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout).ran, expected);
      assert.deepEqual((await withStore({ ...place.options, migrate: false }, (store) => readSchemaStatus(store.db))).pending, []);
    });

    test('a database upgraded by a newer jml is refused with a clear message and nothing is written to it', async () => {
      const place = await emptyPlace(backend);
      await withStore(place.options, async (store) => {
        await sql`insert into jml_migrations (name, timestamp) values ('9999-from-a-newer-release', '2030-01-01T00:00:00.000Z')`.execute(store.db);
      });
      const fingerprint = () => withStore({ ...place.options, migrate: false }, (store) => databaseFingerprint(store.db));
      const before = await fingerprint();

      await assert.rejects(openStore(place.options), (error) => {
        assert.ok(isJmlError(error, 'conflict'));
        assert.match(error.message, /upgraded by a newer jml: it has migration 9999-from-a-newer-release that this jml does not know.*has written nothing to it/);
        return true;
      });
      const cli = await runCli([...place.cli.args, 'identities'], { env: place.cli.env });
      assert.notEqual(cli.code, 0);
      assert.match(cli.stderr, /newer jml/);
      const dry = await runCli([...place.cli.args, 'migrate', '--dry-run'], { env: place.cli.env });
      assert.notEqual(dry.code, 0);
      assert.match(dry.stderr, /9999-from-a-newer-release/);

      assert.deepEqual(await fingerprint(), before);
    });
  });
}

function pick(row: Record<string, unknown>, columns: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(columns.map((c) => [c, row[c]]));
}

/** Every table of the schema with its row count and an md5 of its rows: any write shows. */
async function databaseFingerprint(db: Kysely<any>): Promise<Record<string, string>> {
  const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public' order by 1`.execute(db);
  const result: Record<string, string> = {};
  for (const { name } of tables.rows) {
    const row = await sql<{ n: number; digest: string | null }>`select count(*)::int as n, md5(string_agg(t::text, '|' order by t::text)) as digest from ${sql.table(name)} t`.execute(db);
    result[name] = `${row.rows[0]!.n}:${row.rows[0]!.digest ?? ''}`;
  }
  return result;
}
