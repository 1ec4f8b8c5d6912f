/**
 * Reconciliation of one system: read its accounts, entitlements and grants
 * page by page through the connector into a snapshot, committing a checkpoint
 * (phase + cursor) with every page so a run that crashed resumes where it
 * stopped; correlate each account to an identity as it is stored; then raise
 * and resolve findings and make the snapshot the one plans observe.
 * Nothing here changes the system: removing access is the plan's business,
 * under the system's enforcement mode; unmatched accounts are only reported.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Account, Situation } from '../domain/access.ts';
import { JmlError } from '../domain/errors.ts';
import type { Policy } from '../domain/policy.ts';
import type { Connector, ListKind } from '../connectors/connector.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Database, ReconcileRunsTable } from '../store/database.ts';
import { latestRuns } from './observed-snapshot.ts';
import { syncFindings, type FindingSync } from './findings-store.ts';
import { loadAssignments, loadIdentities } from './plan-inputs.ts';
import { retryDelayMs } from '../domain/retry-backoff.ts';
import { createCorrelator, detectFindings, FINDING_KINDS, type ObservedAccountRow } from './reconcile-detect.ts';
import { syncSodFindings } from './sod-findings.ts';
import { alertPrivilegedGrants } from './risk-detectors.ts';
import type { AlertSink } from './alert.ts';

type Db = Kysely<Database>;
type Phase = ReconcileRunsTable['phase'];

export interface ReconcileProgress {
  readonly system: string;
  readonly phase: Phase;
  readonly pages: number;
  readonly items: number;
}

export interface ReconcileDeps {
  readonly db: Db;
  readonly policy: Policy;
  readonly connectorFor: (system: string) => Connector | undefined;
  readonly actor: string;
  readonly timeZone?: string;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Items per connector page (default 500). */
  readonly pageSize?: number;
  /** Attempts per page before the run stops, resumable (default 4). */
  readonly pageAttempts?: number;
  readonly onProgress?: (progress: ReconcileProgress) => void;
  /** Where the alert for a privileged grant made outside jml goes (it is audited either way). */
  readonly alert?: AlertSink;
}

export interface ReconcileReport {
  readonly runId: string;
  readonly system: string;
  /** True when this call continued a run that had stopped. */
  readonly resumed: boolean;
  readonly pages: number;
  readonly counts: { readonly accounts: number; readonly entitlements: number; readonly grants: number };
  readonly situations: Readonly<Record<Situation, number>>;
  /** Accounts linked in the previous snapshot that the system no longer has. */
  readonly deleted: readonly string[];
  readonly findings: FindingSync & { readonly byKind: Readonly<Record<string, number>> };
}

const PHASES: readonly (Phase & ListKind)[] = ['accounts', 'entitlements', 'grants'];
const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Reconciles one system and returns what it found.
 * @example
 * const report = await reconcileSystem({ db, policy, connectorFor, actor: 'cli:alice' }, 'directory');
 * report.findings.open;
 */
export async function reconcileSystem(deps: ReconcileDeps, system: string): Promise<ReconcileReport> {
  const def = deps.policy.systems.find((s) => s.name === system);
  if (!def) throw new JmlError('not_found', `no system ${system} in policy`, { details: { system } });
  const connector = deps.connectorFor(system);
  if (!connector) throw new JmlError('invalid_input', `system ${system} has no connector to read`, { details: { system } });
  const now = deps.now ?? (() => new Date());
  const { db } = deps;

  const existing = await db.selectFrom('reconcile_runs').selectAll().where('system', '=', system).where('status', '=', 'running').executeTakeFirst();
  let run = existing ?? (await startRun(deps, system, now()));
  const resumed = existing !== undefined;
  if (resumed) await appendAudit(db, { actor: deps.actor, action: 'reconcile.resumed', subject: `system:${system}`, trigger: 'reconcile', details: { run: run.id, phase: run.phase, pages: run.pages } }, now());

  const identities = await loadIdentities(db);
  const previous = (await latestRuns(db, [system])).get(system);
  const previousLinks = new Map<string, string>();
  if (previous) {
    const rows = await db.selectFrom('observed_accounts').select(['account_id', 'identity_key']).where('run_id', '=', previous.runId).where('situation', 'in', ['linked', 'unlinked']).execute();
    for (const r of rows) previousLinks.set(r.account_id, r.identity_key!);
  }
  const correlate = createCorrelator(def, identities, previousLinks);

  let phase = run.phase;
  let cursor = run.cursor;
  let pages = run.pages;
  let items = 0;
  while (isListPhase(phase)) {
    const page = await readPage(deps, connector, phase, cursor, system);
    const next = page.nextCursor;
    const nextPhase: Phase = next !== null ? phase : phaseAfter(phase);
    await db.transaction().execute(async (trx) => {
      await storePage(trx, run.id, system, phase as ListKind, page.items, correlate);
      await trx.updateTable('reconcile_runs').set({ phase: nextPhase, cursor: next, pages: pages + 1, error: null, updated_at: now().toISOString() }).where('id', '=', run.id).execute();
    });
    pages++;
    items += page.items.length;
    deps.onProgress?.({ system, phase, pages, items });
    phase = nextPhase;
    cursor = next;
  }
  run = { ...run, phase, cursor, pages };
  return finish(deps, run, resumed, previous?.runId ?? null, identities, now());
}

