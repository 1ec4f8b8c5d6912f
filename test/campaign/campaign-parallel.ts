/**
 * `--parallel N`: the run's histories — the very ones fast-check draws from
 * the seed, in the same order — worked N at a time by child processes
 * (campaign-child.ts), each with data of its own. A history mostly waits
 * (Retry-After, backoffs, the queue's polls, restarts), so N of them share
 * the cores well. Dispatch stops at the first failure; the failing history
 * with the lowest index is returned for the parent to shrink as usual.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import { historyArbitrary, type History } from './campaign-generator.ts';
import type { ChildReply, ChildRequest } from './campaign-child.ts';
import type { HistoryOutcome } from './campaign-run.ts';
import type { CampaignVariant } from './campaign-variant.ts';

const CHILD = path.join(import.meta.dirname, 'campaign-child.ts');

/**
 * The first `runs` histories of `seed`, drawn by fast-check's own runner (a
 * property that only records them), so they are exactly those a sequential
 * run checks, and index i replays with `--seed S --path i`.
 */
export async function seededHistories(seed: number, runs: number, maxOperations?: number): Promise<History[]> {
  const histories: History[] = [];
  await fc.check(fc.asyncProperty(historyArbitrary(maxOperations), async (history) => (histories.push(history), true)), { numRuns: runs, seed });
  return histories;
}

/** A failing history of a parallel run: its index, itself and its outcome. */
export interface ParallelFailure {
  readonly index: number;
  readonly history: History;
  readonly outcome: HistoryOutcome;
}

/** Runs `histories` in `children` child processes of `variant`; returns the failure with the lowest index, or null. */
export async function runInChildren(histories: readonly History[], children: number, variant: CampaignVariant, onOutcome: (index: number, outcome: HistoryOutcome) => void): Promise<ParallelFailure | null> {
  let next = 0;
  let failure: ParallelFailure | null = null;
  const failed = (found: ParallelFailure) => {
    if (failure === null || found.index < failure.index) failure = found;
  };
  const loop = async () => {
    const child = await startChild(variant);
    try {
      while (next < histories.length && failure === null && child.exitCode === null && child.signalCode === null) {
        const index = next++;
        const outcome = await ask(child, { index, history: histories[index]! });
        onOutcome(index, outcome);
        if (outcome.violations.length > 0) failed({ index, history: histories[index]!, outcome });
      }
    } finally {
      if (child.connected) child.disconnect();
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(children, histories.length) }, loop));
  return failure;
}

async function startChild(variant: CampaignVariant): Promise<ChildProcess> {
  const child = fork(CHILD, [JSON.stringify(variant)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`a campaign child process exited (${code}) before it was ready`)));
  });
  child.removeAllListeners('exit');
  return child;
}

/** Sends one history and waits for its outcome; a child that dies meanwhile makes the history fail, saying so. */
function ask(child: ChildProcess, request: ChildRequest): Promise<HistoryOutcome> {
  return new Promise((resolve) => {
    const onReply = (reply: ChildReply) => {
      if (reply.index !== request.index) return;
      child.off('exit', onExit);
      child.off('message', onReply);
      resolve(reply.outcome);
    };
    const onExit = (code: number | null, signal: string | null) => {
      child.off('message', onReply);
      resolve({ violations: [`the child process running history ${request.index} exited (${code ?? signal})`], faults: {}, recoveryMs: 0 });
    };
    child.on('message', onReply);
    child.once('exit', onExit);
    child.send(request);
  });
}
