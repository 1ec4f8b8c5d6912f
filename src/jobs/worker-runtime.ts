/**
 * Wires the workers of a process from configuration: the policy's systems and
 * their connectors, and the hooks the schedules call (due lifecycle events,
 * leaver cancellations, joiner approvals, re-planning, reconcile). `jml worker`
 * runs it alone; `jml serve` can run it beside the API.
 */
import type { JmlConfig } from '../app/config.ts';
import { createPlanner } from '../app/compute-plan.ts';
import { openPolicyConnectors } from '../app/connectors-from-policy.ts';
import { applyDueEvents } from '../app/lifecycle-clock.ts';
import { reconcileSystem } from '../app/reconcile.ts';
import { cancelForLeavers } from '../app/approval.ts';
import { requestJoinerApprovals } from '../app/joiner-approval.ts';
import type { Store } from '../store/open-store.ts';
import type { AlertSink } from '../app/alert.ts';
import type { Keyring } from '../connectors/secrets/index.ts';
import { submitPlan } from './change-job.ts';
import { startWorkers, type WorkerOptions, type Workers } from './workers.ts';

export interface WorkerRuntimeDeps {
  readonly store: Store;
  readonly config: Pick<JmlConfig, 'policy_dir' | 'timezone'>;
  readonly actor: string;
  readonly options?: WorkerOptions;
  readonly alert?: AlertSink;
  readonly now?: () => Date;
  /** The master keyring for connector secrets; read from the environment by default. */
  readonly keyring?: () => Keyring;
}

/**
 * Starts this process's workers for the configured policy.
 * @example
 * const workers = await startWorkerRuntime({ store, config, actor: 'worker' });
 */
export async function startWorkerRuntime(deps: WorkerRuntimeDeps): Promise<Workers> {
  const now = deps.now ?? (() => new Date());
  const planner = createPlanner({ db: deps.store.db, config: deps.config, actor: deps.actor, now });
  const { policy } = await planner.loadPolicy();
  const connectors = await openPolicyConnectors({ db: deps.store.db, policy, now, actor: deps.actor, ...(deps.keyring ? { keyring: deps.keyring } : {}) });
  const requestDeps = { db: deps.store.db, policy, timezone: deps.config.timezone, now };
  const replan = async (identityKeys: readonly string[] | undefined) => {
    // The planner holds joiners awaiting approval, as it does for `jml plan` and the API.
    const { plan } = await planner.compute(identityKeys ? { identityKeys } : {});
    if (plan.changes.length === 0) return;
    await submitPlan({ db: deps.store.db, boss: workers.boss, actor: deps.actor, now }, plan);
  };
  const workers = await startWorkers({
    store: deps.store,
    connectorFor: (system) => (system === null ? undefined : connectors.get(system)),
    tasksFor: (system) => connectors.tasksFor(system),
    actor: deps.actor,
    now,
    ...(deps.alert ? { alert: deps.alert } : {}),
    options: { ...deps.options, scheduleSettings: { timezone: deps.config.timezone, ...deps.options?.scheduleSettings } },
    hooks: {
      applyDueEvents: async (at) => {
        const { identities } = await applyDueEvents({ db: deps.store.db, actor: 'scheduler' }, at);
        await cancelForLeavers(deps.store.db, at);
        const joiners = await requestJoinerApprovals(requestDeps);
        return [...new Set([...identities.map((o) => o.key), ...joiners])];
      },
      replan: (keys) => replan(keys),
      reconcile: (system) => reconcileSystem({ db: deps.store.db, policy, connectorFor: (s) => connectors.get(s), actor: 'scheduler', timeZone: deps.config.timezone, now }, system),
      systems: () => policy.systems.map((s) => s.name),
    },
  });
  return {
    ...workers,
    stop: async (timeoutMs) => {
      await workers.stop(timeoutMs);
      await connectors.close();
    },
  };
}
