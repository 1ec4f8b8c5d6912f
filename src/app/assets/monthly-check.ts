/**
 * The monthly end-user check: once a month every active person is asked to
 * confirm the equipment listed against them (by serial), to say whether they
 * still need each access assignment they hold (requests and exceptions; a
 * birthright follows policy and is not asked about), and to report anything
 * lost or stolen. Owners answer for their non-human identities and agents.
 *
 * Answers become actions through the existing paths: "confirmed" by the holder
 * accepts an item not yet accepted, "not mine" opens a task
 * for the asset custodian, "lost"/"stolen" is the one-step lost path, "no
 * longer needed" ends the assignment and asks for a replan, so the plan
 * removes the grant and reads it back. Email is not sent here:
 * `dueAttestations` lists who owes answers (and whose manager to escalate to
 * after the deadline) for the notifications module to send.
 */
import type { Kysely } from 'kysely';
import { createTaskStore } from '../../connectors/manual/task-store.ts';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { AttestationAnswer, Database } from '../../store/database.ts';
import { orderedId } from '../../store/ordered-id.ts';
import { JML_TASK_SYSTEM } from '../internal-changes.ts';
import type { ReplanQueue } from '../replan-follow-up.ts';
import { acceptAsset } from './asset-custody.ts';
import { reportLostDevice, type LostDeviceSettings } from './lost-device-report.ts';

type Db = Kysely<Database>;
const NON_HUMAN = ['service_account', 'integration', 'ai_agent'];
const ASSET_ANSWERS: readonly AttestationAnswer[] = ['confirmed', 'not_mine', 'lost', 'stolen'];
const ACCESS_ANSWERS: readonly AttestationAnswer[] = ['needed', 'no_longer_needed'];

export interface AttestationItem {
  readonly id: string;
  readonly campaignId: string;
  readonly respondentKey: string;
  readonly subjectKey: string;
  readonly itemType: 'asset' | 'access';
  /** Asset tag, or assignment id. */
  readonly ref: string;
  readonly label: string;
  readonly answer: AttestationAnswer | null;
  readonly answeredAt: string | null;
  readonly action: string | null;
}

/**
 * Opens the check for a month (YYYY-MM), once: one item per person × asset held and per person × assignment held.
 * @example await openMonthlyCheck(db, { period: '2026-12', actor: 'scheduler' }, now)
 */
export async function openMonthlyCheck(db: Db, input: { readonly period: string; readonly actor: string; readonly dueDays?: number }, now: Date): Promise<{ readonly campaignId: string; readonly items: number; readonly created: boolean }> {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(input.period)) throw new JmlError('invalid_input', `period ${input.period}: write the month as YYYY-MM`);
  return db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('attestation_campaigns').select('id').where('period', '=', input.period).executeTakeFirst();
    if (existing) {
      const { n } = await trx.selectFrom('attestation_items').select((eb) => eb.fn.countAll<string>().as('n')).where('campaign_id', '=', existing.id).executeTakeFirstOrThrow();
      return { campaignId: existing.id, items: Number(n), created: false };
    }
    const id = `chk-${input.period}`;
    const dueAt = new Date(now.getTime() + (input.dueDays ?? 7) * 86_400_000).toISOString();
    // Two workers opening the same month at once: the second insert waits for the first and does nothing.
    const inserted = await trx.insertInto('attestation_campaigns').values({ id, period: input.period, opened_at: now.toISOString(), due_at: dueAt, opened_by: input.actor })
      .onConflict((oc) => oc.doNothing()).returning('id').executeTakeFirst();
    if (!inserted) return { campaignId: id, items: 0, created: false };
    const people = await trx.selectFrom('identities').select(['key', 'kind', 'owner']).where('status', '=', 'active').execute();
    const active = new Set(people.map((p) => p.key));
    const respondentOf = new Map<string, string>();
    for (const p of people) {
      if (!NON_HUMAN.includes(p.kind)) respondentOf.set(p.key, p.key);
      else if (p.owner && active.has(p.owner)) respondentOf.set(p.key, p.owner);
    }
    const assets = await trx.selectFrom('assets').select(['tag', 'kind', 'description', 'serial', 'holder_key']).where('status', 'in', ['assigned', 'in_repair']).where('holder_key', 'is not', null).execute();
    const assignments = await trx.selectFrom('assignments').select(['id', 'identity_key', 'system', 'entitlement']).where('state', '=', 'active').execute();
    const rows = [
      ...assets.filter((a) => respondentOf.has(a.holder_key!)).map((a) => ({ subject: a.holder_key!, type: 'asset' as const, ref: a.tag, label: `${a.description || a.kind} ${a.tag}${a.serial ? `, serial ${a.serial}` : ''}` })),
      ...assignments.filter((a) => respondentOf.has(a.identity_key)).map((a) => ({ subject: a.identity_key, type: 'access' as const, ref: a.id, label: `${a.system}: ${a.entitlement}` })),
    ];
    if (rows.length > 0) {
      await trx.insertInto('attestation_items').values(rows.map((r) => ({ id: `att-${orderedId(now.getTime())}`, campaign_id: id, respondent_key: respondentOf.get(r.subject)!, subject_key: r.subject, item_type: r.type, ref: r.ref, label: r.label }))).execute();
    }
    await appendAudit(trx, { actor: input.actor, action: 'attestation.opened', subject: `attestation:${id}`, trigger: 'monthly-check', after: { period: input.period, dueAt, items: rows.length } }, now);
    return { campaignId: id, items: rows.length, created: true };
  });
}

