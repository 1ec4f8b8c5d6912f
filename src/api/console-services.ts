/**
 * Wires the API's ports to jml's use cases: the HR import, the planner and
 * apply, approvals and access requests, findings, quarantine and observed
 * accounts. Nothing lives in process
 * memory: plan previews and held import files are in the database, so a
 * restart or another instance behind a load balancer carries on.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { createPlanner, type PlanScope } from '../app/compute-plan.ts';
import { configuredSource, fourEyesOnPlans, type JmlConfig } from '../app/config.ts';
import { heldPushInput, pushUsers, type PushInput, type PushResult } from '../app/inbound/scim-push.ts';
import { openPolicyConnectors } from '../app/connectors-from-policy.ts';
import { createInitialCredentials } from '../app/initial-credentials.ts';
import { keyringFromEnv } from '../connectors/secrets/index.ts';
import { listFindings } from '../app/findings-store.ts';
import { importSource, type ImportResult } from '../app/import-source.ts';
import { coalescedFollowUps, followUpImport, tolerantReplan, type ReplanQueue } from '../app/replan-follow-up.ts';
import { lostDeviceSettings } from '../app/assets/lost-device-report.ts';
import { listSystemHealth } from '../app/quarantine.ts';
import { readPlanProgress } from '../app/plan-progress.ts';
import { loadPlan } from '../app/plan-record-store.ts';
import { JmlError } from '../domain/errors.ts';
import type { Database } from '../store/database.ts';
import type { Backend } from '../store/open-store.ts';
import { releaseSystem, startPlan } from '../jobs/plan-executor.ts';
import { testPolicySystem } from '../app/connection-test.ts';
import { summariseConnectionTest } from '../app/system-test.ts';
import type { ConsoleServices, ImportOutcome } from './api-deps.ts';
import { createApprovalsPort } from './approvals-port.ts';
import { buildEvidenceZip } from '../app/evidence/evidence-service.ts';
import { createIdentityAccess } from './identity-access.ts';
import { createPlanPreviewStore } from './plan-preview-store.ts';
import type { PriorityLane } from '../store/priority-lane.ts';

/**
 * A dry run stores nothing, so it has no id to come back to; one the
 * mass-change guard would stop says so (`wouldBeHeld`) instead of looking like
 * a real hold waiting for release.
 */
function outcomeOf(r: ImportResult, dryRun: boolean): ImportOutcome {
  return {
    id: dryRun ? null : r.importId,
    source: r.source,
    status: dryRun ? 'dry_run' : r.status,
    dryRun,
    held: r.held && !dryRun,
    wouldBeHeld: r.held && dryRun,
    rows: { total: r.counts.rows, valid: r.counts.valid, invalid: r.counts.invalid },
    events: r.events.map((e) => ({ type: e.type, identityKey: e.identity, effectiveDate: e.effective, changes: e.changes })),
    errors: r.errors.map((e) => ({ row: (e as { row?: number }).row ?? 0, message: (e as { message?: string }).message ?? String(e) })),
    message: r.heldReason !== null ? `${dryRun ? 'dry run, would be held: ' : ''}${r.heldReason}` : `${r.counts.joiners} joiners, ${r.counts.movers} movers, ${r.counts.leavers} leavers, ${r.counts.rehires} rehires${r.effective.length > 0 ? `; ${r.effective.length} scheduled events took effect` : ''}`,
  };
}

/** A released push in the shape the console shows a released import in. */
function pushOutcome(r: PushResult): ImportOutcome {
  const failed = r.operations.flatMap((o, i) => (o.ok ? [] : [{ row: i + 1, message: o.error.message }]));
  return {
    id: r.importId,
    source: r.source,
    status: r.status,
    dryRun: false,
    held: r.status === 'held',
    wouldBeHeld: false,
    rows: { total: r.operations.length, valid: r.operations.length - failed.length, invalid: failed.length },
    events: r.events.map((e) => ({ type: e.type, identityKey: e.identity, effectiveDate: e.effective, changes: e.changes })),
    errors: failed,
    message: r.heldReason ?? `${r.counts.joiners} joiners, ${r.counts.movers} movers, ${r.counts.leavers} leavers, ${r.counts.rehires} rehires`,
  };
}

export interface ConsoleServicesDeps {
  readonly db: Kysely<Database>;
  /** Which database `db` is: the apply's in-process queue worker runs on it. */
  readonly backend: Backend;
  readonly config: JmlConfig;
  readonly now: () => Date;
  /**
   * Where replans go after an import (as `jml import` does): the workers plan the
   * identities it touched. Absent: nothing is asked; the next plan picks them up.
   */
  readonly replan?: ReplanQueue;
  /**
   * The store's priority lane (embedded store): an import's statements are
   * served before the workers' waiting ones, since the leaver it may carry
   * cannot be queued until the import is done.
   */
  readonly lane?: Pick<PriorityLane, 'preferred'>;
}

