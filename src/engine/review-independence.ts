/**
 * The rubber-stamp report: per reviewer, how fast and how uniformly they
 * decided. A reviewer who keeps everything at several decisions a minute is
 * reported, so a campaign's evidence shows whether anyone actually looked.
 */
import type { DecisionRecord } from './review-decisions.ts';

export interface ReviewerPace {
  readonly reviewer: string;
  readonly decisions: number;
  /** Decisions per minute between their first and last decision (a single burst counts as one minute). */
  readonly perMinute: number;
  /** Share of decisions that kept access (keep or reduce), 0–1. */
  readonly approveRate: number;
  /** Median seconds between consecutive decisions; bulk decisions made at the same instant count as 0. */
  readonly medianSeconds: number;
  readonly flagged: boolean;
  readonly why: string | null;
}

/** When a reviewer is reported: at least `minDecisions`, approving (almost) all, faster than `maxMedianSeconds` each. */
export interface RubberStampThresholds {
  readonly minDecisions: number;
  readonly approveRate: number;
  readonly maxMedianSeconds: number;
}

export const DEFAULT_RUBBER_STAMP: RubberStampThresholds = { minDecisions: 10, approveRate: 0.98, maxMedianSeconds: 5 };

/**
 * The pace of every reviewer in `decisions`, sorted by reviewer.
 * @example rubberStampReport(decisions).filter((p) => p.flagged)
 */
export function rubberStampReport(decisions: readonly DecisionRecord[], thresholds: RubberStampThresholds = DEFAULT_RUBBER_STAMP): ReviewerPace[] {
  const byReviewer = new Map<string, number[]>();
  const kept = new Map<string, number>();
  for (const d of decisions) {
    const times = byReviewer.get(d.reviewer) ?? [];
    times.push(Date.parse(d.at));
    byReviewer.set(d.reviewer, times);
    if (d.decision !== 'remove') kept.set(d.reviewer, (kept.get(d.reviewer) ?? 0) + 1);
  }
  const out: ReviewerPace[] = [];
  for (const reviewer of [...byReviewer.keys()].sort()) {
    const times = byReviewer.get(reviewer)!.sort((a, b) => a - b);
    const n = times.length;
    const minutes = Math.max(1, (times[n - 1]! - times[0]!) / 60_000);
    const gaps = times.slice(1).map((t, i) => (t - times[i]!) / 1000).sort((a, b) => a - b);
    const medianSeconds = gaps.length === 0 ? 0 : gaps.length % 2 === 1 ? gaps[(gaps.length - 1) / 2]! : (gaps[gaps.length / 2 - 1]! + gaps[gaps.length / 2]!) / 2;
    const approveRate = (kept.get(reviewer) ?? 0) / n;
    const flagged = n >= thresholds.minDecisions && approveRate >= thresholds.approveRate && medianSeconds <= thresholds.maxMedianSeconds;
    out.push({
      reviewer,
      decisions: n,
      perMinute: n / minutes,
      approveRate,
      medianSeconds,
      flagged,
      why: flagged ? `kept ${Math.round(approveRate * 100)} % of ${n} items, median ${medianSeconds.toFixed(1)} s per decision` : null,
    });
  }
  return out;
}