function isListPhase(phase: Phase): phase is Phase & ListKind {
  return (PHASES as readonly string[]).includes(phase);
}

function phaseAfter(phase: Phase): Phase {
  const i = PHASES.indexOf(phase as Phase & ListKind);
  return PHASES[i + 1] ?? 'correlate';
}

async function startRun(deps: ReconcileDeps, system: string, at: Date) {
  const row = {
    id: `rec-${randomUUID()}`, system, status: 'running' as const, phase: 'accounts' as const, cursor: null, pages: 0,
    summary: null, error: null, actor: deps.actor, started_at: at.toISOString(), updated_at: at.toISOString(), finished_at: null,
  };
  return deps.db.transaction().execute(async (trx) => {
    const created = await trx.insertInto('reconcile_runs').values(row).returningAll().executeTakeFirstOrThrow();
    await appendAudit(trx, { actor: deps.actor, action: 'reconcile.started', subject: `system:${system}`, trigger: 'reconcile', details: { run: row.id } }, at);
    return created;
  });
}

/** Pages are re-read in place, a few times, soon: a reconcile run is interactive or scheduled, not a queue. */
const PAGE_BACKOFF = { baseDelayMs: 250, maxDelayMs: 10_000 } as const;

/** One page, retried in place when the failure is retryable; a run that still fails stays resumable. */
async function readPage(deps: ReconcileDeps, connector: Connector, kind: ListKind, cursor: string | null, system: string) {
  const attempts = deps.pageAttempts ?? 4;
  const sleep = deps.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connector.list(kind, cursor, deps.pageSize ?? 500);
    } catch (error) {
      const retryable = error instanceof JmlError ? error.retryable : false;
      if (!retryable || attempt >= attempts) {
        const message = (error as Error).message;
        await deps.db.updateTable('reconcile_runs').set({ error: message, updated_at: new Date().toISOString() }).where('system', '=', system).where('status', '=', 'running').execute();
        throw new JmlError('connector', `reconcile ${system}: reading ${kind} failed (${message}); run it again to resume from the last page`, { cause: error, retryable, details: { system, kind } });
      }
      await sleep(retryDelayMs(attempt, PAGE_BACKOFF, Math.random, error instanceof JmlError && typeof error.details.retryAfterMs === 'number' ? error.details.retryAfterMs : undefined));
    }
  }
}

async function storePage(trx: Db, runId: string, system: string, kind: ListKind, pageItems: readonly unknown[], correlate: ReturnType<typeof createCorrelator>): Promise<void> {
  if (pageItems.length === 0) return;
  for (let i = 0; i < pageItems.length; i += 1000) {
    const chunk = pageItems.slice(i, i + 1000);
    if (kind === 'accounts') {
      const rows = (chunk as Account[]).map((a) => {
        const c = correlate(a);
        return {
          run_id: runId, system, account_id: a.accountId, name: a.name, enabled: a.enabled, attributes: JSON.stringify(a.attributes),
          last_login_at: a.lastLoginAt ?? null, identity_key: c.identityKey, situation: c.situation,
        };
      });
      await trx.insertInto('observed_accounts').values(rows).onConflict((oc) => oc.columns(['run_id', 'account_id']).doNothing()).execute();
    } else if (kind === 'entitlements') {
      const rows = (chunk as { entitlement: string; displayName: string; type: string }[]).map((e) => ({ run_id: runId, system, entitlement: e.entitlement, display_name: e.displayName, type: e.type }));
      await trx.insertInto('observed_entitlements').values(rows).onConflict((oc) => oc.columns(['run_id', 'entitlement']).doNothing()).execute();
    } else {
      const rows = (chunk as { accountId: string; entitlement: string }[]).map((g) => ({ run_id: runId, system, account_id: g.accountId, entitlement: g.entitlement }));
      await trx.insertInto('observed_grants').values(rows).onConflict((oc) => oc.columns(['run_id', 'account_id', 'entitlement']).doNothing()).execute();
    }
  }
}

