/**
 * Wires the API's ports to jml's use cases: the HR import, the planner and
 * apply, findings, quarantine and observed accounts. Plans previewed in the
 * console wait in memory for approval (one process; a restart forgets
 * unapproved previews, which are cheap to compute again).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { applyPlan } from '../app/apply-plan.ts';
import { createPlanner, type PlanScope } from '../app/compute-plan.ts';
import type { JmlConfig } from '../app/config.ts';
import { openPolicyConnectors } from '../app/connectors-from-policy.ts';
import { listFindings } from '../app/findings-store.ts';
import { importSource, type ImportResult } from '../app/import-source.ts';
import { listSystemHealth } from '../app/quarantine.ts';
import type { Plan } from '../domain/change.ts';
import { JmlError } from '../domain/errors.ts';
import type { Database } from '../store/database.ts';
import type { ConsoleServices, ImportOutcome, PlanView } from './api-deps.ts';

function outcomeOf(r: ImportResult): ImportOutcome {
  return {
    id: r.importId,
    source: r.source,
    status: r.status,
    dryRun: r.status === 'dry_run',
    held: r.held,
    rows: { total: r.counts.rows, valid: r.counts.valid, invalid: r.counts.invalid },
    events: r.events.map((e) => ({ type: e.type, identityKey: e.identity, effectiveDate: e.effective, changes: e.changes })),
    errors: r.errors.map((e) => ({ row: (e as { row?: number }).row ?? 0, message: (e as { message?: string }).message ?? String(e) })),
    message: r.heldReason ?? `${r.counts.joiners} joiners, ${r.counts.movers} movers, ${r.counts.leavers} leavers, ${r.counts.rehires} rehires`,
  };
}

/** Builds the ports over the store and configuration. */
export function createConsoleServices(deps: { readonly db: Kysely<Database>; readonly config: JmlConfig; readonly now: () => Date }): ConsoleServices {
  const { db, config } = deps;
  const previews = new Map<string, { plan: Plan; scope: PlanScope; status: string; approvedBy: string | null; states: Record<string, string> }>();
  const held = new Map<string, { source: string; file: string; content: string }>();

  async function runImport(source: string, fileName: string, content: string, dryRun: boolean, actor: string, allowMassChange: boolean): Promise<ImportOutcome> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'jml-upload-'));
    const file = path.join(dir, path.basename(fileName).replace(/[^A-Za-z0-9._-]/g, '_') || 'upload.csv');
    try {
      await writeFile(file, content);
      const result = await importSource({ db, config }, { source, file, dryRun, actor, allowMassChange, now: deps.now() });
      const outcome = outcomeOf(result);
      if (result.held) held.set(result.importId, { source, file: fileName, content });
      return outcome;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  const view = (id: string): PlanView => {
    const p = previews.get(id);
    if (!p) throw new JmlError('not_found', `no plan ${id}`);
    return { id, status: p.status, computedAt: p.plan.computedAt, fingerprint: p.plan.fingerprint, plan: p.plan, changeStates: p.states, approvedBy: p.approvedBy };
  };

  return {
    imports: {
      importSource: (r) => runImport(r.source, r.fileName, r.content, r.dryRun, r.actor, false),
      async release(importId, actor) {
        const h = held.get(importId);
        if (!h) throw new JmlError('not_found', `no held import ${importId} in this server (release it with the CLI)`);
        held.delete(importId);
        return runImport(h.source, h.file, h.content, false, actor, true);
      },
    },
    plans: {
      async preview(identityKeys, actor) {
        const scope: PlanScope = identityKeys.length > 0 ? { identityKeys } : {};
        const { plan } = await createPlanner({ db, config, actor, now: deps.now }).compute(scope);
        const id = plan.id || `plan-${randomUUID()}`;
        previews.set(id, { plan, scope, status: plan.changes.length === 0 ? 'applied' : 'awaiting_approval', approvedBy: null, states: {} });
        return view(id);
      },
      get: async (id) => view(id),
      list: async (status, limit) => [...previews.keys()].reverse().map(view).filter((p) => !status || p.status === status).slice(0, limit),
      async approve(id, actor) {
        const p = previews.get(id);
        if (!p) throw new JmlError('not_found', `no plan ${id}`);
        if (p.status !== 'awaiting_approval') throw new JmlError('conflict', `plan ${id} is ${p.status}, not awaiting approval`);
        p.status = 'approved';
        p.approvedBy = actor;
        return view(id);
      },
      async apply(id, actor) {
        const p = previews.get(id);
        if (!p) throw new JmlError('not_found', `no plan ${id}`);
        if (p.status !== 'approved') throw new JmlError('conflict', `plan ${id} must be approved before it is applied`);
        const planner = createPlanner({ db, config, actor, now: deps.now });
        const { policy } = await planner.loadPolicy();
        const systems = [...new Set(p.plan.changes.map((c) => c.system).filter((s): s is string => s !== null))];
        const connectors = await openPolicyConnectors({ db, policy, actor }, systems);
        p.status = 'applying';
        try {
          const report = await applyPlan({ db, actor, connectorFor: (s) => (s === null ? undefined : connectors.get(s)), tasksFor: (s) => connectors.tasksFor(s), currentFingerprint: () => planner.currentFingerprint(p.scope) }, p.plan);
          p.status = report.status;
          for (const c of report.changes) p.states[c.changeId] = c.state;
        } catch (error) {
          p.status = 'approved';
          throw error;
        } finally {
          await connectors.close();
        }
        return view(id);
      },
    },
    observed: {
      async accessOf(identityKey) {
        const accounts = await db.selectFrom('observed_accounts').select(['run_id', 'system', 'account_id', 'name', 'enabled', 'situation']).where('identity_key', '=', identityKey).execute();
        const grants = accounts.length === 0 ? [] : await db.selectFrom('observed_grants').select(['run_id', 'account_id', 'entitlement']).where('run_id', 'in', [...new Set(accounts.map((a) => a.run_id))]).where('account_id', 'in', accounts.map((a) => a.account_id)).execute();
        const assignments = await db.selectFrom('assignments').select(['system', 'entitlement', 'reason_type']).where('identity_key', '=', identityKey).where('state', '=', 'active').execute();
        return {
          desired: assignments.map((a) => ({ system: a.system, entitlement: a.entitlement, reasons: [a.reason_type] })),
          accounts: accounts.map((a) => ({ system: a.system, accountId: a.account_id, name: a.name, enabled: a.enabled, situation: a.situation, grants: grants.filter((g) => g.run_id === a.run_id && g.account_id === a.account_id).map((g) => g.entitlement) })),
        };
      },
      quarantinedSystems: async () => (await listSystemHealth(db, true)).map((h) => ({ system: h.system, reason: h.lastError ?? 'repeated failures' })),
      openFindings: async (limit) => (await listFindings(db, { state: 'open' })).slice(0, limit).map((f) => ({ id: f.id, kind: f.kind, system: f.system, identityKey: f.identityKey, detail: f.detail })),
      assetsOf: async (identityKey) => (await db.selectFrom('assets').select(['tag', 'kind', 'description', 'status']).where('holder_key', '=', identityKey).execute()).map((a) => ({ ...a })),
      requestable: async () => [],
    },
  };
}
