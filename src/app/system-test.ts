/**
 * The console's view of a connection test. The test itself is one use case,
 * `testPolicySystem` (src/app/connection-test.ts), shared with
 * `jml system test`; this file only summarises its report for the Systems
 * page: problems as lines, the first page of accounts as a count, whether more
 * exist and a few names.
 */
import type { ConnectionReport } from './connection-test.ts';

export interface SystemTestResult {
  readonly system: string;
  readonly ok: boolean;
  /** Why the test failed: the settings' problems, else the failure's message. */
  readonly problems: readonly string[];
  /** Accounts on the page read; null when the read did not happen or failed. */
  readonly accountsRead: number | null;
  /** Whether the system has more accounts than the page held. */
  readonly more: boolean;
  /** Names of the first few accounts read, so a person sees the right directory answered. */
  readonly sample: readonly string[];
  readonly elapsedMs: number;
}

/**
 * Summarises a connection report for the console.
 * @example
 * const started = performance.now();
 * const report = await testPolicySystem(deps, 'directory', { pageSize: 20 });
 * const result = summariseConnectionTest(report, performance.now() - started);
 */
export function summariseConnectionTest(report: ConnectionReport, elapsedMs: number): SystemTestResult {
  const failure = report.failure;
  const problems = failure === null ? [] : failure.problems.length > 0 ? [...failure.problems] : [`${failure.reason}: ${failure.message}`];
  return {
    system: report.system,
    ok: report.ok,
    problems,
    accountsRead: report.accounts?.count ?? null,
    more: report.accounts?.more ?? false,
    sample: report.accounts?.names ?? [],
    elapsedMs: Math.round(elapsedMs),
  };
}
