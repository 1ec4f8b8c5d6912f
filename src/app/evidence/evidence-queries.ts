/**
 * What an evidence pack shows, read from what jml already records: one table
 * per evidence item for a period. Every value is plain JSON (times as ISO
 * strings) so the same rows become CSV, JSON and the HTML report.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { canonicalJson } from '../../domain/canonical-json.ts';
import type { Database } from '../../store/database.ts';
import { checkCompletion } from '../assets/monthly-check.ts';
import { DEFAULT_LEAVER_SLA, leaverStatuses, type LeaverSlaTargets } from '../leaver-sla.ts';
import type { EvidenceItem } from './control-map.ts';

export type Row = Readonly<Record<string, string | number | boolean | null>>;

export interface EvidenceTable {
  readonly item: EvidenceItem;
  /** File stem: `joiners` → joiners.csv / joiners.json; user lists are one table per system. */
  readonly name: string;
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly Row[];
  /** Said in the report when there are no rows, or about the table's origin. */
  readonly note?: string;
}

export interface Period {
  readonly from: Date;
  readonly to: Date;
}

type Db = Kysely<Database>;
const iso = (d: Date | string | null | undefined): string | null => (d == null ? null : d instanceof Date ? d.toISOString() : new Date(d).toISOString());
/** Leavers read for a pack: enough for a large organisation's year. */
const LEAVER_LIMIT = 100_000;

/** Joiners whose effective time falls in the period, with the approval that let them in (when policy asked for one). */
export async function joinerRows(db: Db, period: Period): Promise<Row[]> {
  const result = await sql<{ identity_key: string; kind: string | null; effective_at: Date; detected_at: Date; request_id: string | null; approval_state: string | null; approved_by: string | null; approved_at: Date | null }>`
    SELECT e.identity_key, i.kind, e.effective_at, e.detected_at, r.id AS request_id, r.state AS approval_state,
           (SELECT string_agg(s.decided_by, ' ' ORDER BY s.stage) FROM approval_steps s WHERE s.request_id = r.id AND s.state = 'approved') AS approved_by,
           r.decided_at AS approved_at
      FROM lifecycle_events e
      LEFT JOIN identities i ON i.key = e.identity_key
      LEFT JOIN LATERAL (SELECT * FROM access_requests q WHERE q.identity_key = e.identity_key AND q.kind = 'joiner' ORDER BY q.created_at DESC LIMIT 1) r ON true
     WHERE e.type IN ('joiner', 'rehire') AND e.state <> 'rescinded' AND e.effective_at >= ${period.from} AND e.effective_at < ${period.to}
     ORDER BY e.effective_at, e.identity_key`.execute(db);
  return result.rows.map((r) => ({
    identity_key: r.identity_key,
    kind: r.kind,
    effective_at: iso(r.effective_at),
    detected_at: iso(r.detected_at),
    approval: r.request_id ? r.approval_state : 'not required by policy (birthright access)',
    approval_request: r.request_id,
    approved_by: r.approved_by,
    approved_at: iso(r.approved_at),
  }));
}

/** Leavers effective in the period, each with its steps and whether every step was confirmed within the SLA. */
export async function leaverRows(db: Db, period: Period, targets: LeaverSlaTargets = DEFAULT_LEAVER_SLA): Promise<{ leavers: Row[]; steps: Row[] }> {
  const statuses = (await leaverStatuses(db, period.to, targets, { since: period.from, limit: LEAVER_LIMIT })).filter((s) => Date.parse(s.effectiveAt) < period.to.getTime()).reverse();
  const taskIds = [...new Set(statuses.flatMap((s) => s.steps.map((step) => step.taskId)).filter((id): id is string => id !== null))];
  const tasks = new Map<string, { evidence_note: string | null; done_by: string | null; confirmed_by: string | null }>();
  for (let i = 0; i < taskIds.length; i += 5000) {
    for (const t of await db.selectFrom('tasks').select(['id', 'evidence_note', 'done_by', 'confirmed_by']).where('id', 'in', taskIds.slice(i, i + 5000)).execute()) tasks.set(t.id, t);
  }
  const leavers: Row[] = [];
  const steps: Row[] = [];
  for (const s of statuses) {
    const slaMs = Date.parse(s.dueAt) - Date.parse(s.effectiveAt);
    leavers.push({
      identity_key: s.identityKey,
      event: s.eventId,
      effective_at: s.effectiveAt,
      state: s.state,
      steps: s.steps.length,
      confirmed_at: s.state === 'complete' ? new Date(Date.parse(s.effectiveAt) + s.elapsedMs).toISOString() : null,
      hours_to_confirmed: s.state === 'complete' ? Math.round(s.elapsedMs / 36_000) / 100 : null,
      sla_hours: slaMs / 3_600_000,
      sla_met: s.state === 'complete' && s.elapsedMs <= slaMs,
    });
    for (const step of s.steps) {
      steps.push({
        identity_key: s.identityKey,
        event: s.eventId,
        kind: step.kind,
        system: step.system,
        state: step.state,
        due_at: step.dueAt,
        confirmed_at: step.confirmedAt,
        confirmation: step.confirmedAt === null ? null : step.manual ? 'task closed with evidence' : 'read back from the system',
        task_evidence: step.taskId ? taskEvidence(tasks.get(step.taskId)) : null,
      });
    }
  }
  return { leavers, steps };
}

