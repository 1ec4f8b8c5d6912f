import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { testBackends } from '../../test/support/backends.ts';
import { FAST_START, forEachCopiedRow, unescapeField, withLiterals, type CopiedRow } from './copy-read.ts';
import type { Store } from './open-store.ts';

const AT = '2026-03-02T09:00:00.000Z';
/** Every character COPY's text format escapes, a quote, a lone `\N` as text, and letters outside ASCII. */
const AWKWARD = ['tab\there', 'line\nbreak\r\n', 'back\\slash \\N', '\\N', "it's", '\b\f\v', 'Zürich ～ 😀', ''];

test('a COPY field is unescaped as PostgreSQL writes it; \\N alone is NULL', () => {
  assert.equal(unescapeField('\\N'), null);
  assert.equal(unescapeField('a\\tb\\nc\\\\N\\r\\b\\f\\v'), 'a\tb\nc\\N\r\b\f\v');
  assert.equal(unescapeField('plain'), 'plain');
});

test('parameters are written into the statement as literals; anything else is refused', () => {
  assert.equal(withLiterals('select $1, $2, $3, $10', ['a\'b\\c', 2, true, ...Array(6).fill(0), 'x']), "select E'a''b\\\\c', 2, true, E'x'");
  assert.throws(() => withLiterals('select $1', [null]), /parameter \$1 is null/);
  assert.throws(() => withLiterals('select $1', [{}]), /parameter \$1 is object/);
  assert.throws(() => withLiterals('select $1', ['a\u0000b']), /parameter \$1/);
});

