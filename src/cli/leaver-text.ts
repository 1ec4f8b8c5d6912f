/**
 * `jml leavers` as text: a header that says what is listed and what is not,
 * column headers, one line per leaver with the measured latency (detection →
 * last confirmation), and one line per step with its own confirmation time.
 */
import type { LeaverStatus, LeaversOutside } from '../app/leaver-sla.ts';

export interface LeaverListing {
  readonly days: number;
  readonly leavers: readonly LeaverStatus[];
  /** Leavers in the window; more than `leavers.length` when `--limit` cut the list. */
  readonly total: number;
  readonly outside: LeaversOutside;
}

/** A duration as a person reads it: 850 ms, 1.4 s, 12 min, 3.5 h, 2.0 d. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 120) return `${minutes} min`;
  const hours = ms / 3_600_000;
  return hours < 48 ? `${hours.toFixed(1)} h` : `${(hours / 24).toFixed(1)} d`;
}

function table(rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => (indent + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).trimEnd());
}

const minute = (iso: string) => iso.replace(/:\d\d\.\d+Z$|:\d\dZ$/, 'Z').replace('T', ' ');
const second = (iso: string) => iso.replace(/\.\d+Z$/, 'Z').replace('T', ' ');

/** The lines `jml leavers` prints. */
export function leaverLines(listing: LeaverListing): string[] {
  const { leavers, days, total, outside } = listing;
  const open = leavers.filter((l) => l.state !== 'complete');
  const overdue = leavers.filter((l) => l.state === 'overdue').length;
  const lines: string[] = [];
  const window = `effective in the last ${days} day${days === 1 ? '' : 's'}`;
  if (total === 0) lines.push(`No leavers ${window}.`);
  else {
    lines.push(`Leavers ${window}, newest first: ${open.length} with access still being removed${overdue > 0 ? ` (${overdue} overdue)` : ''}, ${leavers.length - open.length} completed.`);
    lines.push('Latency: from the import that brought the leaver to the read-back confirming each step. SLA clock: from the effective time.');
  }
  if (total > leavers.length) lines.push(`Showing ${leavers.length} of ${total} (--limit).`);
  const notShown = [
    outside.earlier > 0 ? `${outside.earlier} effective earlier (use --days to see them)` : '',
    outside.scheduled > 0 ? `${outside.scheduled} scheduled to leave later` : '',
  ].filter(Boolean);
  if (notShown.length > 0) lines.push(`Not listed: ${notShown.join('; ')}.`);
  for (const l of leavers) {
    lines.push('');
    lines.push(
      ...table([
        ['IDENTITY', 'STATE', 'EFFECTIVE', 'DETECTED', 'LATENCY', 'SLA CLOCK', 'DUE'],
        [l.identityKey, l.state, minute(l.effectiveAt), second(l.detectedAt), l.latencyMs === null ? '-' : formatDuration(l.latencyMs), formatDuration(l.elapsedMs), minute(l.dueAt)],
      ]),
    );
    if (l.steps.length === 0) {
      lines.push('  (no step planned yet)');
      continue;
    }
    const steps = l.steps.map((s) => [
      `${s.confirmedAt ? '✔' : s.overdue ? '✖' : '…'} ${s.kind}`,
      s.system ?? 'jml',
      `${s.state}${s.manual ? ' (task)' : ''}`,
      s.confirmedAt ? second(s.confirmedAt) : '-',
      s.latencyMs === null ? '-' : formatDuration(s.latencyMs),
    ]);
    lines.push(...table([['  STEP', 'SYSTEM', 'STATE', 'CONFIRMED', 'LATENCY'], ...steps.map(([first, ...rest]) => [`  ${first}`, ...rest] as string[])], '  '));
  }
  return lines;
}
