/**
 * An import through the API runs in the store's priority lane as preferred
 * work: on the embedded store its statements go before the workers' waiting
 * ones, since the leaver it may bring cannot be planned until it is written.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createConsoleServices } from '../../src/api/console-services.ts';
import { openStore } from '../../src/store/open-store.ts';
import { HR_HEADER, hrRow, tempDir, testConfig } from '../support/hr-files.ts';

test("an import through the API runs as the lane's preferred work, once per import", async () => {
  const dataDir = tempDir();
  const store = await openStore({ dataDir });
  try {
    const lane = store.lane!;
    let preferredRuns = 0;
    let markedInside = false;
    const services = createConsoleServices({
      db: store.db, backend: store.backend, config: { ...testConfig(), data_dir: dataDir }, now: () => new Date('2026-03-02T09:00:00Z'),
      lane: { preferred: (fn) => (preferredRuns++, lane.preferred(() => ((markedInside = lane.isUrgent()), fn()))) },
    });
    const content = [HR_HEADER, hrRow({ id: 'E1', first: 'Ada', last: 'Lovelace', department: 'Ops', start: '2026-01-01' })].join('\n') + '\n';
    const outcome = await services.imports!.importSource({ source: 'hr', fileName: 'hr.csv', content, dryRun: false, actor: 'test' });
    assert.equal(outcome.status, 'applied');
    assert.equal(preferredRuns, 1);
    assert.equal(markedInside, true, "the import's work runs under the lane's mark");
  } finally {
    await store.close();
  }
});
