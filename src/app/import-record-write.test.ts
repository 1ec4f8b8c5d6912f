import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { testBackends } from '../../test/support/backends.ts';
import { staff, tempDir, testConfig, writeHr } from '../../test/support/hr-files.ts';
import { importSource } from './import-source.ts';

for (const backend of testBackends()) {
  test(`records the source did not have are inserted without ON CONFLICT, and a later import's changed records are upserted over the stored ones (${backend.name})`, async () => {
    const store = await backend.open();
    try {
      const statements: string[] = [];
      const db = store.db.withPlugin({
        transformQuery: ({ node, queryId }) => {
          const text = store.db.getExecutor().compileQuery(node, queryId).sql;
          if (text.includes('INSERT INTO "source_records"')) statements.push(text);
          return node;
        },
        transformResult: async ({ result }) => result,
      });
      const dir = tempDir();
      const run = (file: string, asOf: string) => importSource({ db, config: testConfig() }, { source: 'hr', file, actor: 'cli:test', asOf, now: new Date(`${asOf}T10:00:00Z`) });
      await run(writeHr(dir, 'first.csv', staff(3, { department: 'Sales' })), '2026-11-01');
      assert.equal(statements.length, 1);
      assert.doesNotMatch(statements[0]!, /ON CONFLICT/);

      statements.length = 0;
      const second = [...staff(3, { department: 'Sales' }).map((p) => (p.id === 'E0002' ? { ...p, department: 'Finance' } : p)), ...staff(4).slice(3)];
      const r = await run(writeHr(dir, 'second.csv', second), '2026-11-22');
      assert.deepEqual([r.counts.movers, r.counts.joiners], [1, 1]);
      assert.deepEqual(statements.map((s) => /ON CONFLICT/.test(s)), [false, true], 'the new record inserted, the changed one upserted');
      const stored = await sql<{ record_key: string; department: string }>`SELECT record_key, data->>'department' AS department FROM source_records ORDER BY record_key`.execute(store.db);
      assert.deepEqual(stored.rows.map((row) => [row.record_key, row.department]), [['E0001', 'Sales'], ['E0002', 'Finance'], ['E0003', 'Sales'], ['E0004', 'Engineering']]);
    } finally {
      await store.close();
    }
  });
}
