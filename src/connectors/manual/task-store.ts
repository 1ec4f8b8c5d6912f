/**
 * Tasks: changes a person carries out in a system jml cannot reach. A task is
 * closed only with evidence (who did it, when, a note and/or a file's SHA-256)
 * and, when its system asks for it, confirmed by a second person. Every step
 * is audited in the same transaction as the state it records.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { z } from 'zod';
import type { Change } from '../../domain/change.ts';
import { returnEvidenceProblem } from '../../domain/asset-return.ts';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit, type AuditEntryInput } from '../../store/audit-log.ts';
import type { Database, TasksTable } from '../../store/database.ts';

export type TaskStatus = 'open' | 'done' | 'confirmed';

export interface TaskEvidence {
  readonly doneBy: string;
  /** ISO 8601 instant the person says they did it. */
  readonly doneAt: string;
  readonly note?: string;
  /** SHA-256 (hex) of a file that proves it: a screenshot, an export, a signed form. */
  readonly fileSha256?: string;
}

export interface Task {
  readonly id: string;
  readonly changeId: string;
  readonly system: string;
  readonly kind: string;
  readonly identityKey: string;
  readonly change: Change;
  readonly instruction: string;
  readonly owner: string | null;
  readonly status: TaskStatus;
  readonly needsConfirmation: boolean;
  readonly dueAt: string;
  readonly createdAt: string;
  readonly evidence: TaskEvidence | null;
  readonly closedBy: string | null;
  readonly closedAt: string | null;
  readonly confirmedBy: string | null;
  readonly confirmedAt: string | null;
  /** True once the change counts as carried out (closed, and confirmed if required). */
  readonly settled: boolean;
}

/** Evidence as it arrives from the CLI or API. */
export const taskEvidenceSchema = z
  .object({
    doneBy: z.string().trim().min(1),
    doneAt: z.iso.datetime({ offset: true }),
    note: z.string().trim().min(1).optional(),
    fileSha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'a SHA-256 is 64 hexadecimal characters').transform((s) => s.toLowerCase()).optional(),
  })
  .refine((e) => e.note !== undefined || e.fileSha256 !== undefined, { message: 'evidence needs a note or a file hash' });

export interface TaskFilter {
  readonly status?: TaskStatus;
  readonly system?: string;
  readonly identityKey?: string;
}

export interface OpenTaskOptions {
  readonly owner: string | null;
  readonly slaHours: number;
  readonly needsConfirmation: boolean;
  readonly instruction: string;
  readonly actor: string;
}

export interface TaskStoreDeps {
  readonly db: Kysely<Database>;
  readonly now?: () => Date;
}

export interface TaskStore {
  /** Opens a task for the change, or returns the open one it already has (apply is idempotent). */
  openTask(change: Change & { readonly system: string }, options: OpenTaskOptions): Promise<{ task: Task; created: boolean }>;
  /**
   * `openTask` for several changes with one insert; inside the caller's transaction when the store was made on one.
   * With `audit`, the tasks' `task.opened` entries are pushed onto it for the caller to append with its own (one append).
   */
  openTasks(requests: readonly { readonly change: Change & { readonly system: string }; readonly options: OpenTaskOptions }[], audit?: AuditEntryInput[]): Promise<{ task: Task; created: boolean }[]>;
  getTask(id: string): Promise<Task>;
  /** Tasks, due first. */
  listTasks(filter?: TaskFilter): Promise<Task[]>;
  /** Closes an open task with evidence; `actor` is who records it. */
  closeTask(id: string, evidence: TaskEvidence, actor: string): Promise<Task>;
  /** Second-person confirmation; the confirmer must be neither the doer nor who closed it. */
  confirmTask(id: string, actor: string): Promise<Task>;
  /** Changes carried out in a system, in the order they became fact. */
  settledChanges(system: string, identityKey?: string): Promise<Change[]>;
}

/**
 * Creates the task store.
 * @example
 * const tasks = createTaskStore({ db: store.db });
 * await tasks.closeTask(id, { doneBy: 'alice', doneAt: new Date().toISOString(), note: 'done in the admin console' }, 'alice');
 */
