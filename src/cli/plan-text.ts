/**
 * Plans and explanations for people: changes grouped by identity, each with
 * its reason; and the plan file format `jml plan --out` writes and `jml apply`
 * reads (the plan plus the scope it was computed for, which the stale check
 * needs to recompute the same thing).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Change, HeldJoiner, Plan } from '../domain/change.ts';
import { JmlError } from '../domain/errors.ts';
import { isOrphanKey, type Explanation } from '../engine/index.ts';
import type { PlanScope } from '../app/compute-plan.ts';
import type { SnapshotRun } from '../app/observed-snapshot.ts';

export const PLAN_FORMAT = 'jml-plan/1';

export interface PlanFile {
  readonly format: typeof PLAN_FORMAT;
  readonly scope: PlanScope;
  readonly plan: Plan;
}

const changeSchema = z.looseObject({ id: z.string(), kind: z.string(), identityKey: z.string(), system: z.string().nullable(), reason: z.string(), dependsOn: z.array(z.string()) });
const planFileSchema = z.object({
  format: z.literal(PLAN_FORMAT),
  scope: z.object({ identityKeys: z.array(z.string()).optional(), systems: z.array(z.string()).optional() }),
  plan: z.looseObject({ id: z.string(), computedAt: z.string(), fingerprint: z.string(), changes: z.array(changeSchema) }),
});

/** Reads and checks a plan file written by `jml plan --out`. */
export async function readPlanFile(file: string): Promise<PlanFile> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new JmlError('invalid_input', `cannot read plan file ${file}: ${(cause as Error).message}`, { cause });
  }
  const parsed = planFileSchema.safeParse(data);
  if (!parsed.success) throw new JmlError('invalid_input', `${file} is not a jml plan file: ${parsed.error.issues[0]?.message ?? 'bad shape'}`);
  return parsed.data as unknown as PlanFile;
}

const SIGN: Readonly<Record<string, string>> = {
  create_account: '+', enable_account: '+', add_grant: '+',
  remove_grant: '-', disable_account: '-', delete_account: '-', revoke_sessions: '-', revoke_credential: '-',
  update_attributes: '~', rotate_credential: '~', transfer_ownership: '~', collect_asset: '!', manual_task: '!',
  create_group: '+', delete_group: '-',
};

/** What a change does to the account's password, in words (docs/connectors.md). */
const CREDENTIAL_NOTE: Readonly<Record<string, string>> = {
  scramble: '; password scrambled',
  new_secret: '; new password, delivered by a task',
};

function target(change: Change): string {
  const where = change.system ?? 'jml';
  if (change.entitlement) return `${where}:${change.entitlement}`;
  if (change.credentialId) return `${where} credential ${change.credentialId}`;
  if (change.assetTag) return `asset ${change.assetTag}`;
  if (change.subjectKey) return `${change.subjectKey} → ${change.toOwnerKey ?? '?'}`;
  if (change.kind === 'update_attributes' && change.attributes) return `${where} (${Object.keys(change.attributes).join(', ')})`;
  return change.accountId ? `${where} (${change.accountId})` : where;
}

/** An open task a planned change already has (a person is on it). */
export interface OpenTaskNote {
  readonly id: string;
  readonly owner: string | null;
  readonly dueAt: string;
}

