import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { isJmlError } from '../domain/errors.ts';
import { jmlErrorFromDriver } from './driver-errors.ts';
import { openStore } from './open-store.ts';

async function refusal(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('the database accepted it');
}

test('the database refusing a value is invalid input, a duplicate a conflict, and anything else stays unexpected', async () => {
  const store = await openStore({ dataDir: 'memory://' });
  try {
    const badNumber = jmlErrorFromDriver(await refusal(() => sql`select ${'abc'}::int`.execute(store.db)));
    assert.ok(isJmlError(badNumber, 'invalid_input'));
    assert.match(badNumber.message, /SQLSTATE 22P02/);
    assert.doesNotMatch(badNumber.message, /abc/, 'the value is not echoed');
    assert.ok(isJmlError(jmlErrorFromDriver(await refusal(() => sql`select ${'a\u0000'}::text`.execute(store.db))), 'invalid_input'));

    await sql`create table t (k text primary key)`.execute(store.db);
    await sql`insert into t values ('a')`.execute(store.db);
    assert.ok(isJmlError(jmlErrorFromDriver(await refusal(() => sql`insert into t values ('a')`.execute(store.db))), 'conflict'));

    assert.equal(jmlErrorFromDriver(await refusal(() => sql`select * from no_such_table`.execute(store.db))), null);
    assert.equal(jmlErrorFromDriver(Object.assign(new Error('pipe'), { code: 'EPIPE' })), null);
    assert.equal(jmlErrorFromDriver(new Error('plain')), null);
  } finally {
    await store.close();
  }
});
