import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { testBackends } from '../../test/support/backends.ts';
import { bulkInsert } from './bulk-write.ts';
import type { Database } from './database.ts';

for (const backend of testBackends()) {
  test(`a text[] column goes in with its row, empty arrays and awkward strings intact, across chunks (${backend.name})`, async () => {
    const store = await backend.open();
    try {
      await store.db.insertInto('review_campaigns').values({ id: 'rc', review: 'r', definition: '{}', state: 'open', snapshot_hash: 'h', started_at: new Date().toISOString(), started_by: 't', due_at: new Date().toISOString() }).execute();
      const reviewers = [[], ['M1'], ['a,b', 'say "hi"', '{braces}', 'NULL', ''], ['M1', 'M2']];
      const rows = reviewers.map((r, i) => ({ id: `i${i}`, campaign_id: 'rc', identity_key: `E${i}`, system: 's', entitlement: null, privileged: false, context: { n: i }, reviewers: r }));
      await bulkInsert(store.db, 'review_items', { id: 'text', campaign_id: 'text', identity_key: 'text', system: 'text', entitlement: 'text', privileged: 'boolean', context: 'jsonb', reviewers: 'text[]' }, rows, { chunkSize: 3 });
      const back = await store.db.selectFrom('review_items').select(['id', 'reviewers', 'context']).orderBy('id').execute();
      assert.deepEqual(back.map((r) => [r.id, r.reviewers, r.context]), rows.map((r) => [r.id, r.reviewers, r.context]));
    } finally {
      await store.close();
    }
  });
}

for (const backend of testBackends()) {
  test(`every column type reads back as written: quotes, backslashes, braces, non-Latin text, NULLs, dates, instants with offsets, booleans and numbers (${backend.name})`, async () => {
    const store = await backend.open();
    try {
      await sql`CREATE TABLE bulk_types (t text, j jsonb, d date, ts timestamptz, b boolean, n bigint, i integer)`.execute(store.db);
      const awkward = ['say "hi"', 'back\\slash \\"', '{a,b}', 'NULL', '', 'Zoë Ünal 李 😀', 'tab\there'];
      const rows = awkward.map((t, k) => ({
        t,
        j: { text: t, list: [t, null, k], nested: { quote: '"' } },
        d: `2026-0${(k % 9) + 1}-1${k}`,
        ts: k % 2 === 0 ? `2026-11-0${k + 1}T23:00:00.123Z` : new Date(Date.UTC(2026, 10, k, 5, 6, 7)),
        b: k % 2 === 0,
        n: 2 ** 40 + k,
        i: 10 - k,
      }));
      const nulls = { t: null, j: null, d: null, ts: null, b: null, n: null, i: null };
      const columns = { t: 'text', j: 'jsonb', d: 'date', ts: 'timestamptz', b: 'boolean', n: 'bigint', i: 'integer' } as const;
      await bulkInsert(store.db, 'bulk_types' as keyof Database, columns, [...rows, nulls], { chunkSize: 3 });
      const back = await sql<Record<string, unknown>>`SELECT t, j, d::text AS d, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts, b, n, i FROM bulk_types ORDER BY i DESC NULLS LAST`.execute(store.db);
      const expected = [...rows, nulls].map((r) => ({ ...r, ts: r.ts === null ? null : new Date(r.ts).toISOString() }));
      assert.deepEqual(back.rows, expected);
    } finally {
      await store.close();
    }
  });
}

for (const backend of testBackends()) {
  test(`rows from a generator go in a chunk at a time, and a then-function is built after the last row was produced and runs with the last chunk (${backend.name})`, async () => {
    const store = await backend.open();
    try {
      await sql`CREATE TABLE bulk_gen (n integer)`.execute(store.db);
      await sql`CREATE TABLE bulk_gen_last (n integer)`.execute(store.db);
      let produced = 0;
      function* rows(): Generator<{ n: number }> {
        for (let n = 1; n <= 5; n += 1) {
          produced = n;
          yield { n };
        }
      }
      await store.db.transaction().execute((trx) =>
        bulkInsert(trx, 'bulk_gen' as keyof Database, { n: 'integer' }, rows(), { chunkSize: 2, then: () => sql`INSERT INTO bulk_gen_last VALUES (${produced})` }),
      );
      const back = await sql<{ n: number }>`SELECT n FROM bulk_gen ORDER BY n`.execute(store.db);
      assert.deepEqual(back.rows.map((r) => r.n), [1, 2, 3, 4, 5]);
      const last = await sql<{ n: number }>`SELECT n FROM bulk_gen_last`.execute(store.db);
      assert.deepEqual(last.rows, [{ n: 5 }]);
    } finally {
      await store.close();
    }
  });
}