/** The plan grouped by identity, one line per change with its reason; changes with an open task say so. */
export function planLines(plan: Plan, runs: ReadonlyMap<string, SnapshotRun> | null, systems: readonly string[], openTasks: ReadonlyMap<string, OpenTaskNote> = new Map()): string[] {
  const lines: string[] = [];
  const keys = new Set(plan.changes.map((c) => c.identityKey));
  const orphans = [...keys].filter(isOrphanKey).length;
  const identities = keys.size - orphans;
  const held = plan.held ?? [];
  const heldNote = held.length > 0 ? `, ${held.length} joiner(s) held for approval` : '';
  const orphanNote = orphans > 0 ? ` and ${orphans} orphan account(s)` : '';
  lines.push(`plan ${plan.id}: ${plan.changes.length} change(s) for ${identities} identit${identities === 1 ? 'y' : 'ies'}${orphanNote}${heldNote} (fingerprint ${plan.fingerprint.slice(0, 12)})`);
  if (runs) {
    const observed = systems.map((s) => {
      const run = runs.get(s);
      if (!run) return `${s} never reconciled`;
      return `${s} ${run.origin === 'apply' ? 'as applied' : 'reconciled'} ${run.finishedAt.toISOString()}`;
    });
    if (observed.length > 0) lines.push(`observed: ${observed.join('; ')}`);
  }
  let current: string | null = null;
  for (const change of plan.changes) {
    if (change.identityKey !== current) {
      current = change.identityKey;
      lines.push('', current);
    }
    const task = openTasks.get(change.id);
    const note = task ? `  [task ${task.id} open${task.owner ? ` for ${task.owner}` : ''}, due ${task.dueAt}]` : '';
    lines.push(`  ${SIGN[change.kind] ?? '?'} ${change.kind.padEnd(18)} ${target(change).padEnd(32)} ${change.reason}${CREDENTIAL_NOTE[change.credential ?? ''] ?? ''}${note}`);
  }
  if (plan.changes.length === 0) lines.push(held.length > 0 ? 'nothing to do until the joiners below are approved.' : 'nothing to do: every system holds what policy desires.');
  else if (openTasks.size > 0) lines.push('', `${openTasks.size} change(s) wait on open tasks (jml tasks); applying again points at the same tasks.`);
  if (held.length > 0) lines.push('', ...heldLines(held));
  if (plan.sodHeld && plan.sodHeld.length > 0) {
    lines.push('', 'held because they would break an SoD rule (remove the conflicting access, change the rule, or mitigate with jml request --control):');
    for (const h of plan.sodHeld) lines.push(`  ${h.identityKey.padEnd(12)} ${h.changeId.slice(0, 12)}  SoD rule ${h.rule} (${h.severity}): ${h.pair[0]} + ${h.pair[1]} — wanted by ${h.reason}`);
  }
  return lines;
}

/** Why a held joiner gets nothing yet: their joiner approval, and what it holds back. */
export function heldLines(held: readonly HeldJoiner[]): string[] {
  const lines = ['held until their joiner approval is granted (jml approvals):'];
  for (const h of held) {
    const why = h.state === 'denied' ? `joiner approval ${h.requestId} was denied` : `joiner approval ${h.requestId} pending`;
    lines.push(`  ${h.identityKey.padEnd(12)} ${String(h.heldChanges).padStart(3)} change(s) held — ${why}`);
  }
  return lines;
}

/** Desired versus actual access of one identity. */
export function explanationLines(e: Explanation): string[] {
  const lines = [`${e.identityKey} (${e.status})`, '', 'accounts:'];
  if (e.accounts.length === 0) lines.push('  (none observed — reconcile the systems to see them)');
  for (const a of e.accounts) lines.push(`  ${a.system.padEnd(16)} ${a.name.padEnd(24)} ${a.enabled ? 'enabled' : 'disabled'}  ${a.accountId}`);
  lines.push('', 'access:');
  if (e.entitlements.length === 0) lines.push('  (nothing desired, nothing held)');
  for (const x of e.entitlements) {
    const state = x.state === 'ok' ? 'ok        ' : x.state === 'missing' ? 'MISSING   ' : 'NOT DESIRED';
    const why = x.because.length > 0 ? x.because.join('; ') : x.enforcement === 'full' ? 'no reason: the plan removes it (full enforcement)' : `no reason (enforcement ${x.enforcement ?? 'unknown'})`;
    lines.push(`  ${state} ${`${x.system}:${x.entitlement}`.padEnd(32)} ${why}`);
  }
  for (const u of e.unresolved ?? []) {
    lines.push(`  NO GROUP   ${`${u.system}:${u.template}`.padEnd(32)} rule ${u.rule}: ${u.missing.join(', ')} missing, so the template names no group`);
  }
  return lines;
}
