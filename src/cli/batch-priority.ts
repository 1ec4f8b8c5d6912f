/**
 * Batch work yields the CPU to people. `jml import`, `jml plan` and
 * `jml reconcile` run at a lower scheduling priority (a
 * higher nice value, `batch_nice` in the configuration, default 10), so on a
 * small machine the console's API still answers quickly while the nightly
 * import and plan run. A lower priority only matters when the CPU is
 * contended: on an idle machine batch work runs as fast as before.
 *
 * On Linux the nice value belongs to each thread, so every thread the process
 * has (V8's helpers, libuv's pool) is lowered, and threads started later
 * inherit it. A process already started at a lower priority (`nice -n 15 jml
 * import …`) keeps it: this never raises a priority, which an unprivileged
 * process could not undo.
 */
import { readdirSync } from 'node:fs';
import os from 'node:os';

/** The default nice value of batch commands: CFS then gives a nice-0 process about ten times their CPU share. */
export const DEFAULT_BATCH_NICE = 10;

/**
 * Commands that are batch work. `jml serve` (the API, even with --workers) keeps its priority, and so does
 * `jml worker`: it carries leavers, whose access must go within seconds however busy the console is.
 */
export const BATCH_COMMANDS: ReadonlySet<string> = new Set(['import', 'plan', 'reconcile']);

/** The threads of this process: their ids on Linux, else just the process (0). */
function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number).filter((id) => Number.isInteger(id) && id > 0);
  } catch {
    return [0];
  }
}

/**
 * Lowers this process's CPU priority to `nice` (0 leaves it as it is);
 * returns the nice value it now runs at. A thread that cannot be changed
 * (gone meanwhile, or not permitted) is left as it is.
 * @example lowerBatchPriority(config.batch_nice)
 */
export function lowerBatchPriority(nice: number): number {
  const current = os.getPriority();
  if (nice <= current) return current;
  for (const id of threadIds()) {
    try {
      if (os.getPriority(id) < nice) os.setPriority(id, nice);
    } catch {
      // A thread that ended between listing and setting; nothing to lower.
    }
  }
  return os.getPriority();
}
