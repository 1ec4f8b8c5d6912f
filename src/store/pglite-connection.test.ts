import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { pglitePoolConfig } from './pglite-connection.ts';
import { prebuiltCluster } from './pglite-cluster.ts';

describe('the PGlite connection pg talks through', () => {
  let pglite: PGlite;
  let pool: pg.Pool;
  let calls = 0;
  /** Pieces of output the last call's replies came in. */
  let chunks = 0;

  before(async () => {
    const start = prebuiltCluster();
    pglite = await PGlite.create('memory://', start ? { loadDataDir: start } : {});
    const execute = pglite.execProtocolRawStream.bind(pglite);
    pglite.execProtocolRawStream = (message, options) => {
      calls += 1;
      chunks = 0;
      return execute(message, { ...options, onRawData: (chunk) => ((chunks += 1), options.onRawData(chunk)) });
    };
    pool = new pg.Pool(pglitePoolConfig(pglite));
    await pool.query('CREATE TABLE person (key text PRIMARY KEY, name text NOT NULL)');
  });

  after(async () => {
    await pool.end();
    await pglite.close();
  });

  test('a statement with parameters is one call into the database, not one per protocol message', async () => {
    calls = 0;
    const result = await pool.query('INSERT INTO person VALUES ($1, $2) RETURNING key', ['E1', 'Ada']);
    assert.deepEqual(result.rows, [{ key: 'E1' }]);
    assert.equal(calls, 1);
  });

  test('parameters with multi-byte characters arrive intact, however long', async () => {
    const name = `Zoë 漢字 𝄞 ${'ß'.repeat(100_000)} 😀`;
    await pool.query('INSERT INTO person VALUES ($1, $2)', ['E-utf8', name]);
    const stored = await pool.query('SELECT name, octet_length(name) AS bytes FROM person WHERE key = $1', ['E-utf8']);
    // The row came in several pieces of output, put together as a socket's reader does.
    assert.ok(chunks > 1, `${chunks} piece(s) of output`);
    assert.equal(stored.rows[0].name, name);
    assert.equal(stored.rows[0].bytes, Buffer.byteLength(name));
    await pool.query('DELETE FROM person WHERE key = $1', ['E-utf8']);
  });

  test('a named statement is parsed once and then only bound and executed, with the right rows each time', async () => {
    await pool.query('INSERT INTO person VALUES ($1, $2), ($3, $4)', ['E2', 'Grace', 'E3', 'Edsger']);
    const byKey = (key: string) => pool.query({ name: 'person-by-key', text: 'SELECT name FROM person WHERE key = $1', values: [key] });
    assert.deepEqual((await byKey('E2')).rows, [{ name: 'Grace' }]);
    calls = 0;
    assert.deepEqual((await byKey('E3')).rows, [{ name: 'Edsger' }]);
    assert.equal(calls, 1);
  });

  test('a client ended while its connection is busy does not end the next client the pool hands the connection to', { timeout: 10_000 }, async () => {
    const first = await pool.connect();
    const slow = first.query('SELECT pg_sleep(0.05)');
    // Ended with an error, as pg's pool ends a client whose caller reports one: the pool hands the one connection on.
    first.release(new Error('caller gave up'));
    await slow.catch(() => undefined);
    const next = await pool.connect();
    try {
      const errors: unknown[] = [];
      next.on('error', (error) => errors.push(error));
      const result = await next.query('SELECT 1 AS one');
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(result.rows, [{ one: 1 }]);
      assert.deepEqual(errors, []);
    } finally {
      next.release();
    }
  });

  test('a failing statement reports its error and the next statement on the connection still runs', async () => {
    await assert.rejects(pool.query('INSERT INTO person VALUES ($1, $2)', ['E1', 'again']), /duplicate key value violates unique constraint "person_pkey"/);
    await assert.rejects(pool.query('SELECT $1::int AS n', ['not a number']), /invalid input syntax for type integer/);
    assert.deepEqual((await pool.query('SELECT count(*)::int AS n FROM person WHERE name <> $1', [''])).rows, [{ n: 3 }]);
  });

  test('a transaction rolled back after a failed statement leaves nothing behind', async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO person VALUES ($1, $2)', ['E9', 'Barbara']);
      await assert.rejects(client.query('INSERT INTO person VALUES ($1, $2)', ['E9', 'twice']), /duplicate key/);
      await assert.rejects(client.query('SELECT 1 FROM person WHERE key = $1', ['E9']), /current transaction is aborted/);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    assert.deepEqual((await pool.query('SELECT key FROM person WHERE key = $1', ['E9'])).rows, []);
  });
});