function taskEvidence(task: { evidence_note: string | null; done_by: string | null; confirmed_by: string | null } | undefined): string | null {
  if (!task) return null;
  return [task.evidence_note, task.done_by && `done by ${task.done_by}`, task.confirmed_by && `confirmed by ${task.confirmed_by}`].filter(Boolean).join('; ') || null;
}

const REMOVALS = ['remove_grant', 'disable_account', 'delete_account', 'revoke_credential'];

/** Movers effective in the period: what changed, and the access removed since (by kind, system and entitlement). */
export async function moverRows(db: Db, period: Period): Promise<Row[]> {
  const movers = await db.selectFrom('lifecycle_events').select(['identity_key', 'effective_at', 'changes']).where('type', '=', 'mover').where('state', '!=', 'rescinded')
    .where('effective_at', '>=', period.from).where('effective_at', '<', period.to).orderBy('effective_at').orderBy('identity_key').execute();
  if (movers.length === 0) return [];
  const removed = new Map<string, { at: number; what: string }[]>();
  const keys = [...new Set(movers.map((m) => m.identity_key))];
  for (let i = 0; i < keys.length; i += 5000) {
    const rows = await db.selectFrom('plan_changes as pc').innerJoin('plans as p', 'p.id', 'pc.plan_id')
      .select(['pc.identity_key', 'pc.kind', 'pc.system', 'pc.change_id', 'p.created_at', 'pc.state', 'pc.entitlement'])
      .where('pc.identity_key', 'in', keys.slice(i, i + 5000)).where('pc.kind', 'in', REMOVALS).where('p.created_at', '>=', period.from).where('pc.state', 'in', ['confirmed', 'already']).execute();
    for (const r of rows) {
      const list = removed.get(r.identity_key) ?? [];
      list.push({ at: r.created_at.getTime(), what: `${r.kind} ${r.system ?? ''}${r.entitlement ? `:${r.entitlement}` : ''}`.trim() });
      removed.set(r.identity_key, list);
    }
  }
  return movers.map((m) => ({
    identity_key: m.identity_key,
    effective_at: iso(m.effective_at),
    changed: Object.entries(m.changes).map(([k, [from, to]]) => `${k}: ${from ?? '∅'} → ${to ?? '∅'}`).join('; '),
    access_removed: (removed.get(m.identity_key) ?? []).filter((r) => r.at >= m.effective_at.getTime()).map((r) => r.what).join('; ') || 'none',
  }));
}

/** Exceptions in force at any time in the period. */
export async function exceptionRows(db: Db, period: Period): Promise<Row[]> {
  const rows = await db.selectFrom('assignments').selectAll().where('reason_type', '=', 'exception').where('created_at', '<', period.to)
    .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>=', period.from)])).orderBy('created_at').execute();
  return rows.map((a) => ({
    identity_key: a.identity_key,
    system: a.system,
    entitlement: a.entitlement,
    justification: typeof a.reason.justification === 'string' ? a.reason.justification : JSON.stringify(a.reason),
    owner: typeof a.reason.owner === 'string' ? a.reason.owner : a.created_by,
    granted_by: a.created_by,
    granted_at: iso(a.created_at),
    valid_to: iso(a.valid_to),
    state: a.state,
    ended_at: iso(a.ended_at),
  }));
}

/** Findings open at any time in the period, and how they were resolved. */
export async function findingRows(db: Db, period: Period): Promise<Row[]> {
  const rows = await db.selectFrom('findings').selectAll().where('first_seen', '<', period.to)
    .where((eb) => eb.or([eb('resolved_at', 'is', null), eb('resolved_at', '>=', period.from)])).orderBy('first_seen').execute();
  const resolvedBy = new Map<string, string>();
  const resolutions = await db.selectFrom('audit_log').select(['seq', 'actor', 'details']).where('action', '=', 'finding.resolved').where('at', '>=', period.from.toISOString()).where('at', '<', period.to.toISOString()).execute();
  for (const r of resolutions) {
    const d = (r.details ?? {}) as { findings?: unknown; changeKind?: unknown; system?: unknown };
    const how = `${String(d.changeKind ?? 'change')}${d.system ? ` in ${String(d.system)}` : ''} by ${r.actor} (audit entry ${r.seq})`;
    for (const id of Array.isArray(d.findings) ? d.findings : []) resolvedBy.set(String(id), how);
  }
  return rows.map((f) => ({
    kind: f.kind,
    system: f.system,
    identity_key: f.identity_key,
    account: f.account_id,
    detail: f.detail,
    first_seen: iso(f.first_seen),
    last_seen: iso(f.last_seen),
    state: f.state,
    resolved_at: iso(f.resolved_at),
    resolution: f.state === 'resolved' ? (resolvedBy.get(f.id) ?? 'resolved without a recorded change: the detector no longer reports it') : null,
  }));
}

