/**
 * System health and quarantine. A system whose changes fail retryably time
 * after time is quarantined: its changes wait (without using up their
 * attempts), a finding and an alert go out, while other systems carry on. A
 * system that cannot be reached at all (connection refused, no answer) is
 * quarantined sooner: every further try would fail the same way. Quarantine ends when a person
 * releases it or a health check (the connector's `validate`) passes.
 */
import type { Kysely, Selectable } from 'kysely';
import { JmlError } from '../domain/errors.ts';
import type { Connector } from '../connectors/connector.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Database, SystemHealthTable } from '../store/database.ts';
import { raiseFinding, resolveFinding, type AlertSink } from './alert.ts';

export interface QuarantinePolicy {
  /** Consecutive retryable failures after which a system is quarantined. */
  readonly after: number;
  /** Consecutive failures to reach the system at all (refused, timed out) after which it is quarantined. */
  readonly unreachableAfter: number;
  /** Delay between tries of a quarantined system's changes. */
  readonly retryDelayMs: number;
}

export const DEFAULT_QUARANTINE: QuarantinePolicy = { after: 5, unreachableAfter: 3, retryDelayMs: 5 * 60_000 };

export interface SystemHealth {
  readonly system: string;
  readonly state: 'healthy' | 'quarantined';
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  readonly quarantinedAt: string | null;
}

export async function isQuarantined(db: Kysely<Database>, system: string): Promise<boolean> {
  const row = await db.selectFrom('system_health').select('state').where('system', '=', system).executeTakeFirst();
  return row?.state === 'quarantined';
}

/** A change in the system was carried out (or read back as holding): the failure streak ends. */
export async function recordSystemSuccess(db: Kysely<Database>, system: string, now: Date): Promise<void> {
  await db
    .updateTable('system_health')
    .set({ consecutive_failures: 0, last_success_at: now.toISOString() })
    .where('system', '=', system)
    .where('consecutive_failures', '>', 0)
    .execute();
}

/**
 * Counts a retryable failure; quarantines the system (audit + finding + alert)
 * when the streak reaches the limit — `unreachableAfter` when this failure was
 * one to reach the system at all, `after` otherwise.
 */
export async function recordSystemFailure(db: Kysely<Database>, system: string, error: string, policy: QuarantinePolicy, now: Date, sink?: AlertSink, unreachable = false): Promise<SystemHealth> {
  const at = now.toISOString();
  const row = await db
    .insertInto('system_health')
    .values({ system, state: 'healthy', consecutive_failures: 1, last_error: error, last_failure_at: at })
    .onConflict((oc) =>
      oc.column('system').doUpdateSet((eb) => ({ consecutive_failures: eb('system_health.consecutive_failures', '+', 1), last_error: error, last_failure_at: at })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
  const limit = unreachable ? policy.unreachableAfter : policy.after;
  if (row.state === 'healthy' && row.consecutive_failures >= limit) {
    const updated = await db
      .updateTable('system_health')
      .set({ state: 'quarantined', quarantined_at: at, released_at: null, released_by: null })
      .where('system', '=', system)
      .where('state', '=', 'healthy')
      .returningAll()
      .executeTakeFirst();
    if (updated) {
      await appendAudit(db, { actor: 'jml', action: 'system.quarantined', subject: `system:${system}`, trigger: 'job', details: { failures: row.consecutive_failures, error } }, now);
      await raiseFinding(db, { kind: 'quarantined_system', subject: system, system, detail: `${system} quarantined after ${row.consecutive_failures} consecutive failures${unreachable ? ' to reach it' : ''}: ${error}; its changes wait until it is released or a health check passes` }, now, sink);
      return toHealth(updated);
    }
  }
  return toHealth(row);
}

/** Ends a quarantine; `by` is a person (`cli:alice`) or `health-check`. */
export async function releaseQuarantine(db: Kysely<Database>, system: string, by: string, now: Date): Promise<SystemHealth> {
  const row = await db
    .updateTable('system_health')
    .set({ state: 'healthy', consecutive_failures: 0, released_at: now.toISOString(), released_by: by })
    .where('system', '=', system)
    .where('state', '=', 'quarantined')
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new JmlError('not_found', `system ${system} is not quarantined`, { details: { system } });
  await appendAudit(db, { actor: by, action: 'system.released', subject: `system:${system}`, trigger: by === 'health-check' ? 'job' : 'cli', details: {} }, now);
  await resolveFinding(db, 'quarantined_system', system, now);
  return toHealth(row);
}

export async function listSystemHealth(db: Kysely<Database>, onlyQuarantined = false): Promise<SystemHealth[]> {
  let query = db.selectFrom('system_health').selectAll().orderBy('system');
  if (onlyQuarantined) query = query.where('state', '=', 'quarantined');
  return (await query.execute()).map(toHealth);
}

/** Runs each quarantined system's health check; a passing one is released. Returns the released systems. */
export async function probeQuarantined(db: Kysely<Database>, connectorFor: (system: string) => Connector | undefined, now: Date): Promise<string[]> {
  const released: string[] = [];
  for (const health of await listSystemHealth(db, true)) {
    const connector = connectorFor(health.system);
    if (!connector) continue;
    const result = await connector.validate().catch(() => ({ ok: false, problems: [] }));
    if (result.ok) {
      await releaseQuarantine(db, health.system, 'health-check', now);
      released.push(health.system);
    }
  }
  return released;
}

function toHealth(row: Selectable<SystemHealthTable>): SystemHealth {
  return {
    system: row.system,
    state: row.state,
    consecutiveFailures: row.consecutive_failures,
    lastError: row.last_error,
    quarantinedAt: row.quarantined_at ? row.quarantined_at.toISOString() : null,
  };
}
