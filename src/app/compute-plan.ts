/**
 * compute-plan: loads the engine's inputs from the store (identities, policy,
 * assignments, the latest reconcile snapshot of each system, what jml created
 * or granted before, credentials, assets, joiners awaiting approval, open orphan findings) and
 * computes the plan. The same loading gives apply its `currentFingerprint`,
 * so a plan whose inputs moved (an approval decided since) is refused as stale.
 */
import type { Kysely } from 'kysely';
import type { Plan } from '../domain/change.ts';
import type { Policy } from '../domain/policy.ts';
import { plan as enginePlan, plannedAccountFields, type PlanInput } from '../engine/index.ts';
import { loadPolicy, type LoadedPolicy } from '../policy/index.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Database } from '../store/database.ts';
import type { JmlConfig } from './config.ts';
import { loadObserved, type SnapshotRun } from './observed-snapshot.ts';
import { loadAssignments, loadCredentials, loadHeldAssets, loadIdentities, loadCreatedGroups, loadJoinerHolds, loadLostAssets, loadOrphanFindings, loadPreviouslyAssigned } from './plan-inputs.ts';
import { loadScopedIdentities, loadScopedObserved } from './scoped-plan-inputs.ts';

export interface PlannerDeps {
  readonly db: Kysely<Database>;
  readonly config: Pick<JmlConfig, 'policy_dir' | 'timezone'>;
  /** Recorded as who loaded a new policy version. */
  readonly actor: string;
  readonly now?: () => Date;
  /**
   * Where the policy comes from; by default `config.policy_dir`, read on every
   * call and recorded. A long-running process passes its policy watch
   * (src/app/policy-watch.ts), which records the versions it loads.
   */
  readonly policySource?: () => Promise<LoadedPolicy>;
}

/** Restricts a plan to identities and/or systems (`jml plan --identity/--system`). */
export interface PlanScope {
  readonly identityKeys?: readonly string[];
  readonly systems?: readonly string[];
}

export interface ComputedPlan {
  readonly plan: Plan;
  readonly input: PlanInput;
  readonly policy: LoadedPolicy;
  /** The reconcile run each system's observed state comes from; systems never reconciled are absent. */
  readonly runs: ReadonlyMap<string, SnapshotRun>;
}

export interface Planner {
  /** The policy directory, loaded and validated; a hash never seen before is recorded and audited (`policy.loaded`). */
  loadPolicy(): Promise<LoadedPolicy>;
  loadInput(scope?: PlanScope): Promise<Omit<ComputedPlan, 'plan'>>;
  compute(scope?: PlanScope): Promise<ComputedPlan>;
  /** The fingerprint a plan of this scope computed now would carry: apply's stale check. */
  currentFingerprint(scope?: PlanScope): Promise<string>;
}

/**
 * Creates the planner over the store and the configured policy directory.
 * @example
 * const planner = createPlanner({ db: store.db, config, actor: 'cli:alice' });
 * const { plan } = await planner.compute({ systems: ['directory'] });
 */