/** Asset custody changes recorded in the audit trail in the period (collection from leavers first). */
export async function assetReturnRows(db: Db, period: Period): Promise<Row[]> {
  const rows = await db.selectFrom('audit_log').select(['seq', 'at', 'actor', 'action', 'subject', 'before', 'after', 'trigger']).where('action', 'like', 'asset.%')
    .where('at', '>=', period.from.toISOString()).where('at', '<', period.to.toISOString()).orderBy('seq').execute();
  return rows.map((r) => {
    const before = (r.before ?? {}) as Record<string, unknown>;
    const after = (r.after ?? {}) as Record<string, unknown>;
    return { asset: r.subject.replace(/^asset:/, ''), action: r.action, from_holder: (before.holder_key as string) ?? null, status: (after.status as string) ?? null, at: r.at, by: r.actor, trigger: r.trigger, audit_seq: r.seq };
  });
}

/** Completion of each monthly check opened in the period, per department and per manager (the rule of `checkCompletion`). */
export async function monthlyCheckCompletionRows(db: Db, period: Period): Promise<Row[]> {
  const checks = await db.selectFrom('attestation_campaigns').select(['id', 'period', 'due_at']).where('opened_at', '>=', period.from).where('opened_at', '<', period.to).orderBy('period').execute();
  const rows: Row[] = [];
  for (const check of checks) {
    const completion = await checkCompletion(db, check.id);
    for (const [groupBy, groups] of [['department', completion.byDepartment], ['manager', completion.byManager]] as const) {
      for (const g of groups) {
        rows.push({ check: check.id, period: check.period, due_at: iso(check.due_at), group_by: groupBy, group: g.group, respondents: g.respondents, respondents_done: g.respondentsDone, items: g.items, answered: g.answered, completion_pct: g.items === 0 ? 100 : Math.round((1000 * g.answered) / g.items) / 10 });
      }
    }
  }
  return rows;
}

/** Answers given in the period that led to an action: a task, the lost path, an assignment ended. */
export async function monthlyCheckActionRows(db: Db, period: Period): Promise<Row[]> {
  const rows = await db.selectFrom('attestation_items').select(['campaign_id', 'respondent_key', 'subject_key', 'item_type', 'label', 'answer', 'answered_at', 'action'])
    .where('action', 'is not', null).where('answered_at', '>=', period.from).where('answered_at', '<', period.to).orderBy('answered_at').orderBy('id').execute();
  return rows.map((r) => ({ check: r.campaign_id, respondent: r.respondent_key, subject: r.subject_key, item_type: r.item_type, item: r.label, answer: r.answer, answered_at: iso(r.answered_at), action: r.action }));
}

/** Per system, the accounts of the latest completed reconcile in the period, with the snapshot's time and SHA-256. */
export async function userListTables(db: Db, period: Period): Promise<EvidenceTable[]> {
  const runs = await sql<{ id: string; system: string; finished_at: Date }>`
    SELECT DISTINCT ON (system) id, system, finished_at FROM reconcile_runs
     WHERE status = 'completed' AND finished_at >= ${period.from} AND finished_at < ${period.to}
     ORDER BY system, finished_at DESC`.execute(db);
  const tables: EvidenceTable[] = [];
  for (const run of runs.rows) {
    const accounts = await db.selectFrom('observed_accounts').select(['account_id', 'name', 'enabled', 'last_login_at', 'identity_key', 'situation']).where('run_id', '=', run.id).orderBy('account_id').execute();
    const grants = await db.selectFrom('observed_grants').select(['account_id', 'entitlement']).where('run_id', '=', run.id).orderBy('account_id').orderBy('entitlement').execute();
    const held = new Map<string, string[]>();
    for (const g of grants) held.set(g.account_id, [...(held.get(g.account_id) ?? []), g.entitlement]);
    const rows: Row[] = accounts.map((a) => ({ account_id: a.account_id, name: a.name, enabled: a.enabled, identity_key: a.identity_key, situation: a.situation, last_login_at: a.last_login_at, entitlements: (held.get(a.account_id) ?? []).join(' ') }));
    const hash = createHash('sha256').update(canonicalJson(rows)).digest('hex');
    tables.push({
      item: 'user_lists',
      name: `user-list-${run.system.replace(/[^A-Za-z0-9_-]/g, '_')}`,
      title: `Users of ${run.system}`,
      columns: ['account_id', 'name', 'enabled', 'identity_key', 'situation', 'last_login_at', 'entitlements'],
      rows,
      note: `read from ${run.system} itself by reconcile run ${run.id}, completed ${run.finished_at.toISOString()}; snapshot SHA-256 ${hash}`,
    });
  }
  return tables;
}
