/**
 * Runs histories and property checks for the fault campaign: one history on a
 * fresh store, healed and checked; and the fast-check property over many,
 * with the tally the report prints.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { CampaignStore } from './campaign-database.ts';
import { describeHistory, historyArbitrary, type History } from './campaign-generator.ts';
import { runInChildren, seededHistories } from './campaign-parallel.ts';
import type { CampaignVariant } from './campaign-variant.ts';
import { checkInvariants } from './campaign-invariants.ts';
import { createWorld, inProcessTarget, runOperation, sync, type CampaignTarget, type World } from './campaign-world.ts';

export interface HistoryOutcome {
  readonly violations: readonly string[];
  readonly faults: Readonly<Record<string, number>>;
  /** Wall time from "faults healed" to "nothing left to do". */
  readonly recoveryMs: number;
}

/** How many fault-free syncs healing may take before it counts as not converging. */
const HEALING_SYNCS = 4;

/** Runs `history` on a fresh store from `openStore`, heals, drains and checks every invariant. */
export async function runHistory(history: History, openStore: () => Promise<CampaignStore>, makeTarget: (store: CampaignStore) => Promise<CampaignTarget> = async () => inProcessTarget()): Promise<HistoryOutcome> {
  const store = await openStore();
  const target = await makeTarget(store);
  const dir = mkdtempSync(path.join(tmpdir(), 'jml-campaign-'));
  try {
    const world: World = createWorld(store, dir, history, target);
    for (const operation of history.operations) await runOperation(world, operation);
    const healing = Date.now();
    const violations: string[] = [];
    let planned = -1;
    for (let i = 0; i < HEALING_SYNCS && planned !== 0; i++) planned = await sync(world);
    if (planned !== 0) violations.push(`healing did not converge: the last of ${HEALING_SYNCS} fault-free syncs still planned ${planned} change(s)`);
    const recoveryMs = Date.now() - healing;
    violations.push(...(await checkInvariants(world)));
    return { violations, faults: world.faults, recoveryMs };
  } finally {
    await target.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `runHistory`, with an error counted as a violation that carries its stack (a plan that never settles, a worker that cannot start). */
export async function runHistoryCaught(history: History, openStore: () => Promise<CampaignStore>, makeTarget?: (store: CampaignStore) => Promise<CampaignTarget>): Promise<HistoryOutcome> {
  return runHistory(history, openStore, makeTarget).catch((error: unknown): HistoryOutcome => ({ violations: [`the history threw: ${error instanceof Error ? error.stack ?? error.message : String(error)}`], faults: {}, recoveryMs: 0 }));
}

export interface CampaignTally {
  histories: number;
  readonly faults: Record<string, number>;
  slowestRecoveryMs: number;
  violations: number;
}

export function emptyTally(): CampaignTally {
  return { histories: 0, faults: {}, slowestRecoveryMs: 0, violations: 0 };
}

export function addToTally(tally: CampaignTally, outcome: HistoryOutcome): void {
  tally.histories++;
  for (const [kind, n] of Object.entries(outcome.faults)) if (n > 0) tally.faults[kind] = (tally.faults[kind] ?? 0) + n;
  tally.slowestRecoveryMs = Math.max(tally.slowestRecoveryMs, outcome.recoveryMs);
  if (outcome.violations.length > 0) tally.violations++;
}

export interface CampaignResult {
  readonly failed: boolean;
  readonly seed: number;
  /** fast-check's replay path of the shrunk counterexample. */
  readonly path: string | null;
  readonly counterexample: History | null;
  readonly violations: readonly string[];
}

/**
 * Checks the property "every history ends with no violation" over `runs`
 * histories from `seed`. A failure is shrunk; the result names the seed and
 * path that replay it, and the minimal history with its violations.
 */
export interface CampaignOptions {
  readonly runs: number;
  readonly seed: number;
  readonly path?: string;
  readonly maxOperations?: number;
  readonly openStore: () => Promise<CampaignStore>;
  /** Where plans are applied; in this process by default. */
  readonly makeTarget?: (store: CampaignStore) => Promise<CampaignTarget>;
  readonly tally: CampaignTally;
  /** Stop at the first failure without shrinking it (a slow history, or an error to see at once). */
  readonly noShrink?: boolean;
  readonly onHistory?: (tally: CampaignTally) => void;
  /**
   * Histories this many at a time, each in one of `children` child processes
   * running `variant` (campaign-parallel.ts); the same histories as one at a
   * time, and a failure is shrunk in this process as usual.
   */
  readonly parallel?: { readonly children: number; readonly variant: CampaignVariant };
  /** The first failing history, its index in the run and its violations, at once (shrinking can take minutes). */
  readonly onViolation?: (violations: readonly string[], history: History, index: number) => void;
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const { property, lastViolations } = campaignProperty(options);
  if (options.parallel && options.path === undefined) return runParallel(options, options.parallel, property, lastViolations);
  const details = await fc.check(property, { numRuns: options.runs, seed: options.seed, ...(options.path ? { path: options.path } : {}), endOnFailure: options.noShrink === true });
  if (!details.failed) return { failed: false, seed: options.seed, path: null, counterexample: null, violations: [] };
  const history = details.counterexample?.[0] ?? null;
  const violations = history ? (lastViolations.get(history) ?? []) : [String(details.errorInstance)];
  return { failed: true, seed: details.seed, path: details.counterexamplePath, counterexample: history, violations };
}

type HistoryProperty = fc.IAsyncPropertyWithHooks<[History]>;

/** "This history ends with no violation", tallied; the violations of each failing history are kept by history. */
function campaignProperty(options: CampaignOptions): { readonly property: HistoryProperty; readonly lastViolations: Map<History, readonly string[]> } {
  const lastViolations = new Map<History, readonly string[]>();
  let index = 0;
  const property = fc.asyncProperty(historyArbitrary(options.maxOperations), async (history) => {
    const run = index++;
    const outcome = await runHistoryCaught(history, options.openStore, options.makeTarget);
    addToTally(options.tally, outcome);
    options.onHistory?.(options.tally);
    if (outcome.violations.length > 0) {
      if (lastViolations.size === 0) options.onViolation?.(outcome.violations, history, run);
      lastViolations.set(history, outcome.violations);
      return false;
    }
    return true;
  });
  return { property, lastViolations };
}

/**
 * The run's histories in child processes, several at a time; a failure is
 * then shrunk here, one history at a time, from the failing one (fast-check
 * replays index i of the seed with the path "i").
 */
async function runParallel(options: CampaignOptions, parallel: NonNullable<CampaignOptions['parallel']>, property: HistoryProperty, lastViolations: Map<History, readonly string[]>): Promise<CampaignResult> {
  const histories = await seededHistories(options.seed, options.runs, options.maxOperations);
  const failure = await runInChildren(histories, parallel.children, parallel.variant, (_index, outcome) => {
    addToTally(options.tally, outcome);
    options.onHistory?.(options.tally);
  });
  if (!failure) return { failed: false, seed: options.seed, path: null, counterexample: null, violations: [] };
  options.onViolation?.(failure.outcome.violations, failure.history, failure.index);
  lastViolations.set(failure.history, failure.outcome.violations);
  const found = { failed: true, seed: options.seed, path: String(failure.index), counterexample: failure.history, violations: failure.outcome.violations };
  if (options.noShrink) return found;
  const shrunk = await fc.check(property, { seed: options.seed, path: String(failure.index), numRuns: 1 });
  // A failure that depended on timing (worker processes) may pass when replayed: the child's failure stands.
  if (!shrunk.failed) return found;
  const history = shrunk.counterexample?.[0] ?? null;
  return { failed: true, seed: shrunk.seed, path: shrunk.counterexamplePath, counterexample: history, violations: history ? (lastViolations.get(history) ?? []) : [String(shrunk.errorInstance)] };
}

/** The text printed for a failure: how to replay it (`variant`: the options of the run, e.g. ` --backend postgres`), and the minimal history. */
export function describeFailure(result: CampaignResult, variant = ''): string {
  return [
    `counterexample (seed ${result.seed}, path ${result.path}) — replay: npm run campaign -- --seed ${result.seed} --path ${result.path}${variant}`,
    result.counterexample ? describeHistory(result.counterexample) : '(no history)',
    'violations:',
    ...result.violations.map((v) => `  - ${v}`),
  ].join('\n');
}