/** How long the follow-up of a push waits for the pushes after it (coalescedFollowUps). */
const PUSH_FOLLOW_UP_WINDOW_MS = 1000;

/** Builds the ports over the store and configuration. */
export function createConsoleServices(deps: ConsoleServicesDeps): ConsoleServices {
  const { db, config } = deps;
  const previews = createPlanPreviewStore({ db, now: deps.now });
  const access = createIdentityAccess({ db, config, now: deps.now });
  const preferred = <T>(fn: () => T): T => (deps.lane ? deps.lane.preferred(fn) : fn());

  /** Opens joiner approvals and asks the workers to plan the touched identities; a failure never undoes the import. */
  async function followUp(result: Pick<ImportResult, 'status' | 'events' | 'effective' | 'source' | 'importId'>): Promise<void> {
    try {
      await followUpImport({ db, queue: deps.replan!, policy: async () => (await access.policy()).policy, timezone: config.timezone, now: deps.now }, result);
    } catch (error) {
      process.stderr.write(`jml serve: replan after import ${result.importId} not requested (${(error as Error).message}); the workers' next tick plans it\n`);
    }
  }

  async function runImport(source: string, fileName: string, content: string, dryRun: boolean, actor: string, allowMassChange: boolean): Promise<ImportOutcome> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'jml-upload-'));
    // Only the name's last part, in safe characters; "." and ".." would name the directory itself.
    const safeName = path.basename(fileName).replace(/[^A-Za-z0-9._-]/g, '_');
    const file = path.join(dir, /^\.*$/.test(safeName) ? 'upload.csv' : safeName);
    try {
      await writeFile(file, content);
      const result = await importSource({ db, config }, { source, file, dryRun, actor, allowMassChange, now: deps.now() });
      const outcome = outcomeOf(result, dryRun);
      if (result.status === 'applied' && deps.replan) await followUp(result);
      if (result.held && !dryRun) {
        await db.insertInto('held_import_files').values({ import_id: result.importId, source, file_name: fileName, content, held_by: actor, held_at: deps.now().toISOString() }).onConflict((oc) => oc.column('import_id').doNothing()).execute();
      }
      return outcome;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  const approvals = createApprovalsPort({ db, policy: async () => (await access.policy()).policy, timezone: config.timezone, now: deps.now, ...(deps.replan ? { replan: deps.replan } : {}) });

  // Pushes come in quick succession (a Bulk of 50 every few hundred milliseconds): their follow-ups run as one per source.
  const pushFollowUps = coalescedFollowUps(followUp, PUSH_FOLLOW_UP_WINDOW_MS);

  /** A push to a scim source, followed (when applied) as an import is: joiner approvals, replans — within a second, without the answer waiting. */
  async function push(input: PushInput): Promise<PushResult> {
    const result = await pushUsers({ db, config }, input);
    if (result.status === 'applied' && result.events.length + result.effective.length > 0 && deps.replan) pushFollowUps.add(result);
    return result;
  }

  return {
    inbound: { config, push, flush: () => pushFollowUps.flush() },
    ...(deps.replan ? { replan: tolerantReplan(deps.replan, (m) => process.stderr.write(`jml serve: ${m}\n`)) } : {}),
    policy: async () => (await access.policy()).policy,
    approvals,
    reviews: () => ({ db, planner: createPlanner({ db, config, actor: 'api', now: deps.now }), timeZone: config.timezone }),
    imports: {
      importSource: (r) => preferred(() => runImport(r.source, r.fileName, r.content, r.dryRun, r.actor, false)),
      async release(importId, actor) {
        // Claimed with one conditional UPDATE: two instances releasing the same hold run it once.
        const claimed = await db
          .updateTable('held_import_files')
          .set({ released_by: actor, released_at: deps.now().toISOString() })
          .where('import_id', '=', importId)
          .where('released_at', 'is', null)
          .returning(['source', 'file_name', 'content'])
          .executeTakeFirst();
        if (!claimed) throw new JmlError('not_found', `no held import ${importId} waiting for release (already released, or held by the CLI: release it there with --allow-mass-change)`);
        try {
          if (configuredSource(config, claimed.source).type === 'scim') return pushOutcome(await push(heldPushInput(claimed.source, claimed.content, actor, deps.now())));
          return await preferred(() => runImport(claimed.source, claimed.file_name, claimed.content, false, actor, true));
        } catch (error) {
          await db.updateTable('held_import_files').set({ released_by: null, released_at: null }).where('import_id', '=', importId).execute();
          throw error;
        }
      },
    },
    plans: {
      async preview(identityKeys, actor) {
        const scope: PlanScope = identityKeys.length > 0 ? { identityKeys } : {};
        const { plan } = await createPlanner({ db, config, actor, now: deps.now }).compute(scope);
        return previews.save(plan, scope, actor);
      },
      get: async (id) => (await previews.get(id)).view,
      list: (status, limit) => previews.list(status, limit),
      async approve(id, actor) {
        await previews.transition(id, 'awaiting_approval', 'approved', { approvedBy: actor, fourEyes: fourEyesOnPlans(config) });
        return (await previews.get(id)).view;
      },
      /**
       * Queues the plan on the durable executor and answers at once; this process works the
       * queue until nothing more can move (a `jml worker` elsewhere may share the work).
       * The preview follows the plan's record; progress is read with `progress`.
       */
      async apply(id, actor) {
        const { view, scope } = await previews.get(id);
        await previews.transition(id, 'approved', 'applying');
        const planner = createPlanner({ db, config, actor, now: deps.now });
        let connectors: Awaited<ReturnType<typeof openPolicyConnectors>> | null = null;
        try {
          const { policy } = await planner.loadPolicy();
          const systems = [...new Set(view.plan.changes.map((c) => c.system).filter((s): s is string => s !== null))];
          const open = await openPolicyConnectors({ db, policy, actor, timezone: config.timezone }, systems);
          connectors = open;
          const run = await startPlan(
            { store: { db, backend: deps.backend }, actor, connectorFor: (s) => open.connectorFor(s), tasksFor: (s) => open.tasksFor(s), leftToOthers: (s) => open.notOpened(s), policy: () => policy },
            view.plan,
            () => planner.currentFingerprint(scope),
          );
          void run.finished
            .then(async (report) => {
              if (report.status !== 'applying') await previews.transition(id, 'applying', report.status);
            })
            .catch((error: unknown) => process.stderr.write(`jml console: apply of plan ${id}: ${(error as Error).message}\n`))
            .finally(() => open.close());
        } catch (error) {
          await connectors?.close();
          // The refusal is what the caller needs to hear; a failed rollback is said where operators look.
          await previews.transition(id, 'applying', 'approved').catch((rollback: unknown) => {
            process.stderr.write(`jml console: plan ${id} could not be set back to approved after a failed apply: ${(rollback as Error).message}\n`);
          });
          throw error;
        }
        return (await previews.get(id)).view;
      },
      async progress(id) {
        await previews.get(id);
        return readPlanProgress(db, await loadPlan(db, id));
      },
    },
    observed: {
      async accessOf(identityKey) {
        return (await access.accessOf(identityKey)) ?? { entitlements: [], desired: [], accounts: [] };
      },
      pageOf: (identityKey) => access.pageOf(identityKey),
      quarantinedSystems: async () => (await listSystemHealth(db, true)).map((h) => ({ system: h.system, reason: h.lastError ?? 'repeated failures' })),
      openFindings: async (limit) => (await listFindings(db, { state: 'open' })).slice(0, limit).map((f) => ({ id: f.id, kind: f.kind, system: f.system, identityKey: f.identityKey, detail: f.detail })),
      assetsOf: async (identityKey) => (await db.selectFrom('assets').select(['tag', 'kind', 'description', 'status']).where('holder_key', '=', identityKey).execute()).map((a) => ({ ...a })),
      requestable: async () => (await access.policy()).policy.entitlements.filter((e) => !e.template).map((e) => ({ system: e.system, entitlement: e.name, privileged: e.privileged })),
    },
    systems: {
      async test(system, actor) {
        const { policy } = await access.policy();
        const started = performance.now();
        const report = await testPolicySystem({ db, policy, actor, timezone: config.timezone, now: deps.now }, system, { pageSize: 20 });
        return summariseConnectionTest(report, performance.now() - started);
      },
      release: async (system, actor) => ({ resumed: (await releaseSystem({ db, backend: deps.backend }, system, actor, deps.now())).resumed }),
    },
    exceptionReview: { warnDays: config.exceptions.warn_days, reviewEveryDays: config.exceptions.review_every_days },
    lostDevice: lostDeviceSettings(config),
    // Reveal only: passwords are issued where connectors run, so no system owner is needed here.
    initialPasswords: createInitialCredentials({ db, keyring: () => keyringFromEnv(), systemOwner: () => null, now: deps.now }),
    evidence: { build: (request) => buildEvidenceZip(db, config, request, deps.now()) },
  };
}
