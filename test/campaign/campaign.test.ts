/**
 * A short fault campaign inside `npm test`: a few fixed seeds (the same
 * histories every run) and one fresh seed (printed, so a failure replays with
 * `npm run campaign -- --seed S --path P`). The long campaign is
 * `npm run campaign -- --runs N`; see docs/testing.md.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { describeFailure, emptyTally, runCampaign } from './campaign-run.ts';

let template: Promise<Blob> | null = null;
async function freshStore(): Promise<Store> {
  template ??= (async () => {
    const store = await openStore({ dataDir: 'memory://' });
    const blob = await store.dump!();
    await store.close();
    return blob;
  })();
  return openStore({ dataDir: 'memory://', loadDataDir: await template });
}

const FIXED_SEEDS = [11, 12, 13];
const freshSeed = Date.now() % 2 ** 31;

for (const seed of [...FIXED_SEEDS, freshSeed]) {
  test(`histories from seed ${seed} end, once faults heal, with every invariant holding`, { timeout: 240_000 }, async (t) => {
    const tally = emptyTally();
    const result = await runCampaign({ runs: 3, seed, maxOperations: 10, openStore: freshStore, tally });
    t.diagnostic(`seed ${seed}: ${tally.histories} histories, faults ${JSON.stringify(tally.faults)}, slowest recovery ${tally.slowestRecoveryMs} ms`);
    assert.equal(result.failed, false, describeFailure(result));
  });
}