/** A respondent's items in open checks (all, or only unanswered). */
export async function attestationsOf(db: Db, respondentKey: string, options: { readonly unansweredOnly?: boolean } = {}): Promise<AttestationItem[]> {
  let query = db.selectFrom('attestation_items').selectAll().where('respondent_key', '=', respondentKey);
  if (options.unansweredOnly) query = query.where('answer', 'is', null);
  return (await query.orderBy('campaign_id', 'desc').orderBy('item_type').orderBy('label').execute()).map(toItem);
}

export interface DueAttestation {
  readonly respondentKey: string;
  readonly campaignId: string;
  readonly unanswered: number;
  readonly dueAt: string;
  /** `overdue` past the deadline: remind the respondent and escalate to `escalateTo`. */
  readonly state: 'due' | 'overdue';
  /** The respondent's manager (when active), once overdue; null otherwise. */
  readonly escalateTo: string | null;
}

/** The seam for notifications: who owes answers, by when, and whom to escalate to. */
export async function dueAttestations(db: Db, now: Date): Promise<DueAttestation[]> {
  const rows = await db
    .selectFrom('attestation_items as i')
    .innerJoin('attestation_campaigns as c', 'c.id', 'i.campaign_id')
    .innerJoin('identities as r', 'r.key', 'i.respondent_key')
    .select((eb) => ['i.respondent_key', 'i.campaign_id', 'c.due_at', 'r.attributes', eb.fn.countAll<string>().as('n')])
    .where('i.answer', 'is', null)
    .groupBy(['i.respondent_key', 'i.campaign_id', 'c.due_at', 'r.attributes'])
    .orderBy('c.due_at')
    .orderBy('i.respondent_key')
    .execute();
  const managers = [...new Set(rows.map((r) => (r.attributes as Record<string, unknown>).manager).filter((m): m is string => typeof m === 'string' && m !== ''))];
  const activeManagers = new Set(managers.length ? (await db.selectFrom('identities').select('key').where('key', 'in', managers).where('status', '=', 'active').execute()).map((m) => m.key) : []);
  return rows.map((r) => {
    const overdue = r.due_at.getTime() < now.getTime();
    const manager = (r.attributes as Record<string, unknown>).manager;
    return {
      respondentKey: r.respondent_key, campaignId: r.campaign_id, unanswered: Number(r.n), dueAt: r.due_at.toISOString(),
      state: overdue ? 'overdue' : 'due',
      escalateTo: overdue && typeof manager === 'string' && activeManagers.has(manager) ? manager : null,
    };
  });
}

