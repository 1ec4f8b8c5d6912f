import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { testBackends } from '../../test/support/backends.ts';
import { forEachPage } from './cursor-read.ts';
import type { Store } from './open-store.ts';

const AT = '2026-03-02T09:00:00.000Z';

for (const backend of testBackends()) {
  describe(`reading a result a page at a time (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      await store.db.insertInto('reconcile_runs').values({
        id: 'run-1', system: 'vpn', status: 'completed', phase: 'done', cursor: null, pages: 1, summary: null,
        error: null, actor: 'test', started_at: AT, updated_at: AT, finished_at: AT,
      }).execute();
      await store.db.insertInto('observed_grants').values(Array.from({ length: 23 }, (_, i) => ({ run_id: 'run-1', system: 'vpn', account_id: `a${String(22 - i).padStart(2, '0')}`, entitlement: `e${i}` }))).execute();
    });
    after(() => store.close());

    const grants = () => store.db.selectFrom('observed_grants').select(['account_id', 'entitlement']).where('run_id', '=', sql.lit('run-1')).orderBy('account_id');
    const query = () => store.db.selectFrom('observed_grants').select(['account_id', 'entitlement']).where('run_id', '=', 'run-1').orderBy('account_id');

    test('every row comes once, in the query\'s order, in pages of at most the page size, its parameters bound', async () => {
      for (const pageRows of [5, 23, 100]) {
        const pages: number[] = [];
        const ids: string[] = [];
        await forEachPage(store.db, query(), (rows) => {
          pages.push(rows.length);
          for (const r of rows) ids.push(r.account_id);
        }, pageRows);
        assert.deepEqual(ids, (await grants().execute()).map((r) => r.account_id));
        assert.equal(ids.length, 23);
        assert.deepEqual(pages, pageRows === 5 ? [5, 5, 5, 5, 3] : [23]);
      }
    });

    test('inside a caller\'s transaction the cursor is read in it, closed after, and the transaction goes on', async () => {
      const seen = await store.db.transaction().execute(async (trx) => {
        await trx.insertInto('observed_grants').values({ run_id: 'run-1', system: 'vpn', account_id: 'a99', entitlement: 'uncommitted' }).execute();
        let count = 0;
        await forEachPage(trx, trx.selectFrom('observed_grants').select('entitlement').where('run_id', '=', 'run-1'), (rows) => (count += rows.length), 10);
        const open = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_cursors`.execute(trx);
        assert.equal(open.rows[0]!.n, 0, 'no cursor left open');
        await trx.deleteFrom('observed_grants').where('account_id', '=', 'a99').execute();
        return count;
      });
      assert.equal(seen, 24, 'the row written earlier in the transaction is read');
    });

    test('a failure while taking a page ends the read with that failure, and the store reads on afterwards', async () => {
      await assert.rejects(forEachPage(store.db, query(), () => {
        throw new Error('builder failed');
      }, 5), /builder failed/);
      assert.equal((await grants().execute()).length, 23);
    });
  });
}
