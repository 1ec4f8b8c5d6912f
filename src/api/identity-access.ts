/**
 * Desired versus actual access of one identity for the identity page: the
 * engine's `explain` over the planner's own inputs (policy, the identity's
 * active assignments, the accounts the latest reconcile runs linked to it and
 * their grants), read for this one identity in one statement, so a page view
 * costs the same at any organisation size. The policy is loaded through the
 * planner (which records new versions) and kept for a few seconds, so a page
 * view does not parse YAML.
 */
import type { Kysely, Selectable } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { createPlanner } from '../app/compute-plan.ts';
import { loadJoinerHolds } from '../app/plan-inputs.ts';
import type { JmlConfig } from '../app/config.ts';
import type { Account, Assignment, AssignmentReason, Grant } from '../domain/access.ts';
import { explain } from '../engine/index.ts';
import type { LoadedPolicy } from '../policy/index.ts';
import type { Database, IdentitiesTable } from '../store/database.ts';
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

  /**
   * One statement: the identity, its active assignments, and the accounts the
   * latest completed run of each system settled as its own, with their grants.
   */
  function load(identityKey: string, systems: readonly string[]) {
    const latestRuns = db
      .selectFrom('reconcile_runs')
      .select('id')
      .distinctOn('system')
      .where('status', '=', 'completed')
      .where('system', 'in', systems.length > 0 ? [...systems] : [''])
      .orderBy('system')
      .orderBy('finished_at', 'desc');
    return db
      .selectFrom('identities as i')
      .selectAll('i')
      .select((eb) => [
        jsonArrayFrom(eb.selectFrom('assignments as a').select(['a.identity_key', 'a.system', 'a.entitlement', 'a.reason', 'a.valid_from', 'a.valid_to']).whereRef('a.identity_key', '=', 'i.key').where('a.state', '=', 'active').orderBy('a.id')).as('assignments'),
        jsonArrayFrom(
          eb
            .selectFrom('observed_accounts as o')
            .select((ob) => [
              'o.system',
              'o.account_id',
              'o.name',
              'o.enabled',
              'o.attributes',
              'o.last_login_at',
              'o.situation',
              jsonArrayFrom(ob.selectFrom('observed_grants as g').select('g.entitlement').whereRef('g.run_id', '=', 'o.run_id').whereRef('g.account_id', '=', 'o.account_id')).as('grants'),
            ])
            .whereRef('o.identity_key', '=', 'i.key')
            .where('o.run_id', 'in', latestRuns)
            // Only settled links count as this identity's accounts (as in the planner).
            .where('o.situation', 'in', ['linked', 'unlinked']),
        ).as('accounts'),
      ])
      .where('i.key', '=', identityKey)
      .executeTakeFirst();
  }

  /** The hold the planner applies to this identity (the planner's own rule), with the stage that waits and on whom. */
  async function joinerHoldOf(identityKey: string): Promise<AccessView['joinerHold']> {
    const [hold] = await loadJoinerHolds(db, identityKey);
    if (!hold) return null;
    const open = await db.selectFrom('approval_steps').select(['stage_name', 'approvers']).where('request_id', '=', hold.requestId).where('state', '=', 'open').executeTakeFirst();
    return { requestId: hold.requestId, state: hold.state, stage: open?.stage_name ?? null, approvers: open ? [...open.approvers] : [] };
  }

  return {
    policy,
    async accessOf(identityKey) {
      const loaded = await policy();
      const [row, hold] = await Promise.all([load(identityKey, loaded.policy.systems.map((sys) => sys.name)), joinerHoldOf(identityKey)]);
      if (!row) return null;
      const { assignments: assignmentRows, accounts: accountRows, ...identityRow } = row;
      const assignments: Assignment[] = assignmentRows.map((r) => ({
        identityKey: r.identity_key,
        system: r.system,
        entitlement: r.entitlement,
        reason: r.reason as unknown as AssignmentReason,
        validFrom: r.valid_from === null ? null : new Date(r.valid_from).toISOString(),
        validTo: r.valid_to === null ? null : new Date(r.valid_to).toISOString(),
      }));
      const accounts = accountRows.map((r) => ({ system: r.system, accountId: r.account_id, name: r.name, enabled: r.enabled, attributes: r.attributes as Account['attributes'], situation: r.situation, ...(r.last_login_at !== null ? { lastLoginAt: r.last_login_at } : {}) }));
      const grants: Grant[] = accountRows.flatMap((r) => r.grants.map((g) => ({ system: r.system, accountId: r.account_id, entitlement: g.entitlement })));
      const explanation = explain(identityFromRow(identityRow as Selectable<IdentitiesTable>), loaded.policy, assignments, { accounts, grants }, now().toISOString(), { timeZone: deps.config.timezone });
      return {
        entitlements: explanation.entitlements.map((e) => ({ system: e.system, entitlement: e.entitlement, state: e.state, because: [...e.because], accountIds: [...e.accountIds], enforcement: e.enforcement })),
        desired: explanation.entitlements.filter((e) => e.state !== 'not_desired').map((e) => ({ system: e.system, entitlement: e.entitlement, reasons: [...e.because] })),
        accounts: accounts.map((a) => ({ system: a.system, accountId: a.accountId, name: a.name, enabled: a.enabled, situation: a.situation, lastLoginAt: a.lastLoginAt ?? null, grants: grants.filter((g) => g.system === a.system && g.accountId === a.accountId).map((g) => g.entitlement) })),
        joinerHold: hold,
      };
    },
  };
}