export function createPlanner(deps: PlannerDeps): Planner {
  const now = deps.now ?? (() => new Date());

  async function policy(): Promise<LoadedPolicy> {
    // A policy source records the versions it loads itself.
    if (deps.policySource) return deps.policySource();
    const loaded = await loadPolicy(deps.config.policy_dir);
    await recordPolicyVersion(deps.db, loaded, deps.actor, now());
    return loaded;
  }

  async function loadInput(scope: PlanScope = {}): Promise<Omit<ComputedPlan, 'plan'>> {
    const loaded = await policy();
    const at = now();
    const keys = scope.identityKeys && scope.identityKeys.length > 0 ? scope.identityKeys : null;
    const loads = keys ? await loadForIdentities(loaded.policy, keys) : await loadForEveryone(loaded.policy);
    const { identities, assignments, observed, links, runs, previouslyAssigned, credentials, assets, joinerHolds, orphanFindings, createdGroups, lostAssets } = loads;
    const input: PlanInput = {
      identities,
      policy: loaded.policy,
      assignments,
      observed,
      links,
      previouslyAssigned,
      ...(createdGroups.length > 0 ? { createdGroups } : {}),
      credentials,
      assets,
      ...(lostAssets.length > 0 ? { lostAssets } : {}),
      // Joiners awaiting approval: held here, in the one input every path (CLI, API, workers) plans from.
      ...(joinerHolds.length > 0 ? { joinerHolds } : {}),
      ...(orphanFindings.length > 0 ? { orphanFindings } : {}),
      now: at.toISOString(),
      timeZone: deps.config.timezone,
      ...(scopeOf(scope) ? { scope: scopeOf(scope)! } : {}),
    };
    return { input, policy: loaded, runs };
  }

  /** Every identity and account: a full plan (or one scoped to systems only). */
  async function loadForEveryone(policy: Policy) {
    const [identities, assignments, { observed, runs }, previouslyAssigned, credentials, assets, joinerHolds, orphanFindings, createdGroups, lostAssets] = await Promise.all([
      loadIdentities(deps.db),
      loadAssignments(deps.db),
      // Only the account attributes the plan reads: others are neither sent nor parsed.
      loadObserved(deps.db, policy.systems.map((s) => s.name), { attributesRead: new Map(policy.systems.map((s) => [s.name, plannedAccountFields(s)])) }),
      loadPreviouslyAssigned(deps.db),
      loadCredentials(deps.db),
      loadHeldAssets(deps.db),
      loadJoinerHolds(deps.db),
      loadOrphanFindings(deps.db),
      // Only templates that remove empty groups read which groups jml created.
      policy.entitlements.some((e) => e.template?.removeEmpty) ? loadCreatedGroups(deps.db) : [],
      loadLostAssets(deps.db),
    ]);
    // The links reconciliation settled travel with each system's accounts (ObservedSystem.linkedKeys).
    return { identities, assignments, observed, links: [], runs, previouslyAssigned, credentials, assets, joinerHolds, orphanFindings, createdGroups, lostAssets };
  }

  /**
   * Only what these identities' changes read (src/app/scoped-plan-inputs.ts): a replan
   * for a few leavers reads a few identities, not the organisation. No orphan findings
   * or created groups: a plan scoped to identities neither disables orphans nor deletes groups.
   */
  async function loadForIdentities(policy: Policy, keys: readonly string[]) {
    const { identities, related } = await loadScopedIdentities(deps.db, policy, keys);
    const near = [...related];
    const heldGroups = policy.entitlements.some((e) => e.template?.createMissing);
    const [assignments, { observed, links, runs }, previouslyAssigned, credentials, assets, joinerHolds, lostAssets] = await Promise.all([
      loadAssignments(deps.db, near),
      loadScopedObserved(deps.db, policy, identities, related, heldGroups),
      loadPreviouslyAssigned(deps.db, near),
      loadCredentials(deps.db, near),
      loadHeldAssets(deps.db, near),
      loadJoinerHolds(deps.db, near),
      loadLostAssets(deps.db, near),
    ]);
    return { identities, assignments, observed, links, runs, previouslyAssigned, credentials, assets, joinerHolds, orphanFindings: [], createdGroups: [], lostAssets };
  }

  return {
    loadPolicy: policy,
    loadInput,
    async compute(scope) {
      const loaded = await loadInput(scope);
      return { ...loaded, plan: enginePlan(loaded.input) };
    },
    async currentFingerprint(scope) {
      const loaded = await loadInput(scope);
      return enginePlan(loaded.input).fingerprint;
    },
  };
}

function scopeOf(scope: PlanScope): PlanInput['scope'] | null {
  const out: { identityKeys?: readonly string[]; systems?: readonly string[] } = {};
  if (scope.identityKeys && scope.identityKeys.length > 0) out.identityKeys = [...scope.identityKeys].sort();
  if (scope.systems && scope.systems.length > 0) out.systems = [...scope.systems].sort();
  return out.identityKeys || out.systems ? out : null;
}

/**
 * Records a policy version the first time its hash is seen, with an audit
 * entry in the same transaction. True when it was new.
 */
export async function recordPolicyVersion(db: Kysely<Database>, loaded: LoadedPolicy, actor: string, at: Date): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('policy_versions')
      .values({ hash: loaded.hash, files: JSON.stringify(loaded.files), loaded_at: at.toISOString(), loaded_by: actor })
      .onConflict((oc) => oc.column('hash').doNothing())
      .returning('hash')
      .executeTakeFirst();
    if (!inserted) return false;
    await appendAudit(trx, { actor, action: 'policy.loaded', subject: 'policy', trigger: 'policy_load', details: { hash: loaded.hash, files: loaded.files, ...policyCounts(loaded.policy) } }, at);
    return true;
  });
}

function policyCounts(policy: Policy): Record<string, number> {
  return { systems: policy.systems.length, entitlements: policy.entitlements.length, roles: policy.roles.length, rules: policy.rules.length };
}
