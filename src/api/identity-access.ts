/**
 * Desired versus actual access of one identity for the identity page: the
 * engine's `explain` over the planner's own inputs (policy, the identity's
 * active assignments, the accounts the latest reconcile runs linked to it and
 * their grants), read for this one identity only so a page view stays a few
 * indexed queries at any organisation size. The policy is loaded through the
 * planner (which records new versions) and kept for a few seconds, so a page
 * view does not parse YAML.
 */
import type { Kysely } from 'kysely';
import { createPlanner } from '../app/compute-plan.ts';
import type { JmlConfig } from '../app/config.ts';
import { latestRuns } from '../app/observed-snapshot.ts';
import { loadAssignments } from '../app/plan-inputs.ts';
import type { Account, Grant } from '../domain/access.ts';
import { explain } from '../engine/index.ts';
import type { LoadedPolicy } from '../policy/index.ts';
import type { Database } from '../store/database.ts';
import { identityFromRow } from '../store/identity-store.ts';
import type { AccessView } from './api-deps.ts';

/** How long a loaded policy is reused; a policy edit shows on the identity page within this. */
export const POLICY_TTL_MS = 5_000;

export interface IdentityAccessDeps {
  readonly db: Kysely<Database>;
  readonly config: Pick<JmlConfig, 'policy_dir' | 'timezone'>;
  readonly now: () => Date;
}

/** A policy loader that reuses the last load for `ttlMs` and shares one load between concurrent callers. */
export function cachedPolicy(load: () => Promise<LoadedPolicy>, now: () => Date, ttlMs = POLICY_TTL_MS): () => Promise<LoadedPolicy> {
  let cached: { at: number; value: Promise<LoadedPolicy> } | null = null;
  return () => {
    const at = now().getTime();
    if (!cached || at - cached.at > ttlMs) {
      const value = load();
      cached = { at, value };
      value.catch(() => {
        if (cached?.value === value) cached = null;
      });
    }
    return cached.value;
  };
}

/** Creates the reader; `accessOf(key)` is null when no such identity exists. */
export function createIdentityAccess(deps: IdentityAccessDeps): { accessOf(identityKey: string): Promise<AccessView | null>; policy(): Promise<LoadedPolicy> } {
  const { db, now } = deps;
  const policy = cachedPolicy(() => createPlanner({ db, config: deps.config, actor: 'console', now }).loadPolicy(), now);

  async function observedOf(identityKey: string, systems: readonly string[]): Promise<{ accounts: (Account & { situation: string | null })[]; grants: Grant[] }> {
    const runs = await latestRuns(db, systems);
    if (runs.size === 0) return { accounts: [], grants: [] };
    const runIds = [...runs.values()].map((r) => r.runId);
    // Only settled links count as this identity's accounts (as in the planner).
    const rows = await db
      .selectFrom('observed_accounts')
      .select(['run_id', 'system', 'account_id', 'name', 'enabled', 'attributes', 'last_login_at', 'situation'])
      .where('identity_key', '=', identityKey)
      .where('run_id', 'in', runIds)
      .where('situation', 'in', ['linked', 'unlinked'])
      .execute();
    if (rows.length === 0) return { accounts: [], grants: [] };
    const grantRows = await db
      .selectFrom('observed_grants')
      .select(['system', 'account_id', 'entitlement'])
      .where((eb) => eb.or(rows.map((r) => eb.and([eb('run_id', '=', r.run_id), eb('account_id', '=', r.account_id)]))))
      .execute();
    return {
      accounts: rows.map((r) => ({ system: r.system, accountId: r.account_id, name: r.name, enabled: r.enabled, attributes: r.attributes, situation: r.situation, ...(r.last_login_at !== null ? { lastLoginAt: r.last_login_at } : {}) })),
      grants: grantRows.map((g) => ({ system: g.system, accountId: g.account_id, entitlement: g.entitlement })),
    };
  }

  return {
    policy,
    async accessOf(identityKey) {
      const [row, loaded, assignments] = await Promise.all([
        db.selectFrom('identities').selectAll().where('key', '=', identityKey).executeTakeFirst(),
        policy(),
        loadAssignments(db, identityKey),
      ]);
      if (!row) return null;
      const { accounts, grants } = await observedOf(identityKey, loaded.policy.systems.map((s) => s.name));
      const at = now().toISOString();
      const explanation = explain(identityFromRow(row), loaded.policy, assignments, { accounts, grants }, at, { timeZone: deps.config.timezone });
      return {
        entitlements: explanation.entitlements.map((e) => ({ system: e.system, entitlement: e.entitlement, state: e.state, because: [...e.because], accountIds: [...e.accountIds], enforcement: e.enforcement })),
        desired: explanation.entitlements.filter((e) => e.state !== 'not_desired').map((e) => ({ system: e.system, entitlement: e.entitlement, reasons: [...e.because] })),
        accounts: accounts.map((a) => ({ system: a.system, accountId: a.accountId, name: a.name, enabled: a.enabled, situation: a.situation, lastLoginAt: a.lastLoginAt ?? null, grants: grants.filter((g) => g.system === a.system && g.accountId === a.accountId).map((g) => g.entitlement) })),
      };
    },
  };
}