export function createTaskStore(deps: TaskStoreDeps): TaskStore {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());

  async function lockOpen(trx: Kysely<Database>, id: string): Promise<Selectable<TasksTable>> {
    const row = await trx.selectFrom('tasks').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    if (!row) throw new JmlError('not_found', `no task ${id}`, { details: { task: id } });
    return row;
  }

  const store: TaskStore = {
    async openTask(change, options) {
      return (await store.openTasks([{ change, options }]))[0]!;
    },

    async openTasks(requests, audit) {
      if (requests.length === 0) return [];
      // In the caller's transaction when given one (a batch of confirmations opens its delivery tasks with its records).
      if (!db.isTransaction) return db.transaction().execute((trx) => createTaskStore({ db: trx, now }).openTasks(requests, audit));
      const at = now();
      const rows = requests.map(({ change, options }) => ({
        id: `task-${randomUUID()}`,
        change_id: change.id,
        plan_id: null,
        system: change.system,
        kind: change.kind,
        identity_key: change.identityKey,
        change: JSON.stringify(change),
        instruction: options.instruction,
        owner: options.owner,
        status: 'open',
        needs_confirmation: options.needsConfirmation,
        due_at: new Date(at.getTime() + options.slaHours * 3_600_000).toISOString(),
        created_at: at.toISOString(),
      }));
      const inserted = new Map((await db.insertInto('tasks').values(rows).onConflict((oc) => oc.column('change_id').where('status', '=', 'open').doNothing()).returningAll().execute()).map((r) => [r.change_id, r]));
      const missing = requests.filter((r) => !inserted.has(r.change.id)).map((r) => r.change.id);
      const open = missing.length === 0 ? new Map() : new Map((await db.selectFrom('tasks').selectAll().where('change_id', 'in', missing).where('status', '=', 'open').execute()).map((r) => [r.change_id, r]));
      const opened = requests.flatMap(({ change, options }): AuditEntryInput[] => {
        const row = inserted.get(change.id);
        if (!row) return [];
        return [{ actor: options.actor, action: 'task.opened', subject: `task:${row.id}`, trigger: `change:${change.id}`, after: { system: change.system, kind: change.kind, identityKey: change.identityKey, owner: options.owner, dueAt: row.due_at } }];
      });
      if (audit) audit.push(...opened);
      else await appendAudit(db, opened, at);
      return requests.map(({ change }) => {
        const row = inserted.get(change.id);
        if (row) return { task: toTask(row), created: true };
        const existing = open.get(change.id);
        if (!existing) throw new JmlError('conflict', `task for change ${change.id} could not be opened`, { details: { change: change.id } });
        return { task: toTask(existing), created: false };
      });
    },

    async getTask(id) {
      const row = await db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new JmlError('not_found', `no task ${id}`, { details: { task: id } });
      return toTask(row);
    },

    async listTasks(filter = {}) {
      let query = db.selectFrom('tasks').selectAll();
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.system) query = query.where('system', '=', filter.system);
      if (filter.identityKey) query = query.where('identity_key', '=', filter.identityKey);
      return (await query.orderBy('due_at').orderBy('id').execute()).map(toTask);
    },

    async closeTask(id, rawEvidence, actor) {
      const parsed = taskEvidenceSchema.safeParse(rawEvidence);
      if (!parsed.success) throw new JmlError('invalid_input', `evidence for ${id}: ${parsed.error.issues.map((i) => i.message).join('; ')}`, { details: { task: id } });
      const evidence = parsed.data;
      const at = now();
      if (Date.parse(evidence.doneAt) > at.getTime() + 5 * 60_000) throw new JmlError('invalid_input', `evidence for ${id}: doneAt is in the future`, { details: { task: id } });
      return db.transaction().execute(async (trx) => {
        const row = await lockOpen(trx, id);
        if (row.status !== 'open') throw new JmlError('conflict', `task ${id} is already ${row.status}`, { details: { task: id } });
        if (row.kind === 'collect_asset') {
          const tag = (row.change as { assetTag?: string }).assetTag ?? '';
          const asset = await trx.selectFrom('assets').select(['tag', 'serial']).where('tag', '=', tag).executeTakeFirst();
          const problem = asset ? returnEvidenceProblem(asset, evidence) : null;
          if (problem) throw new JmlError('invalid_input', `evidence for ${id}: ${problem}`, { details: { task: id } });
        }
        const updated = await trx
          .updateTable('tasks')
          .set({
            status: 'done',
            done_by: evidence.doneBy,
            done_at: evidence.doneAt,
            evidence_note: evidence.note ?? null,
            evidence_sha256: evidence.fileSha256 ?? null,
            closed_by: actor,
            closed_at: at.toISOString(),
            ...(row.needs_confirmation ? {} : { settled_seq: sql<number>`nextval('task_settle_seq')` }),
          })
          .where('id', '=', id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await appendAudit(trx, { actor, action: 'task.closed', subject: `task:${id}`, trigger: `change:${row.change_id}`, before: { status: 'open' }, after: { status: 'done' }, details: { evidence } }, at);
        return toTask(updated);
      });
    },

    async confirmTask(id, actor) {
      const at = now();
      return db.transaction().execute(async (trx) => {
        const row = await lockOpen(trx, id);
        if (row.status !== 'done' || !row.needs_confirmation) throw new JmlError('conflict', `task ${id} is ${row.status} and does not await confirmation`, { details: { task: id } });
        if (actor === row.done_by || actor === row.closed_by) {
          throw new JmlError('forbidden', `task ${id} must be confirmed by someone other than who did or closed it`, { details: { task: id } });
        }
        const updated = await trx
          .updateTable('tasks')
          .set({ status: 'confirmed', confirmed_by: actor, confirmed_at: at.toISOString(), settled_seq: sql<number>`nextval('task_settle_seq')` })
          .where('id', '=', id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await appendAudit(trx, { actor, action: 'task.confirmed', subject: `task:${id}`, trigger: `change:${row.change_id}`, before: { status: 'done' }, after: { status: 'confirmed' } }, at);
        return toTask(updated);
      });
    },

    async settledChanges(system, identityKey) {
      let query = db.selectFrom('tasks').select('change').where('system', '=', system).where('settled_seq', 'is not', null);
      if (identityKey !== undefined) query = query.where('identity_key', '=', identityKey);
      return (await query.orderBy('settled_seq').execute()).map((r) => r.change as Change);
    },
  };
  return store;
}

