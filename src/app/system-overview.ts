/**
 * Every system at a glance, for the console's systems page: its connector,
 * owner and enforcement from policy, its health (quarantined or not, the
 * failure streak, the last error), its last reconciliation and its open
 * findings. Systems with a health record or a reconcile run but no longer in
 * policy are listed too, so nothing quarantined goes unseen.
 */
import { sql, type Kysely } from 'kysely';
import type { SystemDef } from '../domain/policy.ts';
import type { Database } from '../store/database.ts';

export interface SystemOverview {
  readonly system: string;
  /** The connector type; null for a system no longer in policy. */
  readonly connector: string | null;
  readonly owner: string | null;
  readonly enforcement: string | null;
  readonly inPolicy: boolean;
  readonly state: 'healthy' | 'quarantined';
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  readonly quarantinedAt: string | null;
  readonly lastSuccessAt: string | null;
  readonly lastReconcile: { readonly status: string; readonly startedAt: string; readonly finishedAt: string | null; readonly error: string | null } | null;
  readonly openFindings: number;
}

const iso = (d: Date | null) => (d === null ? null : new Date(d).toISOString());

/**
 * The overview of the policy's systems, in policy order, then any others by name.
 * @example
 * const systems = await listSystemOverview(db, policy.systems);
 */
export async function listSystemOverview(db: Kysely<Database>, policySystems: readonly Pick<SystemDef, 'name' | 'connector' | 'owner' | 'enforcement'>[]): Promise<SystemOverview[]> {
  const [health, runs, findings] = await Promise.all([
    db.selectFrom('system_health').selectAll().execute(),
    // The newest run of each system.
    db.selectFrom('reconcile_runs').distinctOn('system').select(['system', 'status', 'started_at', 'finished_at', 'error']).orderBy('system').orderBy('started_at', 'desc').execute(),
    db.selectFrom('findings').select(['system', sql<number>`count(*)::int`.as('n')]).where('state', '=', 'open').where('system', 'is not', null).groupBy('system').execute(),
  ]);
  const healthOf = new Map(health.map((h) => [h.system, h]));
  const runOf = new Map(runs.map((r) => [r.system, r]));
  const findingsOf = new Map(findings.map((f) => [f.system!, f.n]));
  const others = [...new Set([...healthOf.keys(), ...runOf.keys()])].filter((name) => !policySystems.some((s) => s.name === name)).sort();
  const rows = [...policySystems.map((s) => ({ name: s.name, def: s })), ...others.map((name) => ({ name, def: null }))];
  return rows.map(({ name, def }) => {
    const h = healthOf.get(name);
    const run = runOf.get(name);
    return {
      system: name,
      connector: def?.connector.type ?? null,
      owner: def?.owner ?? null,
      enforcement: def?.enforcement ?? null,
      inPolicy: def !== null,
      state: h?.state ?? 'healthy',
      consecutiveFailures: h?.consecutive_failures ?? 0,
      lastError: h?.last_error ?? null,
      quarantinedAt: iso(h?.quarantined_at ?? null),
      lastSuccessAt: iso(h?.last_success_at ?? null),
      lastReconcile: run ? { status: run.status, startedAt: iso(run.started_at)!, finishedAt: iso(run.finished_at), error: run.error } : null,
      openFindings: findingsOf.get(name) ?? 0,
    };
  });
}
