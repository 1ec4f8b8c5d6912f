/**
 * Desired versus actual access of one identity for the identity page: the
 * engine's `explain` over the planner's own inputs (policy, the identity's
 * active assignments, the accounts the latest reconcile runs linked to it and
 * their grants), read for this one identity in one statement, so a page view
 * costs the same at any organisation size. The policy is loaded through the
 * policy directory's watch (which records new versions), checked at most
 * every few seconds and parsed only when its files changed, so a page view
 * does not parse YAML.
 */
import { sql, type Kysely } from 'kysely';
import { jsonArrayFrom, jsonObjectFrom } from 'kysely/helpers/postgres';
import { createPolicyWatch } from '../app/policy-watch.ts';
import { joinerHoldRequests } from '../app/plan-inputs.ts';
import type { JoinerHold } from '../domain/change.ts';
import type { JmlConfig } from '../app/config.ts';
import type { Account, Assignment, AssignmentReason, Grant } from '../domain/access.ts';
import { explain } from '../engine/index.ts';
import type { LoadedPolicy } from '../policy/index.ts';
import type { Database } from '../store/database.ts';
import { identityFromRow } from '../store/identity-store.ts';
import { preparedQuery, type ParamStandIns } from '../store/prepared-query.ts';
import type { AccessView, IdentityPageWithAccess } from './api-deps.ts';
import { IDENTITY_COLUMNS, identityPageSections, readIdentityPage } from './identity-page-queries.ts';

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

/**
 * The identity's active assignments, the accounts the latest completed run of
 * each system settled as its own with their grants, and the joiner request
 * holding its activation, if any: sections to select from `identities as i`
 * for the identity `key` (stand-ins for the parameters).
 */
function accessSections(db: Kysely<Database>, p: ParamStandIns<{ key: string; systems: readonly string[] }>) {
  const latestRuns = db
    .selectFrom('reconcile_runs')
    .select('id')
    .distinctOn('system')
    .where('status', '=', 'completed')
    .where('system', '=', sql<string>`any(${p.systems}::text[])`)
    .orderBy('system')
    .orderBy('finished_at', 'desc');
  return [
    jsonArrayFrom(db.selectFrom('assignments as a').select(['a.identity_key', 'a.system', 'a.entitlement', 'a.reason', 'a.valid_from', 'a.valid_to']).where('a.identity_key', '=', p.key).where('a.state', '=', 'active').orderBy('a.id')).as('activeAssignments'),
    jsonArrayFrom(
      db
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
        .where('o.identity_key', '=', p.key)
        .where('o.run_id', 'in', latestRuns)
        // Only settled links count as this identity's accounts (as in the planner).
        .where('o.situation', 'in', ['linked', 'unlinked']),
    ).as('accounts'),
    jsonObjectFrom(joinerHoldRequests(db).where('identity_key', '=', p.key).orderBy('created_at', 'desc').limit(1)).as('joinerHold'),
  ] as const;
}

/** One statement: the identity and its access sections. */
const accessInputs = preparedQuery('identity-access', (db: Kysely<Database>, p: ParamStandIns<{ key: string; systems: readonly string[] }>) =>
  db
    .selectFrom('identities as i')
    .select(IDENTITY_COLUMNS.map((c) => `i.${c}` as const))
    .select(accessSections(db, p))
    .where('i.key', '=', p.key),
);

/**
 * The identity page in one statement: its sections and its access sections.
 * As two statements, a view cost a second round trip and a second wait for a
 * pooled connection: 0.3 ms more of this process's CPU per view at 300 views a
 * second on PostgreSQL.
 */
const pageInputs = preparedQuery('identity-page-access', (db: Kysely<Database>, p: ParamStandIns<{ key: string; systems: readonly string[] }>) =>
  db
    .selectFrom('identities as i')
    .select(IDENTITY_COLUMNS.map((c) => `i.${c}` as const))
    .select(identityPageSections(db, p.key))
    .select(accessSections(db, p))
    .where('i.key', '=', p.key),
);

/** The identity's columns and its access sections, as either statement reads them. */
type AccessRow = Awaited<ReturnType<typeof accessInputs.execute>>[number];

