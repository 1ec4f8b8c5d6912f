/**
 * `npm run campaign -- [--runs N] [--seed S] [--path P] [--backend pglite|postgres] [--workers in-process|processes] [--max-operations M] [--no-shrink] [--openldap]`
 *
 * Generates random histories (an organisation, HR changes, time, policy,
 * requests, syncs under faults), runs each on a fresh store, heals, and checks
 * the lifecycle invariants. Prints the seed first; on a failure prints the
 * shrunk counterexample and the command that replays it, and exits 1.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { createScratchDatabase } from '../support/scratch-database.ts';
import { describeFailure, emptyTally, runCampaign, runHistory } from './campaign-run.ts';
import { processTarget } from './campaign-processes.ts';
import { directoryTarget } from './campaign-directory.ts';
import type { CampaignTarget } from './campaign-world.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    seed: { type: 'string' },
    path: { type: 'string' },
    backend: { type: 'string', default: 'pglite' },
    workers: { type: 'string', default: 'in-process' },
    'max-operations': { type: 'string', default: '14' },
    'no-shrink': { type: 'boolean', default: false },
    openldap: { type: 'boolean', default: false },
  },
});

const runs = Number(values.runs);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const maxOperations = Number(values['max-operations']);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number, got "${values.runs}"`);
if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, got "${values.seed}"`);

/** A store, and on PostgreSQL the URL worker processes connect to. */
type CampaignStore = Store & { readonly databaseUrl?: string };

async function storeOpener(backend: string): Promise<() => Promise<CampaignStore>> {
  if (backend === 'pglite') {
    const template = await openStore({ dataDir: 'memory://' });
    const blob = await template.dump!();
    await template.close();
    return () => openStore({ dataDir: 'memory://', loadDataDir: blob });
  }
  if (backend === 'postgres') {
    const server = process.env.JML_TEST_DATABASE_URL;
    if (!server) throw new Error('--backend postgres needs JML_TEST_DATABASE_URL (a server the campaign may create scratch databases on)');
    return async () => {
      const database = await createScratchDatabase(server, 'jml_campaign');
      const store = await openStore({ databaseUrl: database.url, poolSize: 4 });
      return { ...store, databaseUrl: database.url, close: async () => { await store.close(); await database.drop(); } };
    };
  }
  throw new Error(`--backend must be pglite or postgres, got "${backend}"`);
}

function targetMaker(workers: string): ((store: CampaignStore) => Promise<CampaignTarget>) | undefined {
  if (values.openldap) {
    if (workers !== 'in-process') throw new Error('--openldap runs with --workers in-process');
    return (store) => directoryTarget(store, mkdtempSync(path.join(tmpdir(), 'jml-campaign-dir-')));
  }
  if (workers === 'in-process') return undefined;
  if (workers !== 'processes') throw new Error(`--workers must be in-process or processes, got "${workers}"`);
  if (values.backend !== 'postgres') throw new Error('--workers processes needs --backend postgres: worker processes share one database server');
  return (store) => processTarget(store, store.databaseUrl!, mkdtempSync(path.join(tmpdir(), 'jml-campaign-workers-')));
}

const started = Date.now();
const makeTarget = targetMaker(values.workers!);
const tally = emptyTally();
const open = await storeOpener(values.backend!);
process.stdout.write(`campaign: ${runs} histories on ${values.backend}, workers ${values.workers}${values.openldap ? ' + OpenLDAP' : ''}, seed ${seed}\n`);
const result = await runCampaign({
  runs, seed, maxOperations, openStore: open, tally, noShrink: values['no-shrink'],
  ...(makeTarget ? { makeTarget: (store: Store) => makeTarget(store as CampaignStore) } : {}),
  ...(values.path ? { path: values.path } : {}),
  onViolation: (violations) => process.stderr.write(`violation (before shrinking): ${violations[0]}\n`),
  onHistory: (t) => {
    if (process.stdout.isTTY) process.stdout.write(`\r${t.histories} histories, ${t.violations} with violations`);
    else if (t.histories % 10 === 0) process.stderr.write(`${t.histories} histories, ${t.violations} with violations, ${Math.round((Date.now() - started) / 1000)} s\n`);
  },
});
if (process.stdout.isTTY) process.stdout.write('\n');
if (result.failed) {
  // The violations of the shrunk history, run once more if fast-check's copy was not the one the property saw.
  const violations = result.violations.length > 0 || !result.counterexample ? result.violations : (await runHistory(result.counterexample, open, makeTarget ? (store) => makeTarget(store as CampaignStore) : undefined)).violations;
  process.stdout.write(`${describeFailure({ ...result, violations })}\n`);
}
const report = {
  histories: tally.histories,
  faultsByKind: Object.fromEntries(Object.entries(tally.faults).sort()),
  historiesWithViolations: tally.violations,
  slowestRecoveryMs: tally.slowestRecoveryMs,
  wallTimeS: Math.round((Date.now() - started) / 100) / 10,
  seed,
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exit(result.failed ? 1 : 0);
