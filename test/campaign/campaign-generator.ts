/**
 * The fault campaign's generator: a random organisation (time zone, start
 * date near a daylight-saving change, a few people) and a random history of
 * operations — HR changes, time advancing, policy changes, access requests,
 * and synchronisations (import → plan → apply) run under faults. fast-check
 * shrinks a failing history to a minimal one and replays it from its seed.
 */
import fc from 'fast-check';

export const DEPARTMENTS = ['Engineering', 'Sales'] as const;
export type Department = (typeof DEPARTMENTS)[number];
export const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Noether'] as const;

/** Fault rates of the chaos connector during one apply, and queue faults around it. */
export interface SyncFaults {
  readonly timeoutRate: number;
  readonly rateLimitRate: number;
  readonly unavailableRate: number;
  /** Connection reset after the target applied the change. */
  readonly resetRate: number;
  /** The same apply jobs of the plan delivered again once it finished. */
  readonly duplicate: boolean;
  /** Apply jobs of an earlier plan delivered again, after later plans moved on. */
  readonly late: boolean;
  /** With worker processes: one is killed with SIGKILL this long after the plan is submitted (null: none). */
  readonly killWorkerAfterMs: number | null;
  /** With a real directory: it is stopped before the apply and started again this long after (null: stays up). */
  readonly directoryDownMs: number | null;
  /** On the campaign's own PostgreSQL server: restarted during one phase of the sync (null: stays up). */
  readonly postgresRestart: PostgresRestart | null;
}

/**
 * A restart of the database server, `afterMs` into a phase of a sync: the HR
 * import, the plan's computation, or its apply by worker processes.
 * `immediate` is a crash (recovery replays the log), `fast` a clean shutdown;
 * both cut every connection.
 */
export interface PostgresRestart {
  readonly during: 'import' | 'plan' | 'apply';
  readonly afterMs: number;
  readonly mode: 'immediate' | 'fast';
}

export type Operation =
  | { readonly op: 'join'; readonly who: number; readonly department: Department; readonly startOffset: number }
  | { readonly op: 'move'; readonly who: number; readonly department: Department }
  | { readonly op: 'rename'; readonly who: number; readonly last: string }
  | { readonly op: 'leave'; readonly who: number; readonly endOffset: number }
  | { readonly op: 'rehire'; readonly who: number; readonly startOffset: number }
  | { readonly op: 'advance'; readonly hours: number }
  | { readonly op: 'policy'; readonly engineeringRule: boolean }
  | { readonly op: 'request'; readonly who: number }
  | { readonly op: 'sync'; readonly faults: SyncFaults };

export interface Organisation {
  readonly timeZone: string;
  /** The history starts at noon UTC of this day, a few days before a daylight-saving change. */
  readonly startDay: string;
  readonly people: number;
}

export interface History {
  readonly org: Organisation;
  readonly operations: readonly Operation[];
}

/** Days a few days before the 2026 changes in Europe (29 Mar, 25 Oct) and the US (8 Mar, 1 Nov). */
const START_DAYS = ['2026-03-05', '2026-03-26', '2026-10-22', '2026-10-29'] as const;
const TIME_ZONES = ['Europe/Berlin', 'America/New_York', 'UTC'] as const;
const RATE = fc.constantFrom(0, 0, 0.1, 0.3);

const syncFaults: fc.Arbitrary<SyncFaults> = fc.record({
  timeoutRate: RATE,
  rateLimitRate: RATE,
  unavailableRate: RATE,
  resetRate: RATE,
  duplicate: fc.boolean(),
  late: fc.boolean(),
  killWorkerAfterMs: fc.option(fc.integer({ min: 0, max: 1_500 }), { nil: null }),
  directoryDownMs: fc.option(fc.integer({ min: 0, max: 2_000 }), { nil: null, freq: 3 }),
  // One sync in six: a restart costs about a second of the server's recovery.
  postgresRestart: fc.oneof(
    { withCrossShrink: true },
    { weight: 5, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.record({ during: fc.constantFrom('import' as const, 'plan' as const, 'apply' as const), afterMs: fc.integer({ min: 0, max: 600 }), mode: fc.constantFrom('immediate' as const, 'fast' as const) }) },
  ),
});

function operation(people: number): fc.Arbitrary<Operation> {
  const who = fc.integer({ min: 0, max: people - 1 });
  const department = fc.constantFrom(...DEPARTMENTS);
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('join' as const), who, department, startOffset: fc.integer({ min: -10, max: 6 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('move' as const), who, department }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('rename' as const), who, last: fc.constantFrom(...LAST_NAMES) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('leave' as const), who, endOffset: fc.integer({ min: -5, max: 6 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('rehire' as const), who, startOffset: fc.integer({ min: -3, max: 4 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 96 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('policy' as const), engineeringRule: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('request' as const), who }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('sync' as const), faults: syncFaults }) },
  );
}

/** A random organisation and a history of up to `maxOperations` operations on it. */
export function historyArbitrary(maxOperations = 14): fc.Arbitrary<History> {
  return fc
    .record({ timeZone: fc.constantFrom(...TIME_ZONES), startDay: fc.constantFrom(...START_DAYS), people: fc.integer({ min: 2, max: 6 }) })
    .chain((org) => fc.record({ org: fc.constant(org), operations: fc.array(operation(org.people), { minLength: 1, maxLength: maxOperations }) }));
}

/** One line per operation, for the printed counterexample and regression tests. */
export function describeHistory(history: History): string {
  return [`org ${JSON.stringify(history.org)}`, ...history.operations.map((o, i) => `${String(i + 1).padStart(2)}. ${JSON.stringify(o)}`)].join('\n');
}
