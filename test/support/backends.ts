/**
 * Storage backends for tests. Every store test loops over `testBackends()`:
 * embedded PGlite always, and a real PostgreSQL server when
 * JML_TEST_DATABASE_URL points at one (`.ci/run` starts one on loopback).
 * Each test store is a fresh database, dropped afterwards.
 */
import { openStore, type Backend, type Store } from '../../src/store/open-store.ts';
import { postgresSkipReason } from '../peers/peer-process.ts';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database.ts';

export interface TestBackend {
  readonly name: Backend;
  /** Opens a fresh, migrated, empty store. */
  open(): Promise<Store>;
}

const adminUrl = process.env.JML_TEST_DATABASE_URL;

if (process.env.CI === 'true' && !adminUrl) {
  throw new Error('CI must run the store tests on PostgreSQL too: set JML_TEST_DATABASE_URL (.ci/run does)');
}
// Without a server the PostgreSQL half of every store test is left out: under JML_REQUIRE_PEERS=1 that fails instead.
postgresSkipReason();

export function testBackends(): readonly TestBackend[] {
  const list: TestBackend[] = [{ name: 'pglite', open: openFreshPglite }];
  if (adminUrl) list.push({ name: 'postgres', open: openFreshPostgres });
  return list;
}

/** A connection string for a new, empty database on the test server; the caller owns it. */
export async function createTestDatabase(): Promise<ScratchDatabase> {
  if (!adminUrl) throw new Error('JML_TEST_DATABASE_URL is not set');
  return createScratchDatabase(adminUrl);
}

let pgliteTemplate: Promise<Blob> | null = null;

/** initdb costs ~2.5 s on this machine; a migrated template loaded from memory costs ~0.4 s. */
async function openFreshPglite(): Promise<Store> {
  pgliteTemplate ??= (async () => {
    const template = await openStore({ dataDir: 'memory://' });
    const blob = await template.dump!();
    await template.close();
    return blob;
  })();
  return openStore({ dataDir: 'memory://', loadDataDir: await pgliteTemplate });
}

async function openFreshPostgres(): Promise<Store> {
  const database = await createTestDatabase();
  const store = await openStore({ databaseUrl: database.url, poolSize: 4 });
  return {
    ...store,
    close: async () => {
      await store.close();
      await database.drop();
    },
  };
}
