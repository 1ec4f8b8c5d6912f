import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { testBackends } from '../../test/support/backends.ts';
import type { Store } from './open-store.ts';
import { createPriorityLane } from './priority-lane.ts';

describe('priority lane on the embedded store', () => {
  let store: Store;
  before(async () => {
    store = await testBackends().find((b) => b.name === 'pglite')!.open();
  });
  after(async () => {
    await store.close();
  });

  /** Holds PGlite's one connection in a transaction until the returned function is called. */
  async function holdConnection(): Promise<() => Promise<void>> {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const done = store.db.transaction().execute(async (trx) => {
      await sql`SELECT 1`.execute(trx);
      holding();
      await gate;
    });
    await held;
    return async () => {
      release();
      await done;
    };
  }

  test('a leaver’s statement issued while other statements wait for the connection runs before them', async () => {
    const lane = store.lane!;
    const order: string[] = [];
    const statement = (name: string) => sql`SELECT ${name}::text AS name`.execute(store.db).then(() => void order.push(name));
    const releaseConnection = await holdConnection();
    const others = [statement('joiner 1'), statement('joiner 2'), statement('joiner 3')];
    // The three are queued for the connection before the leaver's statement is issued.
    await sleep(20);
    const leaver = lane.urgent(() => statement('leaver'));
    await sleep(20);
    await releaseConnection();
    await Promise.all([...others, leaver]);

    assert.deepEqual(order, ['leaver', 'joiner 1', 'joiner 2', 'joiner 3']);
  });

  test('other statements wait while a leaver’s work is in flight, between its statements too', async () => {
    const lane = store.lane!;
    const order: string[] = [];
    const statement = (name: string) => sql`SELECT ${name}::text AS name`.execute(store.db).then(() => void order.push(name));
    // Another change's statement, asked for (outside the leaver's work) while the leaver waits on a connector call.
    let ask!: () => void;
    const other = new Promise<void>((resolve) => (ask = resolve)).then(() => statement('joiner'));
    await lane.urgent(async () => {
      await statement('leaver reads');
      ask();
      await sleep(100);
      await statement('leaver records');
    });
    await other;

    assert.deepEqual(order, ['leaver reads', 'leaver records', 'joiner']);
  });

  test('a transaction begun before a leaver’s work is not held back midway, and the leaver goes next', async () => {
    const lane = store.lane!;
    const order: string[] = [];
    let step!: () => void;
    const stepped = new Promise<void>((resolve) => (step = resolve));
    let begun!: () => void;
    const inTransaction = new Promise<void>((resolve) => (begun = resolve));
    const joiner = store.db.transaction().execute(async (trx) => {
      await sql`SELECT 1`.execute(trx);
      begun();
      await stepped;
      await sql`SELECT 2`.execute(trx);
      order.push('joiner committed');
    });
    await inTransaction;
    const leaver = lane.urgent(async () => {
      step();
      await sql`SELECT 'leaver'`.execute(store.db);
      order.push('leaver');
    });
    const later = sleep(10).then(() => sql`SELECT 'joiner again'`.execute(store.db).then(() => void order.push('joiner again')));
    await Promise.all([joiner, leaver, later]);

    assert.deepEqual(order, ['joiner committed', 'leaver', 'joiner again']);
  });
});

describe('priority lane', () => {
  test('other work gives way until the urgent work in flight has ended', async () => {
    const lane = createPriorityLane();
    const order: string[] = [];
    let finish!: () => void;
    const urgent = lane.urgent(() => new Promise<void>((resolve) => (finish = resolve)).then(() => void order.push('urgent done')));
    const other = lane.giveWay(5_000).then(() => void order.push('other goes'));
    await sleep(30);
    order.push('still waiting');
    finish();
    await Promise.all([urgent, other]);

    assert.deepEqual(order, ['still waiting', 'urgent done', 'other goes']);
  });

  test('urgent work that does not end holds the rest back only until the cap', async () => {
    const lane = createPriorityLane();
    void lane.urgent(() => new Promise<void>(() => undefined));
    const started = performance.now();
    await lane.giveWay(100);
    const waited = performance.now() - started;

    assert.ok(waited >= 90 && waited < 1_000, `gave way for ${Math.round(waited)} ms`);
  });

  test('urgent work does not give way to itself, and nothing gives way when no urgent work is in flight', async () => {
    const lane = createPriorityLane();
    const started = performance.now();
    await lane.giveWay(5_000);
    await lane.urgent(async () => {
      void lane.urgent(() => new Promise<void>(() => undefined));
      await lane.giveWay(5_000);
    });

    assert.ok(performance.now() - started < 1_000);
  });
});
