/**
 * `npm run campaign -- [--runs N] [--seed S] [--path P] [--backend pglite|postgres] [--workers in-process|processes] [--openldap] [--parallel N] [--max-operations M] [--no-shrink]`
 *
 * Generates random histories (an organisation, HR changes, time, policy,
 * requests, syncs under faults), runs each on a fresh store, heals, and checks
 * the lifecycle invariants. Prints the seed first; on a failure prints the
 * failing history with its error or violations at once, then the shrunk
 * counterexample and the command that replays it, and exits 1.
 */
import { parseArgs } from 'node:util';
import { describeHistory } from './campaign-generator.ts';
import { describeFailure, emptyTally, runCampaign, runHistory } from './campaign-run.ts';
import { lazyVariant, parseVariant, startVariant, variantOptions } from './campaign-variant.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    seed: { type: 'string' },
    path: { type: 'string' },
    backend: { type: 'string', default: 'pglite' },
    workers: { type: 'string', default: 'in-process' },
    parallel: { type: 'string', default: '1' },
    'max-operations': { type: 'string', default: '14' },
    'no-shrink': { type: 'boolean', default: false },
    openldap: { type: 'boolean', default: false },
  },
});

const runs = Number(values.runs);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const maxOperations = Number(values['max-operations']);
const parallel = Number(values.parallel);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number, got "${values.runs}"`);
if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, got "${values.seed}"`);
if (!Number.isInteger(maxOperations) || maxOperations < 1) throw new Error(`--max-operations must be a positive whole number, got "${values['max-operations']}"`);
if (!Number.isInteger(parallel) || parallel < 1) throw new Error(`--parallel must be a positive whole number, got "${values.parallel}"`);
const variant = parseVariant(values);
const replayOptions = `${variantOptions(variant)}${maxOperations !== 14 ? ` --max-operations ${maxOperations}` : ''}`;

const started = Date.now();
const tally = emptyTally();
// With --parallel the children run the histories; this process needs a database only to shrink a failure.
const runtime = parallel > 1 ? lazyVariant(variant) : await startVariant(variant);
process.stdout.write(`campaign: ${runs} histories on ${variant.backend}, workers ${variant.workers}${variant.openldap ? ' + OpenLDAP' : ''}${parallel > 1 ? `, ${parallel} at a time` : ''}, seed ${seed}\n`);
let result;
try {
  result = await runCampaign({
    runs, seed, maxOperations, openStore: runtime.openStore, tally, noShrink: values['no-shrink'],
    makeTarget: runtime.makeTarget,
    ...(values.path ? { path: values.path } : {}),
    ...(parallel > 1 ? { parallel: { children: parallel, variant } } : {}),
    onViolation: (violations, history, index) => process.stderr.write(`history ${index} failed (before shrinking; replay: npm run campaign -- --seed ${seed} --path ${index} --runs 1${replayOptions}):\n${describeHistory(history)}\nviolations:\n${violations.map((v) => `  - ${v}`).join('\n')}\n`),
    onHistory: (t) => {
      if (process.stdout.isTTY) process.stdout.write(`\r${t.histories} histories, ${t.violations} with violations`);
      else if (t.histories % 10 === 0) process.stderr.write(`${t.histories} histories, ${t.violations} with violations, ${Math.round((Date.now() - started) / 1000)} s\n`);
    },
  });
  if (process.stdout.isTTY) process.stdout.write('\n');
  if (result.failed) {
    // The violations of the shrunk history, run once more if fast-check's copy was not the one the property saw.
    const violations = result.violations.length > 0 || !result.counterexample ? result.violations : (await runHistory(result.counterexample, runtime.openStore, runtime.makeTarget)).violations;
    process.stdout.write(`${describeFailure({ ...result, violations }, replayOptions)}\n`);
  }
} finally {
  await runtime.close();
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