/** Change ids looked up per statement. */
const CHANGES_PER_LOOKUP = 1000;

/** The open task of each of `changeIds` that has one, by change id (what a plan shows as already handed to people). */
export async function openTasksByChange(db: Kysely<Database>, changeIds: readonly string[]): Promise<Map<string, Task>> {
  const out = new Map<string, Task>();
  const ids = changeIds.length <= CHANGES_PER_LOOKUP ? changeIds : await withOpenTask(db, changeIds);
  for (let i = 0; i < ids.length; i += CHANGES_PER_LOOKUP) {
    const rows = await db.selectFrom('tasks').selectAll().where('status', '=', 'open').where('change_id', 'in', ids.slice(i, i + CHANGES_PER_LOOKUP)).execute();
    for (const row of rows) out.set(row.change_id, toTask(row));
  }
  return out;
}

/**
 * Those of `changeIds` that have an open task. Open tasks are few beside a large
 * plan's changes: a set of their change ids is read once and the plan's ids are
 * matched against it, instead of 413 lookups of 1,000 ids each for a plan of
 * 412,732 changes (500,000 people: 1.1 s against 45 ms, measured).
 */
async function withOpenTask(db: Kysely<Database>, changeIds: readonly string[]): Promise<string[]> {
  const open = new Set((await db.selectFrom('tasks').select('change_id').where('status', '=', 'open').execute()).map((r) => r.change_id));
  return changeIds.filter((id) => open.has(id));
}

function iso(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}

function toTask(row: Selectable<TasksTable>): Task {
  return {
    id: row.id,
    changeId: row.change_id,
    system: row.system,
    kind: row.kind,
    identityKey: row.identity_key,
    change: row.change as Change,
    instruction: row.instruction,
    owner: row.owner,
    status: row.status as TaskStatus,
    needsConfirmation: row.needs_confirmation,
    dueAt: row.due_at.toISOString(),
    createdAt: row.created_at.toISOString(),
    evidence:
      row.done_by && row.done_at
        ? { doneBy: row.done_by, doneAt: row.done_at.toISOString(), ...(row.evidence_note ? { note: row.evidence_note } : {}), ...(row.evidence_sha256 ? { fileSha256: row.evidence_sha256 } : {}) }
        : null,
    closedBy: row.closed_by,
    closedAt: iso(row.closed_at),
    confirmedBy: row.confirmed_by,
    confirmedAt: iso(row.confirmed_at),
    settled: row.settled_seq !== null,
  };
}