for (const backend of testBackends()) {
  test(`a chunk's JSON column travels as one JSON document of its values (no escaped array element per row), and a JSON column's null is NULL (${backend.name})`, async () => {
    const store = await backend.open();
    try {
      await sql`CREATE TABLE bulk_json (n integer, j jsonb, tags text[])`.execute(store.db);
      const { db, sent } = recordingParameters(store.db);
      const rows = [
        { n: 1, j: { say: 'a "quoted" \\ word' }, tags: ['x'] },
        { n: 2, j: null, tags: null },
        { n: 3, j: 'null', tags: [] },
      ];
      await bulkInsert(db, 'bulk_json' as keyof Database, { n: 'integer', j: 'jsonb', tags: 'text[]' }, rows);
      assert.equal(sent.length, 1);
      const [numbers, documents, tagDocuments] = sent[0]!;
      assert.deepEqual(numbers, [1, 2, 3]);
      assert.deepEqual(JSON.parse(documents as string), [rows[0]!.j, null, 'null']);
      assert.deepEqual(JSON.parse(tagDocuments as string), [['x'], null, []]);
      const back = await sql<{ n: number; j: unknown; is_null: boolean; tags: string[] }>`SELECT n, j, j IS NULL AS is_null, tags FROM bulk_json ORDER BY n`.execute(store.db);
      assert.deepEqual(back.rows, [
        { n: 1, j: rows[0]!.j, is_null: false, tags: ['x'] },
        { n: 2, j: null, is_null: true, tags: [] },
        { n: 3, j: 'null', is_null: false, tags: [] },
      ]);
    } finally {
      await store.close();
    }
  });
}

for (const backend of testBackends()) {
  test(`a column with the same value on every row of a chunk is sent once, not once per row, and every row reads it back, whatever its type (${backend.name})`, async () => {
    const store = await backend.open();
    try {
      await sql`CREATE TABLE bulk_same (n integer, t text, d date, ts timestamptz, b boolean, j jsonb, none jsonb, tags text[])`.execute(store.db);
      const { db, sent } = recordingParameters(store.db);
      const same = { t: 'say "hi"', d: '2026-11-01', ts: '2026-11-01T10:00:00.000Z', b: false, j: { a: [1, 'x'] }, none: null, tags: ['M1', 'a,b'] };
      // The second chunk's text differs per row: only that column goes back to travelling per row.
      const rows = [1, 2, 3, 4, 5].map((n) => ({ n, ...same, t: n <= 3 ? same.t : `t${n}` }));
      const columns = { n: 'integer', t: 'text', d: 'date', ts: 'timestamptz', b: 'boolean', j: 'jsonb', none: 'jsonb', tags: 'text[]' } as const;
      await bulkInsert(db, 'bulk_same' as keyof Database, columns, rows, { chunkSize: 3 });
      assert.equal(sent.length, 2);
      // The statement's parameters, in whatever order the SQL places them.
      assert.deepEqual(new Set(sent[0]), new Set([[1, 2, 3], same.t, same.d, same.ts, same.b, JSON.stringify(same.j), null, JSON.stringify(same.tags)]));
      assert.deepEqual(new Set(sent[1]), new Set([[4, 5], ['t4', 't5'], same.d, same.ts, same.b, JSON.stringify(same.j), null, JSON.stringify(same.tags)]));
      const back = await sql<Record<string, unknown>>`SELECT n, t, d::text AS d, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts, b, j, none, tags FROM bulk_same ORDER BY n`.execute(store.db);
      assert.deepEqual(back.rows, rows);
    } finally {
      await store.close();
    }
  });
}

/** `db` that records the parameters of every statement it sends, one list per statement, in `sent`. */
function recordingParameters(base: Kysely<Database>): { db: Kysely<Database>; sent: unknown[][] } {
  const sent: unknown[][] = [];
  const db = base.withPlugin({
    transformQuery: ({ node, queryId }) => {
      sent.push([...base.getExecutor().compileQuery(node, queryId).parameters]);
      return node;
    },
    transformResult: async ({ result }) => result,
  });
  return { db, sent };
}
