/**
 * Measures over time for a pack and the console dashboard, computed from the
 * pack's own rows so the chart and the table it summarises cannot disagree.
 * Pure: weeks are Monday 00:00 UTC buckets of the period.
 */
import type { Period, Row } from './evidence-queries.ts';

const WEEK = 7 * 86_400_000;

/** The Monday 00:00 UTC on or before `t`. */
function weekStart(t: number): number {
  const d = new Date(t);
  const day = (d.getUTCDay() + 6) % 7;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day);
}

/**
 * The period the dashboard charts: from the Monday (UTC) `weeks - 1` weeks
 * before the one holding `now`, up to `now` (the current week is partial).
 */
export function lastWeeks(now: Date, weeks: number): Period {
  return { from: new Date(weekStart(now.getTime()) - (weeks - 1) * WEEK), to: now };
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * One row per week: leavers effective that week, the share whose every step
 * was confirmed within the SLA, the median hours from effective time to
 * access confirmed, and the findings (all kinds, and orphan accounts) open at
 * the end of the week.
 */
export function weeklyMeasures(period: Period, leavers: readonly Row[], findings: readonly Row[]): Row[] {
  const out: Row[] = [];
  const byWeek = new Map<number, Row[]>();
  for (const l of leavers) {
    const w = weekStart(Date.parse(String(l.effective_at)));
    byWeek.set(w, [...(byWeek.get(w) ?? []), l]);
  }
  const spans = findings.map((f) => ({ kind: f.kind, from: Date.parse(String(f.first_seen)), to: f.resolved_at ? Date.parse(String(f.resolved_at)) : Infinity }));
  for (let w = weekStart(period.from.getTime()); w < period.to.getTime(); w += WEEK) {
    const end = Math.min(w + WEEK, period.to.getTime());
    const week = byWeek.get(w) ?? [];
    const met = week.filter((l) => l.sla_met === true).length;
    const openAt = spans.filter((s) => s.from < end && s.to >= end);
    out.push({
      week_start: new Date(w).toISOString().slice(0, 10),
      leavers: week.length,
      sla_met_pct: week.length === 0 ? null : Math.round((1000 * met) / week.length) / 10,
      median_hours_to_confirmed: median(week.map((l) => l.hours_to_confirmed).filter((h): h is number => typeof h === 'number')),
      open_findings: openAt.length,
      open_orphans: openAt.filter((s) => s.kind === 'orphan_account').length,
    });
  }
  return out;
}
