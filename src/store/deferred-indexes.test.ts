import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { testBackends } from '../../test/support/backends.ts';
import { isJmlError } from '../domain/errors.ts';
import type { Database } from './database.ts';
import { withIndexesDeferred } from './deferred-indexes.ts';

async function indexesOf(db: Kysely<Database>, table: string): Promise<string[]> {
  const { rows } = await sql<{ def: string }>`SELECT indexdef AS def FROM pg_indexes WHERE tablename = ${table} ORDER BY indexname`.execute(db);
  return rows.map((r) => r.def);
}

const identity = (key: string, department: string) => ({ key, kind: 'employee', status: 'active', source: 'hr', attributes: JSON.stringify({ department, email: `${key}@example.com` }) });

for (const backend of testBackends()) {
  test(`an empty table is loaded without its secondary indexes, which come back exactly as they were and find the loaded rows (${backend.name})`, async () => {
    const store = await backend.open();
    try {
      const before = await indexesOf(store.db, 'identities');
      assert.ok(before.some((d) => d.includes('identities_department')));
      let during: string[] = [];
      await store.db.transaction().execute((trx) =>
        withIndexesDeferred(trx, ['identities'], async () => {
          during = await indexesOf(trx, 'identities');
          await trx.insertInto('identities').values([identity('E1', 'Sales'), identity('E2', 'IT')]).execute();
        }),
      );
      assert.deepEqual(during, before.filter((d) => d.includes('UNIQUE')), 'only the unique indexes stay during the load');
      assert.deepEqual(await indexesOf(store.db, 'identities'), before);
      await sql`SET enable_seqscan = off`.execute(store.db);
      const found = await sql<{ key: string }>`SELECT key FROM identities WHERE attributes->>'department' = 'IT'`.execute(store.db);
      assert.deepEqual(found.rows, [{ key: 'E2' }]);
    } finally {
      await store.close();
    }
  });

  test(`a table that already holds rows keeps its indexes while loading (${backend.name})`, async () => {
    const store = await backend.open();
    try {
      await store.db.insertInto('identities').values(identity('E1', 'Sales')).execute();
      const before = await indexesOf(store.db, 'identities');
      let during: string[] = [];
      await store.db.transaction().execute((trx) =>
        withIndexesDeferred(trx, ['identities'], async () => {
          during = await indexesOf(trx, 'identities');
        }),
      );
      assert.deepEqual(during, before);
    } finally {
      await store.close();
    }
  });

  test(`a load that fails leaves the table and its indexes as they were (${backend.name})`, async () => {
    const store = await backend.open();
    try {
      const before = await indexesOf(store.db, 'identities');
      await assert.rejects(
        store.db.transaction().execute((trx) =>
          withIndexesDeferred(trx, ['identities'], async () => {
            await trx.insertInto('identities').values([identity('E1', 'Sales'), identity('E1', 'twice')]).execute();
          }),
        ),
        /duplicate key/,
      );
      assert.deepEqual(await indexesOf(store.db, 'identities'), before);
      assert.equal((await store.db.selectFrom('identities').select('key').execute()).length, 0);
    } finally {
      await store.close();
    }
  });

  test(`a foreign key is checked once after the load: a dangling reference fails the load and leaves nothing, and the key holds afterwards (${backend.name})`, async () => {
    const store = await backend.open();
    try {
      const keys = async () => (await sql<{ def: string }>`SELECT conname || ' ' || pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'source_records'::regclass ORDER BY conname`.execute(store.db)).rows.map((r) => r.def);
      const before = await keys();
      assert.ok(before.some((d) => d.includes('FOREIGN KEY (identity_key) REFERENCES identities(key)')));
      const record = (identityKey: string) => ({ source: 'hr', record_key: identityKey, identity_key: identityKey, data: '{}', present: true, last_import_id: 'i1' });
      let during: string[] = [];
      await assert.rejects(
        store.db.transaction().execute((trx) =>
          withIndexesDeferred(trx, ['identities', 'source_records'], async () => {
            during = (await sql<{ def: string }>`SELECT conname AS def FROM pg_constraint WHERE conrelid = 'source_records'::regclass AND contype = 'f'`.execute(trx)).rows.map((r) => r.def);
            await trx.insertInto('identities').values(identity('E1', 'Sales')).execute();
            await trx.insertInto('source_records').values([record('E1'), record('E404')]).execute();
          }),
        ),
        /foreign key constraint/,
      );
      assert.deepEqual(during, [], 'no foreign key is checked row by row during the load');
      assert.deepEqual(await keys(), before);
      assert.equal((await store.db.selectFrom('identities').select('key').execute()).length, 0);
      await store.db.transaction().execute((trx) =>
        withIndexesDeferred(trx, ['identities', 'source_records'], async () => {
          await trx.insertInto('identities').values(identity('E1', 'Sales')).execute();
          await trx.insertInto('source_records').values(record('E1')).execute();
        }),
      );
      assert.deepEqual(await keys(), before);
      await assert.rejects(store.db.insertInto('source_records').values(record('E404')).execute(), /foreign key constraint/);
    } finally {
      await store.close();
    }
  });

  test(`indexes are never dropped outside a transaction (${backend.name})`, async () => {
    const store = await backend.open();
    try {
      const before = await indexesOf(store.db, 'identities');
      await assert.rejects(
        withIndexesDeferred(store.db, ['identities'], async () => undefined),
        (e: unknown) => isJmlError(e, 'internal'),
      );
      assert.deepEqual(await indexesOf(store.db, 'identities'), before);
    } finally {
      await store.close();
    }
  });
}
