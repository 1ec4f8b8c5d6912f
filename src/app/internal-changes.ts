/**
 * The "jml" target: changes that live in jml itself (`system: null`), which
 * apply reaches through `connectorFor(null)`. They follow the same contract as
 * a connector — read back, act, read back — so they are idempotent and a crash
 * between acting and recording never repeats anything.
 *
 * - `transfer_ownership` writes the subject identity's `owner` (or `sponsor`)
 *   and audits before/after; it holds once the stored value is the new owner.
 * - `manual_task` becomes a task (system `jml`): the confirmation of a transfer
 *   goes to the new owner, who accepts it by closing it with evidence; any other
 *   system-less task goes to the identity's active manager, else the IAM team.
 * - `collect_asset` becomes a task for the asset custodian (the IT team that
 *   recovers equipment); once it is closed with evidence, read-back marks the
 *   asset `collected` (audited) and holds.
 *
 * Who carries the tasks: `assetCustodian` and `iamTeam` settings; by default
 * the owner of the policy's identity-provider system (the team that runs IT
 * identity), else the team names `it-service-desk` and `iam-team`.
 */
import type { Kysely } from 'kysely';
import { JML_INTERNAL_CHANGE_KINDS, type Change, type ChangeOutcome } from '../domain/change.ts';
import type { Policy } from '../domain/policy.ts';
import type { Connector, ReadBack } from '../connectors/connector.ts';
import { createTaskStore, type TaskStore } from '../connectors/manual/task-store.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Database } from '../store/database.ts';
import { lastInstantOf } from '../engine/org-calendar.ts';
import { recordIdentityEdit } from './identity-edit.ts';

/** The `system` of tasks opened for jml-internal changes. */
export const JML_TASK_SYSTEM = 'jml';

export interface InternalChangeSettings {
  /** Identity key or team that recovers equipment from leavers. */
  readonly assetCustodian: string;
  /** Identity key or team that takes system-less tasks of someone with no active manager. */
  readonly iamTeam: string;
  /** Hours from opening a task to its due time (default 24). */
  readonly slaHours?: number;
}

export interface InternalChangeDeps {
  readonly db: Kysely<Database>;
  /** The organisation's time zone, for the effective date of transfers; default UTC. */
  readonly timezone?: string;
  readonly now?: () => Date;
  readonly actor?: string;
}

export interface InternalChanges extends Connector {
  readonly tasks: TaskStore;
  apply(change: Change): Promise<ChangeOutcome>;
}

/** The default task owners for a policy: its identity-provider system's owner, else named teams. */
export function internalChangeSettings(policy: Pick<Policy, 'systems'>, overrides: Partial<InternalChangeSettings> = {}): InternalChangeSettings {
  const itOwner = policy.systems.find((s) => s.identityProvider)?.owner;
  return { assetCustodian: itOwner ?? 'it-service-desk', iamTeam: itOwner ?? 'iam-team', ...overrides };
}

/**
 * Creates the handler of jml-internal changes.
 * @example
 * const internal = createInternalChanges(internalChangeSettings(policy), { db: store.db });
 * await executePlan({ store, actor, connectorFor: (s) => (s === null ? internal : connectors.get(s)) }, plan, fingerprint);
 */
