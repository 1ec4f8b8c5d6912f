import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { openStore } from './open-store.ts';
import { prebuiltCluster, prebuiltClusterFile } from './pglite-cluster.ts';

test('jml ships the empty cluster for the PGlite it runs on (regenerate with node scripts/pglite-cluster.ts)', () => {
  assert.ok(existsSync(prebuiltClusterFile()), `${path.basename(prebuiltClusterFile())} is missing: new data directories would run initdb`);
});

test('a new data directory starts from the shipped cluster, migrates, and keeps what is written after it is reopened', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jml-cluster-'));
  const systemId = async (store: Awaited<ReturnType<typeof openStore>>) =>
    String((await sql<{ id: string }>`SELECT system_identifier::text AS id FROM pg_control_system()`.execute(store.db)).rows[0]!.id);
  try {
    const shipped = await openStore({ dataDir: 'memory://', loadDataDir: prebuiltCluster()!, migrate: false });
    const shippedId = await systemId(shipped);
    await shipped.close();

    const store = await openStore({ dataDir: path.join(dir, 'data') });
    assert.equal(await systemId(store), shippedId, 'the cluster was made by initdb, not unpacked');
    await store.db.insertInto('identities').values({ key: 'E1', kind: 'employee', status: 'active', source: 'hr', attributes: JSON.stringify({}), start_date: null, end_date: null, owner: null, sponsor: null }).execute();
    await store.close();

    const reopened = await openStore({ dataDir: path.join(dir, 'data') });
    assert.deepEqual((await reopened.db.selectFrom('identities').select('key').execute()).map((r) => r.key), ['E1']);
    assert.equal((await sql<{ shared_buffers: string }>`SHOW shared_buffers`.execute(reopened.db)).rows[0]!.shared_buffers, '32MB');
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
