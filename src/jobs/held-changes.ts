/**
 * Changes held by another plan's run of the same change, woken the moment
 * that run ends in this process. A change id is stable across plans, so a
 * replan computed while the first plan is applied carries the same changes;
 * the later plan's job finds the change leased and waits. It used to look
 * again only after a fixed 0.5 s; a leaver's step held that way lost that
 * much each time. The timed re-check stays as the safety net for a run that
 * ends in another process (PostgreSQL with several workers) or never.
 */

export interface HeldChanges {
  /** Calls `wake` once, when a run of `changeId` ends in this process (see `ended`). */
  hold(changeId: string, wake: () => Promise<void>): void;
  /** The runs of these changes have ended here: wakes what waits on them. Never throws; a failed wake leaves the timed re-check. */
  ended(changeIds: Iterable<string>): Promise<void>;
}

/**
 * One registry per worker process; a wait not woken within `forgetAfterMs` is dropped.
 * @example
 * const held = createHeldChanges();
 * held.hold('disable:dir:E7', () => boss.send(QUEUE.applyChange, job));
 * await held.ended(['disable:dir:E7']); // sends it now
 */
export function createHeldChanges(forgetAfterMs = 60_000): HeldChanges {
  const waiting = new Map<string, (() => Promise<void>)[]>();
  return {
    hold(changeId, wake) {
      const wakes = waiting.get(changeId) ?? [];
      wakes.push(wake);
      waiting.set(changeId, wakes);
      // A run that ends in another process never wakes it here: forget it, the timed re-check has it.
      setTimeout(() => {
        const left = waiting.get(changeId)?.filter((w) => w !== wake) ?? [];
        if (left.length > 0) waiting.set(changeId, left);
        else waiting.delete(changeId);
      }, forgetAfterMs).unref();
    },
    async ended(changeIds) {
      const wakes: (() => Promise<void>)[] = [];
      for (const id of changeIds) {
        wakes.push(...(waiting.get(id) ?? []));
        waiting.delete(id);
      }
      await Promise.all(wakes.map((wake) => wake().catch(() => undefined)));
    },
  };
}
