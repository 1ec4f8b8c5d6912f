/**
 * A batch command's PostgreSQL backends follow its lower CPU priority, on a
 * real server on this machine (the test server at JML_TEST_DATABASE_URL).
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createScratchDatabase, type ScratchDatabase } from '../../test/support/scratch-database.ts';
import { lowerBackendPriority } from './backend-priority.ts';
import { openStore } from './open-store.ts';

const serverUrl = process.env.JML_TEST_DATABASE_URL;

test('a nice value of 0 asks the server nothing and changes nothing', async () => {
  const asked: string[] = [];
  const client = { query: async (text: string) => (asked.push(text), { rows: [] }) };
  assert.equal(await lowerBackendPriority(client, 0), null);
  assert.deepEqual(asked, []);
});

test('a backend on another machine is left alone, even when a local process has its id', async () => {
  const client = { query: async () => ({ rows: [{ pid: process.pid, address: '10.1.2.3' }] }) };
  assert.equal(await lowerBackendPriority(client, 10), null);
  assert.equal(os.getPriority(process.pid), os.getPriority());
});

test('a process id that is not a PostgreSQL process here is left alone', async () => {
  // This test's own process: local, but not a server backend.
  const before = os.getPriority(process.pid);
  const client = { query: async () => ({ rows: [{ pid: process.pid, address: '127.0.0.1' }] }) };
  assert.equal(await lowerBackendPriority(client, before + 5), null);
  assert.equal(os.getPriority(process.pid), before);
});

describe('on a PostgreSQL server on this machine', { skip: serverUrl ? false : 'JML_TEST_DATABASE_URL is not set' }, () => {
  let scratch: ScratchDatabase;
  before(async () => (scratch = await createScratchDatabase(serverUrl!, 'jml_backend_priority')));
  after(async () => scratch?.drop());

  const backendPriorities = async (backendNice: number | undefined) => {
    const store = await openStore({ databaseUrl: scratch.url, poolSize: 3, ...(backendNice === undefined ? {} : { backendNice }) });
    try {
      // Three statements at once: three connections of the pool, each a backend of its own.
      const pids = await Promise.all([1, 2, 3].map(async () => (await sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.05)`.execute(store.db)).rows[0]!.pid));
      return [...new Set(pids)].map((pid) => os.getPriority(pid));
    } finally {
      await store.close();
    }
  };

  test('a store opened at a batch nice value runs every one of its backends at that value', async (t) => {
    const priorities = await backendPriorities(7);
    if (priorities.every((p) => p === 0) && process.getuid?.() !== 0) return t.skip('this user may not renice the server’s processes');
    assert.ok(priorities.length >= 2, `several backends: ${priorities.length}`);
    assert.deepEqual(priorities, priorities.map(() => 7));
  });

  test('a store opened without one leaves its backends at the server’s own priority', async () => {
    const priorities = await backendPriorities(undefined);
    assert.deepEqual(priorities, priorities.map(() => 0));
  });
});