export interface AnswerDeps {
  readonly db: Db;
  readonly replan?: ReplanQueue;
  /** Who takes "not mine" tasks: the asset custodian. */
  readonly custodian: string;
  /** The severity of lost and stolen reports (configuration); default DEFAULT_LOST_DEVICE. */
  readonly lostDevice?: LostDeviceSettings;
}

/**
 * Records one answer, by its respondent only, and carries out what it means.
 * @example await answerAttestation({ db, custodian: 'it-desk' }, { itemId, by: 'E1', answer: 'lost' }, now)
 */
export async function answerAttestation(deps: AnswerDeps, input: { readonly itemId: string; readonly by: string; readonly answer: AttestationAnswer; readonly note?: string }, now: Date): Promise<AttestationItem> {
  const { db } = deps;
  const row = await db.selectFrom('attestation_items').selectAll().where('id', '=', input.itemId).executeTakeFirst();
  if (!row || row.respondent_key !== input.by) throw new JmlError('not_found', `no attestation item ${input.itemId} for ${input.by}`, { details: { item: input.itemId } });
  if (row.answer !== null) throw new JmlError('conflict', `attestation item ${input.itemId} is already answered (${row.answer})`);
  const allowed = row.item_type === 'asset' ? ASSET_ANSWERS : ACCESS_ANSWERS;
  if (!allowed.includes(input.answer)) throw new JmlError('invalid_input', `answer: an ${row.item_type} item is answered with ${allowed.join(', ')}`);
  // The action first (each is idempotent), then the answer: a crash in between repeats nothing harmful.
  const action = await actOn(deps, row, input, now);
  return db.transaction().execute(async (trx) => {
    const updated = await trx.updateTable('attestation_items').set({ answer: input.answer, answered_at: now.toISOString(), action }).where('id', '=', row.id).where('answer', 'is', null).returningAll().executeTakeFirst();
    if (!updated) throw new JmlError('conflict', `attestation item ${input.itemId} was answered meanwhile`);
    await appendAudit(trx, { actor: input.by, action: 'attestation.answered', subject: `attestation:${row.campaign_id}`, trigger: 'monthly-check', after: { item: row.id, ref: row.ref, answer: input.answer, action }, details: input.note ? { note: input.note } : {} }, now);
    return toItem(updated);
  });
}

async function actOn(deps: AnswerDeps, row: { id: string; subject_key: string; ref: string; label: string }, input: { readonly by: string; readonly answer: AttestationAnswer; readonly note?: string }, now: Date): Promise<string | null> {
  const { db } = deps;
  switch (input.answer) {
    case 'confirmed': {
      // The holder confirming an item they have not yet accepted accepts it (an owner confirming for an NHI does not).
      const asset = await db.selectFrom('assets').select(['holder_key', 'status', 'accepted_at']).where('tag', '=', row.ref).executeTakeFirst();
      if (row.subject_key !== input.by || asset?.holder_key !== input.by || asset.status !== 'assigned' || asset.accepted_at !== null) return null;
      await acceptAsset(db, { tag: row.ref, by: input.by }, now);
      return `asset:${row.ref}:accepted`;
    }
    case 'not_mine': {
      const tasks = createTaskStore({ db, now: () => now });
      const change = { id: `attest-${row.id}`, kind: 'manual_task' as const, identityKey: row.subject_key, system: JML_TASK_SYSTEM, reason: `monthly check: ${input.by} says ${row.label} is not theirs`, dependsOn: [] };
      const { task } = await tasks.openTask(change, { owner: deps.custodian, slaHours: 72, needsConfirmation: false, instruction: `${change.reason}${input.note ? ` (${input.note})` : ''}. Find the asset, correct the register, close with evidence.`, actor: input.by });
      return `task:${task.id}`;
    }
    case 'lost':
    case 'stolen': {
      const { asset } = await reportLostDevice({ db, ...(deps.replan ? { replan: deps.replan } : {}), ...(deps.lostDevice ? { settings: deps.lostDevice } : {}) }, { tag: row.ref, status: input.answer, by: input.by, note: input.note ?? 'reported in the monthly check' }, now);
      return `finding:lost_asset:asset:${asset.tag}`;
    }
    case 'no_longer_needed': {
      await db.transaction().execute(async (trx) => {
        const ended = await trx.updateTable('assignments').set({ state: 'revoked', ended_at: now.toISOString(), ended_by: input.by }).where('id', '=', row.ref).where('state', '=', 'active').returning(['id', 'system', 'entitlement']).executeTakeFirst();
        if (ended) await appendAudit(trx, { actor: input.by, action: 'assignment.ended', subject: row.subject_key, trigger: `attestation:${row.id}`, before: { state: 'active' }, after: { state: 'revoked', system: ended.system, entitlement: ended.entitlement } }, now);
      });
      if (deps.replan) await deps.replan.requestReplan([row.subject_key], `monthly check: ${row.label} no longer needed`);
      return `assignment:${row.ref}:ended`;
    }
    default:
      return null;
  }
}