/** Detects findings on the completed snapshot, publishes it, and drops older snapshots of the system. */
async function finish(
  deps: ReconcileDeps,
  run: { id: string; system: string; pages: number },
  resumed: boolean,
  previousRunId: string | null,
  identities: Awaited<ReturnType<typeof loadIdentities>>,
  at: Date,
): Promise<ReconcileReport> {
  const { db, policy } = deps;
  const def = policy.systems.find((s) => s.name === run.system)!;
  const accountRows = await db.selectFrom('observed_accounts').selectAll().where('run_id', '=', run.id).execute();
  const grantRows = await db.selectFrom('observed_grants').select(['account_id', 'entitlement']).where('run_id', '=', run.id).execute();
  const entitlements = await db.selectFrom('observed_entitlements').select((eb) => eb.fn.countAll<number>().as('n')).where('run_id', '=', run.id).executeTakeFirstOrThrow();
  const grantsOf = new Map<string, string[]>();
  for (const g of grantRows) {
    const list = grantsOf.get(g.account_id);
    if (list) list.push(g.entitlement);
    else grantsOf.set(g.account_id, [g.entitlement]);
  }
  const situations: Record<Situation, number> = { linked: 0, unlinked: 0, unmatched: 0, disputed: 0, deleted: 0 };
  const observed: ObservedAccountRow[] = accountRows.map((r) => {
    situations[r.situation ?? 'unmatched']++;
    return {
      account: { system: run.system, accountId: r.account_id, name: r.name, enabled: r.enabled, attributes: r.attributes },
      identityKey: r.identity_key,
      situation: r.situation ?? 'unmatched',
      grants: grantsOf.get(r.account_id) ?? [],
    };
  });
  let deleted: string[] = [];
  if (previousRunId) {
    const present = new Set(accountRows.map((r) => r.account_id));
    const before = await db.selectFrom('observed_accounts').select('account_id').where('run_id', '=', previousRunId).where('situation', 'in', ['linked', 'unlinked']).execute();
    deleted = before.map((r) => r.account_id).filter((id) => !present.has(id)).sort();
    situations.deleted = deleted.length;
  }
  const drafts = detectFindings({
    system: def, policy, identities, assignments: await loadAssignments(db), accounts: observed, now: at.toISOString(), timeZone: deps.timeZone ?? 'UTC',
  });
  const byKind: Record<string, number> = {};
  for (const d of drafts) byKind[d.kind] = (byKind[d.kind] ?? 0) + 1;
  const counts = { accounts: accountRows.length, entitlements: Number(entitlements.n), grants: grantRows.length };

  const sync = await db.transaction().execute(async (trx) => {
    const result = await syncFindings(trx, run.system, FINDING_KINDS, drafts, at);
    const summary = { counts, situations, deleted: deleted.slice(0, 100), findings: { ...result, byKind } };
    await trx.updateTable('reconcile_runs')
      .set({ status: 'completed', phase: 'done', cursor: null, summary: JSON.stringify(summary), finished_at: at.toISOString(), updated_at: at.toISOString() })
      .where('id', '=', run.id).execute();
    await trx.deleteFrom('reconcile_runs').where('system', '=', run.system).where('id', '<>', run.id).where('status', '<>', 'running').execute();
    await appendAudit(trx, { actor: deps.actor, action: 'reconcile.completed', subject: `system:${run.system}`, trigger: 'reconcile', details: { run: run.id, ...summary } }, at);
    // SoD spans systems: judged over every system's latest snapshot, this one now included.
    if ((policy.sod ?? []).length > 0) await syncSodFindings(trx, policy, at, deps.actor);
    return result;
  });
  // Escalation outside the workflow is alerted at once, not at the next scheduled scan.
  await alertPrivilegedGrants(db, policy, run.system, drafts, at, deps.alert);
  return { runId: run.id, system: run.system, resumed, pages: run.pages, counts, situations, deleted, findings: { ...sync, byKind } };
}
