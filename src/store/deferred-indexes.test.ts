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