for (const backend of testBackends()) {
  describe(`reading a result as COPY text (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      await store.db.insertInto('reconcile_runs').values({
        id: 'run-1', system: 'vpn', status: 'completed', phase: 'done', cursor: null, pages: 1, summary: null,
        error: null, actor: 'test', started_at: AT, updated_at: AT, finished_at: AT,
      }).execute();
      await store.db.insertInto('observed_accounts').values(AWKWARD.map((name, i) => ({
        run_id: 'run-1', system: 'vpn', account_id: `a${i}`, name, enabled: i % 2 === 0, attributes: JSON.stringify({ name, n: i }),
        last_login_at: i === 0 ? null : AT, identity_key: null, situation: 'unmatched',
      }))).execute();
    });
    after(() => store.close());

    const accounts = (runId: string) => store.db.selectFrom('observed_accounts')
      .select(['account_id', 'name', 'enabled', 'last_login_at'])
      .select(sql<string>`attributes::text`.as('attributes'))
      .where('run_id', '=', runId).orderBy('account_id');

    test('rows come in the query\'s order with every value as the row protocol reads it, its parameters bound as literals', async () => {
      const copied: CopiedRow[] = [];
      await forEachCopiedRow(store.db, accounts("run-1"), (row) => copied.push(row));
      const read = await accounts('run-1').execute();
      assert.equal(copied.length, AWKWARD.length);
      assert.deepEqual(copied, read.map((r) => [r.account_id, r.name, r.enabled ? 't' : 'f', r.last_login_at, r.attributes]));
      assert.deepEqual(copied.map((r) => r[1]), AWKWARD);
      assert.equal(copied[0]![3], null);
      // A value that needs quoting in the statement's text: no row, and no error.
      let none = 0;
      await forEachCopiedRow(store.db, accounts("run-1' or 'x' = 'x"), () => (none += 1));
      assert.equal(none, 0);
    });

    test('inside a caller\'s transaction the COPY sees its uncommitted rows and leaves its planner settings as they were', async () => {
      const before = await sql<{ s: string; q: string }>`select current_setting('enable_sort') as s, current_setting('enable_seqscan') as q`.execute(store.db);
      await store.db.transaction().execute(async (trx) => {
        await trx.insertInto('observed_accounts').values({
          run_id: 'run-1', system: 'vpn', account_id: 'zz-new', name: 'new', enabled: true, attributes: '{}', last_login_at: null, identity_key: null, situation: 'unmatched',
        }).execute();
        await sql`set local enable_sort = on`.execute(trx);
        const ids: (string | null)[] = [];
        await forEachCopiedRow(trx, accounts('run-1'), (row) => ids.push(row[0]!));
        assert.equal(ids.at(-1), 'zz-new');
        // While the COPY runs, the planner settings of a cursor's plan are in force.
        const names = Object.keys(FAST_START);
        const during: CopiedRow[] = [];
        await forEachCopiedRow(trx, trx.selectNoFrom(names.map((name, i) => sql<string>`current_setting(${name})`.as(`s${i}`))), (row) => during.push(row));
        assert.deepEqual(during, [Object.values(FAST_START)]);
        const after = await sql<{ s: string; q: string }>`select current_setting('enable_sort') as s, current_setting('enable_seqscan') as q`.execute(trx);
        assert.deepEqual(after.rows[0], { s: 'on', q: before.rows[0]!.q });
        await sql`select 1`.execute(trx);
        throw new Error('roll back');
      }).catch((error: Error) => assert.equal(error.message, 'roll back'));
      assert.equal((await store.db.selectFrom('observed_accounts').select('account_id').where('account_id', '=', 'zz-new').execute()).length, 0);
    });

    test('a COPY started while another runs in the same transaction, and one failing in its callback, leave its settings as they were', async () => {
      const setting = async (db: typeof store.db) => (await sql<{ s: string; q: string; j: string }>`select current_setting('enable_sort') as s, current_setting('enable_seqscan') as q, current_setting('jit') as j`.execute(db)).rows[0];
      const outside = await setting(store.db);
      await store.db.transaction().execute(async (trx) => {
        const counts = [0, 0];
        // The second is asked for from inside the first: its look at the settings would find the first's.
        let second: Promise<void> | null = null;
        await forEachCopiedRow(trx, accounts('run-1'), () => {
          counts[0]! += 1;
          second ??= forEachCopiedRow(trx, accounts('run-1'), () => (counts[1]! += 1));
        });
        await second;
        await assert.rejects(forEachCopiedRow(trx, accounts('run-1'), () => {
          throw new Error('callback failed');
        }), /callback failed/);
        assert.deepEqual(counts, [AWKWARD.length, AWKWARD.length]);
        assert.deepEqual(await setting(trx), outside);
      });
    });

    test('a run\'s accounts in order are read from the primary key\'s index, as a cursor would, not sorted', async () => {
      // What the COPY is planned as, asked of the server with the same settings around it.
      const compiled = accounts('run-1').compile();
      const plan = await store.db.transaction().execute(async (trx) => {
        await sql`select set_config('enable_seqscan', 'off', true), set_config('enable_sort', 'off', true), set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true)`.execute(trx);
        return sql.raw<{ 'QUERY PLAN': string }>(`EXPLAIN ${withLiterals(compiled.sql, compiled.parameters)}`).execute(trx);
      });
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      assert.match(text, /Index Scan using observed_accounts_pkey/);
      assert.doesNotMatch(text, /Sort/);
    });

    test('a result many times the server\'s send buffer (8 kB) comes whole and in order, each row as the row protocol reads it', async () => {
      // Rows of every length up to ~200 bytes, letters outside ASCII included, so that rows are cut at the ends of the pieces it comes in.
      const series = () => store.db.selectFrom(sql<{ n: number }>`generate_series(1, 20000)`.as('n'))
        .select(sql<string>`n::text`.as('n')).select(sql<string>`repeat('é', n % 97) || repeat('x', n % 13)`.as('text')).orderBy(sql`n`);
      const copied: CopiedRow[] = [];
      await forEachCopiedRow(store.db, series(), (row) => copied.push(row));
      const read = await series().execute();
      assert.equal(copied.length, 20_000);
      assert.deepEqual(copied, read.map((r) => [r.n, r.text]));
    });

    test('a failing statement or callback rejects, and the connection goes on serving', async () => {
      await assert.rejects(forEachCopiedRow(store.db, store.db.selectFrom('observed_accounts').select(sql<number>`1 / 0`.as('x')).where('run_id', '=', 'run-1'), () => undefined), /division by zero/);
      await assert.rejects(forEachCopiedRow(store.db, accounts('run-1'), () => {
        throw new Error('callback failed');
      }), /callback failed/);
      const rows = await store.db.selectFrom('observed_accounts').select('account_id').where('run_id', '=', 'run-1').execute();
      assert.equal(rows.length, AWKWARD.length);
    });
  });
}
