/**
 * What `jml apply` prints when a plan has gone as far as it can: per system
 * and change kind how many changes were confirmed, already held, wait on
 * people, parked, blocked or still wait; the first distinct errors; and what
 * to do about a quarantined system. `verbose` adds one line per change.
 */
import type { ApplyReport } from '../jobs/plan-executor.ts';
import type { ReportedState } from '../app/plan-progress.ts';

const COLUMNS: readonly ReportedState[] = ['confirmed', 'already', 'pending', 'parked', 'blocked', 'waiting'];
/** Always shown, so a reader finds them in the same place every time; the others only when something is in them. */
const ALWAYS: readonly ReportedState[] = ['confirmed', 'already', 'parked', 'waiting'];
const FIRST_ERRORS = 3;

/** One line: the plan's status in words. */
export function applyHeadline(report: ApplyReport): string {
  const counts = COLUMNS.filter((c) => report.counts[c]).map((c) => `${report.counts[c]} ${c}`).join(', ');
  const where = report.status === 'applying' ? (report.quarantined.length > 0 ? 'waiting' : 'waiting on tasks') : report.status;
  return `plan ${report.planId}: ${where} — ${report.total} change(s)${counts ? `: ${counts}` : ''}`;
}

/**
 * The summary lines of one apply report.
 * @example
 * for (const line of applySummaryLines(report)) console.log(line);
 */
export function applySummaryLines(report: ApplyReport, options: { readonly verbose?: boolean } = {}): string[] {
  const lines = [applyHeadline(report)];
  if (report.total === 0) return lines;
  const columns = COLUMNS.filter((c) => ALWAYS.includes(c) || report.counts[c]);
  const rows: { readonly system: string; readonly kind: string; readonly counts: Partial<Record<ReportedState, number>> }[] = [];
  for (const change of report.changes) {
    const system = change.system ?? 'jml';
    let row = rows.find((r) => r.system === system && r.kind === change.kind);
    if (!row) rows.push((row = { system, kind: change.kind, counts: {} }));
    row.counts[change.state] = (row.counts[change.state] ?? 0) + 1;
  }
  rows.sort((a, b) => a.system.localeCompare(b.system) || a.kind.localeCompare(b.kind));
  const systemWidth = Math.max(6, ...rows.map((r) => r.system.length));
  const kindWidth = Math.max(4, ...rows.map((r) => r.kind.length));
  const cell = (value: string | number, name: string) => String(value).padStart(Math.max(name.length, 3));
  lines.push(`  ${'system'.padEnd(systemWidth)}  ${'kind'.padEnd(kindWidth)}  ${columns.map((c) => cell(c, c)).join('  ')}`);
  for (const row of rows) lines.push(`  ${row.system.padEnd(systemWidth)}  ${row.kind.padEnd(kindWidth)}  ${columns.map((c) => cell(row.counts[c] ?? 0, c)).join('  ')}`);

  const errors = new Map<string, { readonly example: string; count: number }>();
  for (const change of report.changes) {
    if (!change.lastError || change.state === 'confirmed' || change.state === 'already') continue;
    const seen = errors.get(change.lastError);
    if (seen) seen.count++;
    else errors.set(change.lastError, { example: `${change.kind} ${change.system ?? 'jml'} for ${change.identityKey}`, count: 1 });
  }
  if (errors.size > 0) {
    lines.push(`  first errors${errors.size > FIRST_ERRORS ? ` (${FIRST_ERRORS} of ${errors.size})` : ''}:`);
    for (const [message, { example, count }] of [...errors].slice(0, FIRST_ERRORS)) {
      lines.push(`    ${example}${count > 1 ? ` (and ${count - 1} more)` : ''}: ${message}`);
    }
  }
  for (const q of report.quarantined) {
    lines.push(`  ${q.system} is quarantined; ${q.waiting} change(s) wait for it without using up their attempts.`);
    lines.push(`    once it is back: jml quarantine release ${q.system} (a running jml worker's health check also releases it), then jml apply`);
  }
  if ((report.counts.pending ?? 0) > 0) lines.push('  pending changes wait for people: see `jml tasks`.');
  if (options.verbose) {
    lines.push('  changes:');
    for (const c of report.changes) {
      lines.push(`    ${c.state.padEnd(9)} ${c.kind} ${c.system ?? 'jml'}${c.entitlement ? `:${c.entitlement}` : ''} for ${c.identityKey}${c.lastError && c.state !== 'confirmed' && c.state !== 'already' ? ` — ${c.lastError}` : ''}`);
    }
  }
  return lines;
}
