/**
 * The manual connector: for a system jml cannot reach, each change becomes a
 * task for the system owner (what to do, for whom, where, due by). `apply`
 * answers `pending` with the task id; the change reads back as holding only once
 * the task is closed with evidence (and confirmed by a second person when the
 * system asks for it). What the system holds is the fold of those tasks.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { CHANGE_KINDS, type Change, type ChangeOutcome } from '../../domain/change.ts';
import type { Account, Grant } from '../../domain/access.ts';
import type { Database } from '../../store/database.ts';
import type { Connector, ConnectorDescription, EntitlementInfo, ListKind, ListTypes, Page, ReadBack, ValidationResult } from '../connector.ts';
import { foldLedger, holdsInLedger, taskInstruction, type ManualLedger } from './manual-ledger.ts';
import { createTaskStore, type TaskStore } from './task-store.ts';

export const manualSettingsSchema = z.object({
  /** Who carries the tasks out: the system owner's identity key or a team name. */
  owner: z.string().min(1).optional(),
  /** Hours from opening to due. */
  slaHours: z.number().positive().default(24),
  /** A second person must confirm a closed task before the change counts. */
  requireConfirmation: z.boolean().default(false),
  /** The entitlements the system has (from policy); granting anything else fails terminally. */
  entitlements: z.array(z.string().min(1)).default([]),
});
export type ManualSettings = z.input<typeof manualSettingsSchema>;

export interface ManualConnectorDeps {
  readonly system: string;
  readonly db: Kysely<Database>;
  readonly now?: () => Date;
  /** Recorded as the actor of `task.opened` audit entries. */
  readonly actor?: string;
}

export interface ManualConnector extends Connector {
  readonly tasks: TaskStore;
  apply(change: Change): Promise<ChangeOutcome>;
}

/**
 * Creates a manual connector for one system.
 * @example
 * const payroll = createManualConnector({ owner: 'payroll-team', requireConfirmation: true }, { system: 'payroll', db: store.db });
 * const outcome = await payroll.apply(change); // { status: 'pending', taskId: 'task-…' }
 */
export function createManualConnector(rawSettings: ManualSettings, deps: ManualConnectorDeps): ManualConnector {
  const settings = manualSettingsSchema.parse(rawSettings);
  const { system } = deps;
  const tasks = createTaskStore({ db: deps.db, ...(deps.now ? { now: deps.now } : {}) });
  const actor = deps.actor ?? `system:${system}`;

  async function ledger(identityKey?: string): Promise<ManualLedger> {
    return foldLedger(await tasks.settledChanges(system, identityKey));
  }

  async function readBack(change: Change): Promise<ReadBack> {
    const known = await ledger(change.identityKey);
    const holds = holdsInLedger(known, change);
    return { holds, ...(known.accounts.has(change.identityKey) ? { accountId: change.identityKey } : {}) };
  }

  return {
    tasks,
    describe: (): ConnectorDescription => ({ type: 'manual', provisions: CHANGE_KINDS, manual: true }),

    async validate(): Promise<ValidationResult> {
      await deps.db.selectFrom('tasks').select('id').limit(1).execute();
      return { ok: true, problems: [] };
    },

    async list<K extends ListKind>(kind: K, cursor: string | null, pageSize = 100): Promise<Page<ListTypes[K]>> {
      const all = (await listAll(kind)) as ListTypes[K][];
      const offset = cursor === null ? 0 : Number(cursor);
      const end = offset + Math.max(1, pageSize);
      return { items: all.slice(offset, end), nextCursor: end < all.length ? String(end) : null };
    },

    readBack,

    async apply(change: Change): Promise<ChangeOutcome> {
      if (change.kind === 'add_grant' && !settings.entitlements.includes(change.entitlement ?? '')) {
        return { status: 'failed', retryable: false, message: `${system} has no entitlement ${change.entitlement}` };
      }
      if ((await readBack(change)).holds) return { status: 'done', ...(change.kind === 'create_account' ? { accountId: change.identityKey } : {}) };
      const { task } = await tasks.openTask(
        { ...change, system },
        { owner: settings.owner ?? null, slaHours: settings.slaHours, needsConfirmation: settings.requireConfirmation, instruction: taskInstruction(change, system), actor },
      );
      return { status: 'pending', taskId: task.id, detail: `due ${task.dueAt}` };
    },
  };

  async function listAll(kind: ListKind): Promise<readonly (Account | Grant | EntitlementInfo)[]> {
    if (kind === 'entitlements') return settings.entitlements.map((entitlement) => ({ system, entitlement, displayName: entitlement, type: 'manual' }));
    const { accounts } = await ledger();
    const sorted = [...accounts.values()].sort((a, b) => (a.identityKey < b.identityKey ? -1 : a.identityKey > b.identityKey ? 1 : 0));
    if (kind === 'grants') return sorted.flatMap((a) => [...a.grants].sort().map((entitlement) => ({ system, accountId: a.identityKey, entitlement })));
    return sorted.map((a) => {
      const userName = a.attributes.user_name;
      return { system, accountId: a.identityKey, name: typeof userName === 'string' ? userName : a.identityKey, enabled: a.enabled, attributes: { ...a.attributes, identity_key: a.identityKey } };
    });
  }
}
