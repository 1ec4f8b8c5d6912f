import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testBackends } from '../../test/support/backends.ts';
import { staff, tempDir, testConfig, writeHr } from '../../test/support/hr-files.ts';
import { importSource } from './import-source.ts';

/** The search for identities with an event crossing the as-of (import-source.ts, crossingIdentities). */
const CROSSING_SEARCH = /from "lifecycle_events" where \(\("state" = \$\d+ and "effective_at" <= \$\d+\) or \("state" = \$\d+ and "effective_at" > \$\d+\)\)/;

for (const backend of testBackends()) {
  test(`a first import, whose identities are all new and written folded, does not search the events for identities to re-fold; a later import with a mover does (${backend.name})`, async () => {
    const store = await backend.open();
    try {
      let searches = 0;
      const db = store.db.withPlugin({
        transformQuery: ({ node, queryId }) => {
          if (CROSSING_SEARCH.test(store.db.getExecutor().compileQuery(node, queryId).sql)) searches += 1;
          return node;
        },
        transformResult: async ({ result }) => result,
      });
      const dir = tempDir();
      const run = (file: string, asOf: string) => importSource({ db, config: testConfig() }, { source: 'hr', file, actor: 'cli:test', asOf, now: new Date(`${asOf}T10:00:00Z`) });
      const first = await run(writeHr(dir, 'first.csv', staff(3, { department: 'Sales' })), '2026-11-01');
      assert.equal(first.counts.joiners, 3);
      assert.equal(searches, 0);

      const moved = staff(3, { department: 'Sales' }).map((p) => (p.id === 'E0002' ? { ...p, department: 'Finance' } : p));
      const second = await run(writeHr(dir, 'second.csv', moved), '2026-11-22');
      assert.equal(second.counts.movers, 1);
      assert.equal(searches, 1, 'an import touching a stored identity still looks for events crossing the as-of');
      const e2 = await store.db.selectFrom('identities').select(['attributes']).where('key', '=', 'E0002').executeTakeFirstOrThrow();
      assert.equal((e2.attributes as { department?: string }).department, 'Finance');
    } finally {
      await store.close();
    }
  });
}
