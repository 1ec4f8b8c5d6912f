/**
 * Access review benchmark (issue 12): start a campaign over a synthetic
 * organisation (the engine benchmark's: 100,000 identities, ~20 grants each),
 * then bulk-decide 1,000 and 10,000 items.
 *
 *   node bench/reviews-bench.ts [--identities N] [--db-identities N] [--backend pglite|postgres] [--json]
 *
 * Two measurements: the pure campaign start and decision step (src/engine) at
 * `--identities` (0 skips it), and the whole path through the store (insert every
 * item, the reviewer's inbox, decisions with one audit entry each) at
 * `--db-identities` (0 skips it) on PGlite or on a scratch database of the
 * PostgreSQL server in DATABASE_URL.
 *
 * Goals: start ≤ 30 s; a bulk decision of 1,000 items ≤ 2 s. Each figure is
 * printed with its goal and the load average (the machine is shared).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Identity } from '../src/domain/identity.ts';
import type { ReviewDef } from '../src/domain/review.ts';
import { startCampaign } from '../src/engine/review-campaign.ts';
import { decide, initialStates } from '../src/engine/review-decisions.ts';
import { closeCampaign } from '../src/engine/review-outcome.ts';
import type { PlanInput } from '../src/engine/plan.ts';
import { startReviewCampaign, decideReviewItems } from '../src/app/reviews/review-campaigns.ts';
import { reviewInbox } from '../src/app/reviews/review-queries.ts';
import os from 'node:os';
import { openStore } from '../src/store/open-store.ts';
import { createScratchDatabase } from '../test/support/scratch-database.ts';
import { syntheticOrganisation } from './engine-bench.ts';

const { values } = parseArgs({ options: { identities: { type: 'string' }, 'db-identities': { type: 'string' }, backend: { type: 'string', default: 'pglite' }, json: { type: 'boolean' } } });
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
const REVIEWER = 'P000000';

const review: ReviewDef = {
  name: 'bench', description: '',
  scope: { systems: [], entitlements: [], privilegedOnly: false, role: null, kinds: [], manager: null, owner: null },
  stages: [{ name: 'security', reviewers: { type: 'identities', keys: [REVIEWER] }, fallback: [], advance: 'kept' }],
  recurrence: null, durationDays: 14, reminders: { midpoint: true, daysBefore: [1] }, escalateAfterDays: null,
  noResponse: 'recommendation', cap: { maxPercent: 10, holdPrivileged: true }, unusedDays: { standard: 90, privileged: 30 },
};

function organisation(count: number) {
  const org = syntheticOrganisation({ identities: count });
  const policy = { ...org.policy, reviews: [review] };
  const context = { policy, identities: new Map<string, Identity>(org.identities.map((i) => [i.key, i])), holds: () => false };
  return { ...org, policy, context };
}

const rss = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const ms = (t: number) => Math.round(performance.now() - t);

async function pure(count: number) {
  const t0 = performance.now();
  const org = organisation(count);
  const generateMs = ms(t0);
  const t1 = performance.now();
  const { items } = startCampaign('rc_bench', { review, policy: org.policy, identities: org.identities, assignments: [], observed: org.observed, links: [], now: org.now, timeZone: 'Europe/Paris' });
  const startMs = ms(t1);
  const states = initialStates(items);
  const ids = items.filter((i) => i.identityKey !== REVIEWER).map((i) => i.id);
  const timeDecide = (n: number) => {
    const t = performance.now();
    const result = decide(review, states, { reviewer: REVIEWER, itemIds: ids.slice(0, n), decision: 'keep', comment: 'bench', confirmed: true, at: org.now, today: '2026-06-15' }, org.context);
    if (!result.ok) throw new Error(result.refusals[0]?.reason);
    return ms(t);
  };
  const decide1k = timeDecide(1_000);
  const decide10k = timeDecide(10_000);
  const t2 = performance.now();
  const outcome = closeCampaign(states.values(), 'recommendation', review.cap);
  const closeMs = ms(t2);
  return { identities: count, items: items.length, itemsPerIdentity: +(items.length / count).toFixed(1), generateMs, startMs, decide1kMs: decide1k, decide10kMs: decide10k, closeMs, noResponseRemovals: outcome.preview.noResponseRemovals, peakRssMiB: rss() };
}

async function throughStore(count: number) {
  const org = organisation(count);
  const dir = mkdtempSync(join(tmpdir(), 'jml-reviews-bench-'));
  const scratch = values.backend === 'postgres' ? await createScratchDatabase(process.env.DATABASE_URL ?? process.env.JML_TEST_DATABASE_URL ?? '', 'jml_bench') : null;
  const store = await openStore(scratch ? { databaseUrl: scratch.url } : { dataDir: dir });
  try {
    // Identities are read by the planner stub, not from the store: only review tables are written.
    const input: PlanInput = { identities: org.identities, policy: org.policy, assignments: [], observed: org.observed, links: [], previouslyAssigned: [], credentials: [], now: org.now, timeZone: 'Europe/Paris' };
    const deps = { db: store.db, planner: { loadInput: async () => ({ input, policy: { policy: org.policy, hash: '', files: [] }, runs: new Map() }) }, timeZone: 'Europe/Paris' };
    const t0 = performance.now();
    const started = await startReviewCampaign(deps, 'bench', 'bench', new Date(org.now));
    const startMs = ms(t0);
    const t1 = performance.now();
    const inbox = (await reviewInbox(store.db, REVIEWER, started.id)).filter((i) => i.identityKey !== REVIEWER).map((i) => i.id);
    const inboxMs = ms(t1);
    const timeDecide = async (ids: string[]) => {
      const t = performance.now();
      await decideReviewItems(deps, started.id, { reviewer: REVIEWER, itemIds: ids, decision: 'keep', comment: 'bench', confirmed: true }, new Date(org.now));
      return ms(t);
    };
    const decide1k = await timeDecide(inbox.slice(0, 1_000));
    const decide10k = await timeDecide(inbox.slice(1_000, 11_000));
    return { identities: count, items: started.items, startMs, inboxMs, decide1kMs: decide1k, decide10kMs: decide10k, peakRssMiB: rss() };
  } finally {
    await store.close();
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const s = (msValue: number) => `${(msValue / 1000).toFixed(1)} s`;
const pureCount = Number(values.identities ?? 100_000);
if (pureCount > 0) {
  const r = await pure(pureCount);
  if (values.json) console.log(JSON.stringify({ workload: 'reviews-pure', ...r, load: load() }));
  else {
    console.log(`in memory, ${r.identities} identities, ${r.items} items: start ${s(r.startMs)} (goal ≤ 30 s), bulk decide 1,000 ${s(r.decide1kMs)} (goal ≤ 2 s), 10,000 ${s(r.decide10kMs)}, close preview ${s(r.closeMs)}, peak ${r.peakRssMiB} MiB; load ${load()}`);
  }
}
const dbCount = Number(values['db-identities'] ?? 10_000);
if (dbCount > 0) {
  const r = await throughStore(dbCount);
  if (values.json) console.log(JSON.stringify({ workload: `reviews-${values.backend}`, ...r, load: load() }));
  else {
    console.log(`${values.backend}, ${r.identities} identities, ${r.items} items: start ${s(r.startMs)} (goal ≤ 30 s), the reviewer's inbox ${s(r.inboxMs)}, bulk decide 1,000 ${s(r.decide1kMs)} (goal ≤ 2 s), 10,000 ${s(r.decide10kMs)}, peak ${r.peakRssMiB} MiB; load ${load()}`);
  }
}