export interface CompletionGroup {
  readonly group: string;
  readonly items: number;
  readonly answered: number;
  readonly respondents: number;
  readonly respondentsDone: number;
}

/** Completion of a check per department and per manager of the respondents. */
export async function checkCompletion(db: Db, campaignId: string): Promise<{ readonly byDepartment: readonly CompletionGroup[]; readonly byManager: readonly CompletionGroup[] }> {
  const rows = await db.selectFrom('attestation_items as i').innerJoin('identities as r', 'r.key', 'i.respondent_key').select(['i.respondent_key', 'i.answer', 'r.attributes']).where('i.campaign_id', '=', campaignId).execute();
  const group = (field: 'department' | 'manager') => {
    const map = new Map<string, { items: number; answered: number; open: Map<string, boolean> }>();
    for (const r of rows) {
      const value = (r.attributes as Record<string, unknown>)[field];
      const key = typeof value === 'string' && value !== '' ? value : '(none)';
      const g = map.get(key) ?? { items: 0, answered: 0, open: new Map<string, boolean>() };
      g.items++;
      if (r.answer !== null) g.answered++;
      g.open.set(r.respondent_key, (g.open.get(r.respondent_key) ?? false) || r.answer === null);
      map.set(key, g);
    }
    return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, g]) => ({ group: name, items: g.items, answered: g.answered, respondents: g.open.size, respondentsDone: [...g.open.values()].filter((open) => !open).length }));
  };
  return { byDepartment: group('department'), byManager: group('manager') };
}

export interface CheckSummary {
  readonly id: string;
  readonly period: string;
  readonly dueAt: string;
  readonly items: number;
  readonly answered: number;
  readonly byDepartment: readonly CompletionGroup[];
  readonly byManager: readonly CompletionGroup[];
}

/** The latest monthly check with its completion (the dashboard's card), or null before the first. */
export async function latestCheckSummary(db: Db): Promise<CheckSummary | null> {
  const check = await db.selectFrom('attestation_campaigns').select(['id', 'period', 'due_at']).orderBy('period', 'desc').limit(1).executeTakeFirst();
  if (!check) return null;
  const completion = await checkCompletion(db, check.id);
  const sum = (key: 'items' | 'answered') => completion.byDepartment.reduce((n, g) => n + g[key], 0);
  return { id: check.id, period: check.period, dueAt: check.due_at.toISOString(), items: sum('items'), answered: sum('answered'), ...completion };
}

function toItem(r: { id: string; campaign_id: string; respondent_key: string; subject_key: string; item_type: 'asset' | 'access'; ref: string; label: string; answer: AttestationAnswer | null; answered_at: Date | null; action: string | null }): AttestationItem {
  return { id: r.id, campaignId: r.campaign_id, respondentKey: r.respondent_key, subjectKey: r.subject_key, itemType: r.item_type, ref: r.ref, label: r.label, answer: r.answer, answeredAt: r.answered_at?.toISOString() ?? null, action: r.action };
}