/** Creates the reader; `accessOf(key)` and `pageOf(key)` are null when no such identity exists. */
export function createIdentityAccess(deps: IdentityAccessDeps): {
  accessOf(identityKey: string): Promise<AccessView | null>;
  pageOf(identityKey: string): Promise<IdentityPageWithAccess | null>;
  policy(): Promise<LoadedPolicy>;
} {
  const { db, now } = deps;
  // The directory's digest is checked at most every few seconds; the files are parsed (and the engine's
  // compiled form rebuilt) only when they changed, so a page view never pays for a policy load.
  const watch = createPolicyWatch({
    dir: deps.config.policy_dir,
    db,
    actor: 'console',
    now,
    onInvalid: (error) => process.stderr.write(`jml: the policy in ${deps.config.policy_dir} does not load; identity pages explain access with the last good policy.\n${error.message}\n`),
  });
  const policy = cachedPolicy(async () => (await watch.check()).loaded, now);

  /** The open stage of the joiner approval holding this identity (the planner's own rule), and on whom it waits. */
  async function joinerHoldOf(hold: { readonly id: string; readonly state: string } | null): Promise<AccessView['joinerHold']> {
    if (!hold) return null;
    const open = await db.selectFrom('approval_steps').select(['stage_name', 'approvers']).where('request_id', '=', hold.id).where('state', '=', 'open').executeTakeFirst();
    return { requestId: hold.id, state: hold.state as JoinerHold['state'], stage: open?.stage_name ?? null, approvers: open ? [...open.approvers] : [] };
  }

  async function explainRow(row: AccessRow, loaded: LoadedPolicy): Promise<AccessView> {
    const { activeAssignments, accounts: accountRows, joinerHold } = row;
    const hold = await joinerHoldOf(joinerHold);
    const assignments: Assignment[] = activeAssignments.map((r) => ({
      identityKey: r.identity_key,
      system: r.system,
      entitlement: r.entitlement,
      reason: r.reason as unknown as AssignmentReason,
      validFrom: r.valid_from === null ? null : new Date(r.valid_from).toISOString(),
      validTo: r.valid_to === null ? null : new Date(r.valid_to).toISOString(),
    }));
    const accounts = accountRows.map((r) => ({ system: r.system, accountId: r.account_id, name: r.name, enabled: r.enabled, attributes: r.attributes as Account['attributes'], situation: r.situation, ...(r.last_login_at !== null ? { lastLoginAt: r.last_login_at } : {}) }));
    const grants: Grant[] = accountRows.flatMap((r) => r.grants.map((g) => ({ system: r.system, accountId: r.account_id, entitlement: g.entitlement })));
    const explanation = explain(identityFromRow(row), loaded.policy, assignments, { accounts, grants }, now().toISOString(), { timeZone: deps.config.timezone });
    return {
      entitlements: explanation.entitlements.map((e) => ({ system: e.system, entitlement: e.entitlement, state: e.state, because: [...e.because], accountIds: [...e.accountIds], enforcement: e.enforcement })),
      desired: explanation.entitlements.filter((e) => e.state !== 'not_desired').map((e) => ({ system: e.system, entitlement: e.entitlement, reasons: [...e.because] })),
      accounts: accounts.map((a) => ({ system: a.system, accountId: a.accountId, name: a.name, enabled: a.enabled, situation: a.situation, lastLoginAt: a.lastLoginAt ?? null, grants: grants.filter((g) => g.system === a.system && g.accountId === a.accountId).map((g) => g.entitlement) })),
      joinerHold: hold,
    };
  }

  return {
    policy,
    async accessOf(identityKey) {
      const loaded = await policy();
      const [row] = await accessInputs.execute(db, { key: identityKey, systems: loaded.policy.systems.map((sys) => sys.name) });
      return row ? explainRow(row, loaded) : null;
    },
    async pageOf(identityKey) {
      let loaded: LoadedPolicy;
      try {
        loaded = await policy();
      } catch (failure) {
        // Without a policy the page is read alone: a missing or hidden identity is still refused (and
        // the refusal audited) as a missing one; only a visible identity's access fails, as it did before.
        const page = await readIdentityPage(db, identityKey);
        return page ? { page, access: () => Promise.reject(failure) } : null;
      }
      const [row] = await pageInputs.execute(db, { key: identityKey, systems: loaded.policy.systems.map((sys) => sys.name) });
      return row ? { page: row, access: () => explainRow(row, loaded) } : null;
    },
  };
}
