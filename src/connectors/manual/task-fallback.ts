/**
 * Tasks for what a connector cannot do. A directory reached over LDAP has no
 * way to end a person's sessions; a read-only connector changes nothing. When
 * a system's connector does not provision a change kind, the change becomes a
 * task for the system owner (what to do, for whom, by when), answers `pending`,
 * and reads back as holding only once that task is closed with evidence (and
 * confirmed, when required). Everything else about the system stays with its
 * connector: this handles single changes, it lists nothing.
 */
import { z } from 'zod';
import type { Change, ChangeOutcome } from '../../domain/change.ts';
import type { ReadBack } from '../connector.ts';
import type { ManualConnectorDeps } from './manual-connector.ts';
import { taskInstruction } from './manual-ledger.ts';
import { createTaskStore, type TaskStore } from './task-store.ts';

export const taskFallbackSettingsSchema = z.object({
  /** Who carries the tasks out: the system owner's identity key or a team name. */
  owner: z.string().min(1),
  /** The connector type that could not do it, for the instruction. */
  connectorType: z.string().min(1).optional(),
  /** Hours from opening to due. */
  slaHours: z.number().positive().default(24),
  requireConfirmation: z.boolean().default(false),
});
export type TaskFallbackSettings = z.input<typeof taskFallbackSettingsSchema>;

/** What the apply executor needs to carry out one change: read back, act. */
export interface ChangeHandler {
  readBack(change: Change): Promise<ReadBack>;
  apply(change: Change): Promise<ChangeOutcome>;
}

export interface TaskFallback extends ChangeHandler {
  readonly tasks: TaskStore;
}

/**
 * Creates the task fallback of one system.
 * @example
 * const tasks = createTaskFallback({ owner: 'E1001', connectorType: 'ldap' }, { system: 'directory', db: store.db });
 * await tasks.apply(revokeSessions); // { status: 'pending', taskId: 'task-…' }
 */
export function createTaskFallback(rawSettings: TaskFallbackSettings, deps: ManualConnectorDeps): TaskFallback {
  const settings = taskFallbackSettingsSchema.parse(rawSettings);
  const { system } = deps;
  const tasks = createTaskStore({ db: deps.db, ...(deps.now ? { now: deps.now } : {}) });
  const actor = deps.actor ?? `system:${system}`;
  const why = settings.connectorType ? ` jml's ${settings.connectorType} connector cannot do this itself.` : '';

  // The change's own task, settled: nothing in the system can be asked whether it holds.
  async function readBack(change: Change): Promise<ReadBack> {
    const settled = await tasks.settledChanges(system, change.identityKey);
    const holds = settled.some((c) => c.id === change.id);
    return { holds, ...(change.accountId ? { accountId: change.accountId } : {}), ...(holds ? {} : { detail: 'waiting for its task to be closed with evidence' }) };
  }

  return {
    tasks,
    readBack,
    async apply(change) {
      if ((await readBack(change)).holds) return { status: 'done' };
      const { task } = await tasks.openTask(
        { ...change, system },
        { owner: settings.owner, slaHours: settings.slaHours, needsConfirmation: settings.requireConfirmation, instruction: `${taskInstruction(change, system)}${why}`, actor },
      );
      return { status: 'pending', taskId: task.id, detail: `task for ${settings.owner}, due ${task.dueAt}` };
    },
  };
}