export function createInternalChanges(settings: InternalChangeSettings, deps: InternalChangeDeps): InternalChanges {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const actor = deps.actor ?? 'system:jml';
  const tasks = createTaskStore({ db, ...(deps.now ? { now: deps.now } : {}) });
  const slaHours = settings.slaHours ?? 24;

  const relationOf = (change: Change): 'owner' | 'sponsor' => (change.attributes?.relation === 'sponsor' ? 'sponsor' : 'owner');

  async function taskSettled(change: Change): Promise<boolean> {
    const row = await db.selectFrom('tasks').select('id').where('change_id', '=', change.id).where('system', '=', JML_TASK_SYSTEM).where('settled_seq', 'is not', null).executeTakeFirst();
    return row !== undefined;
  }

  async function readBack(change: Change): Promise<ReadBack> {
    switch (change.kind) {
      case 'transfer_ownership': {
        const relation = relationOf(change);
        const subject = await db.selectFrom('identities').select(['owner', 'sponsor']).where('key', '=', change.subjectKey ?? '').executeTakeFirst();
        if (!subject) return { holds: false, detail: `no identity ${change.subjectKey}` };
        const holds = subject[relation] === change.toOwnerKey;
        return holds ? { holds } : { holds, detail: `${relation} of ${change.subjectKey} is ${subject[relation] ?? 'nobody'}` };
      }
      case 'collect_asset': {
        const asset = await db.selectFrom('assets').select(['status']).where('tag', '=', change.assetTag ?? '').executeTakeFirst();
        if (asset?.status === 'collected') return { holds: true };
        if (!(await taskSettled(change))) return { holds: false, detail: 'waiting for its task to be closed with evidence' };
        await markCollected(change);
        return { holds: true };
      }
      case 'manual_task':
        return (await taskSettled(change)) ? { holds: true } : { holds: false, detail: 'waiting for its task to be closed with evidence' };
      default:
        return { holds: false, detail: `jml does not carry out ${change.kind} itself` };
    }
  }

  /** The asset returns to stock as `collected`, leaving the leaver's custody. */
  async function markCollected(change: Change): Promise<void> {
    await db.transaction().execute(async (trx) => {
      const before = await trx.selectFrom('assets').select(['status', 'holder_key', 'location']).where('tag', '=', change.assetTag!).forUpdate().executeTakeFirst();
      if (!before || before.status === 'collected') return;
      const at = now();
      await trx.updateTable('assets').set({ status: 'collected', holder_key: null, updated_at: at.toISOString() }).where('tag', '=', change.assetTag!).execute();
      await appendAudit(trx, { actor, action: 'asset.collected', subject: `asset:${change.assetTag}`, trigger: `change:${change.id}`, before, after: { status: 'collected', holder_key: null, location: before.location } }, at);
    });
  }

  async function transfer(change: Change): Promise<ChangeOutcome> {
    const relation = relationOf(change);
    if (!change.subjectKey || !change.toOwnerKey) return { status: 'failed', retryable: false, message: 'transfer_ownership needs subjectKey and toOwnerKey' };
    return db.transaction().execute(async (trx) => {
      const subject = await trx.selectFrom('identities').select(['owner', 'sponsor']).where('key', '=', change.subjectKey!).forUpdate().executeTakeFirst();
      if (!subject) return { status: 'failed', retryable: false, message: `no identity ${change.subjectKey}` } as const;
      const newOwner = await trx.selectFrom('identities').select('key').where('key', '=', change.toOwnerKey!).executeTakeFirst();
      if (!newOwner) return { status: 'failed', retryable: false, message: `no identity ${change.toOwnerKey} to take ${relation} of ${change.subjectKey}` } as const;
      if (subject[relation] === change.toOwnerKey) return { status: 'done' } as const;
      const at = now();
      // A transfer is a change of the subject's timeline (source jml), so a later import's re-fold keeps it.
      await recordIdentityEdit(trx, { identityKey: change.subjectKey!, [relation]: change.toOwnerKey!, actor, trigger: `change:${change.id}`, at, timezone: deps.timezone ?? 'UTC' });
      await appendAudit(
        trx,
        { actor, action: 'identity.ownership_transferred', subject: change.subjectKey!, trigger: `change:${change.id}`, before: { [relation]: subject[relation] }, after: { [relation]: change.toOwnerKey }, details: { from: change.identityKey, reason: change.reason } },
        at,
      );
      return { status: 'done' } as const;
    });
  }

  /** The identity's manager when active, else the IAM team. */
  async function managerOrTeam(identityKey: string): Promise<string> {
    const row = await db.selectFrom('identities').select(['attributes']).where('key', '=', identityKey).executeTakeFirst();
    const manager = (row?.attributes as Record<string, unknown> | undefined)?.manager;
    if (typeof manager === 'string' && manager !== '') {
      const active = await db.selectFrom('identities').select('key').where('key', '=', manager).where('status', '=', 'active').executeTakeFirst();
      if (active) return manager;
    }
    return settings.iamTeam;
  }

  /**
   * A change that names the day it is due (a kit item before the start date, a return on the last day
   * worked) is due at the end of that day in the organisation's zone; others get `slaHours`.
   */
  function hoursUntilDue(change: Change): number {
    const due = change.attributes?.due;
    if (typeof due !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(due)) return slaHours;
    return (Date.parse(lastInstantOf(due, deps.timezone ?? 'UTC')) - now().getTime()) / 3_600_000;
  }

  async function openTask(change: Change, owner: string, instruction: string): Promise<ChangeOutcome> {
    const { task } = await tasks.openTask({ ...change, system: JML_TASK_SYSTEM }, { owner, slaHours: hoursUntilDue(change), needsConfirmation: false, instruction, actor });
    return { status: 'pending', taskId: task.id, detail: `task for ${owner}, due ${task.dueAt}` };
  }

  async function apply(change: Change): Promise<ChangeOutcome> {
    if ((await readBack(change)).holds) return { status: 'done' };
    switch (change.kind) {
      case 'transfer_ownership':
        return transfer(change);
      case 'manual_task': {
        if (change.toOwnerKey) {
          return openTask(change, change.toOwnerKey, `${change.reason}. Close this task with evidence to accept: you are now accountable for ${change.subjectKey}, its access and its credentials.`);
        }
        if (change.attributes?.kit === 'issue') {
          return openTask(change, settings.assetCustodian, `${change.reason} for ${change.identityKey}: check an item out to them in the register, then close this task naming its tag.`);
        }
        return openTask(change, await managerOrTeam(change.identityKey), `${change.reason} (${change.identityKey}).`);
      }
      case 'collect_asset': {
        const asset = await db.selectFrom('assets').select(['serial', 'kind', 'description', 'location']).where('tag', '=', change.assetTag ?? '').executeTakeFirst();
        if (!asset) return { status: 'failed', retryable: false, message: `no asset ${change.assetTag}` };
        const what = [asset.kind, asset.description, asset.serial ? `serial ${asset.serial}` : ''].filter(Boolean).join(', ');
        return openTask(change, settings.assetCustodian, `Recover asset ${change.assetTag} (${what}) from ${change.identityKey}${asset.location ? `, last at ${asset.location}` : ''}. Close with evidence naming the serial you saw${asset.serial ? ` (${asset.serial})` : ''} and how its data was wiped (a wipe certificate's hash, or a note).`);
      }
      default:
        return { status: 'failed', retryable: false, message: `jml does not carry out ${change.kind} itself; it needs a system` };
    }
  }

  return {
    tasks,
    describe: () => ({ type: 'jml', provisions: JML_INTERNAL_CHANGE_KINDS, manual: false }),
    validate: async () => ({ ok: true, problems: [] }),
    list: async () => ({ items: [], nextCursor: null }),
    readBack,
    apply,
  };
}
