/**
 * plan(): desired state versus observed state, as a readonly Plan of Changes.
 * Pure and deterministic: the same input gives the same plan, the same change
 * ids (idempotency keys) and the same fingerprint.
 */
import type { Account, Assignment, EntitlementRef } from '../domain/access.ts';
import type { Change, HeldJoiner, JoinerHold, Plan, SodHeldChange } from '../domain/change.ts';
import type { Credential, Identity } from '../domain/identity.ts';
import type { Policy } from '../domain/policy.ts';
import { kitChanges } from './profile-kit.ts';
import { lostDeviceChanges, type LostAsset } from './lost-device-changes.ts';
import { canonicalJson } from '../domain/canonical-json.ts';
import { stableId, streamingHash } from './canonical-hash.ts';
import { compilePolicy } from './compiled-policy.ts';
import { dateIn } from './org-calendar.ts';
import { desiredIndexer } from './desired.ts';
import { trackGroups } from './group-changes.ts';
import { identityChanges, type HeldAsset } from './identity-changes.ts';
import { holdActivation } from './joiner-hold.ts';
import { holdSodConflicts } from './sod-hold.ts';
import { orphanChanges, type OrphanFinding } from './orphan-changes.ts';
import { grantsIn, indexObserved, plannedAccountFields, type AccountLink, type LinkedAccounts, type ObservedSystem } from './observed-index.ts';
import { cmp, groupBy } from './collections.ts';

/** A grant or an account (entitlement null) that jml itself assigned or created earlier. */
export interface JmlAssigned {
  readonly identityKey: string;
  readonly system: string;
  readonly entitlement: string | null;
}

export interface PlanInput {
  /** Identities as they stand at `now` (the fold of their timelines). */
  readonly identities: readonly Identity[];
  readonly policy: Policy;
  /** Requests and exceptions. Rule assignments are recomputed from policy and ignored here. */
  readonly assignments: readonly Assignment[];
  /** What each system's connector read. */
  readonly observed: readonly ObservedSystem[];
  /** Accounts reconciliation already linked to identities; the rest correlate by each system's rule. */
  readonly links?: readonly AccountLink[];
  /** What jml assigned before: `relative` enforcement removes only these. */
  readonly previouslyAssigned: readonly JmlAssigned[];
  /** Groups jml created (create_group) and has not deleted since: the only groups `remove_empty` may delete. */
  readonly createdGroups?: readonly EntitlementRef[];
  readonly credentials: readonly Credential[];
  /** Assets in identities' custody; leavers get a collect_asset change for each. */
  readonly assets?: readonly HeldAsset[];
  /** Open lost or stolen reports: the holder's sessions and device-bound credentials are revoked. */
  readonly lostAssets?: readonly LostAsset[];
  /** ISO instant. */
  readonly now: string;
  /** IANA time zone of the organisation (effective dates, retention, date conditions). Default UTC. */
  readonly timeZone?: string;
  /**
   * Joiners whose activation waits for approval: the plan holds their
   * activating changes and reports them in `held` (src/engine/joiner-hold.ts).
   */
  readonly joinerHolds?: readonly JoinerHold[];
  /**
   * Open orphan findings with when each was first seen: under `full` enforcement an orphan
   * still enabled after its system's grace period is disabled (src/engine/orphan-changes.ts).
   */
  readonly orphanFindings?: readonly OrphanFinding[];
  /** Restricts planning to these identities and/or systems (`jml plan --identity/--system`). */
  readonly scope?: { readonly identityKeys?: readonly string[]; readonly systems?: readonly string[] };
}


/**
 * Computes the plan. Changes are ordered by identity key, then as each identity's
 * flow emits them; `dependsOn` encodes create-before-grant and the leaver order.
 *
 * The fingerprint hashes every input except `now` (of accounts, what the plan
 * reads: ids, name, state, correlation and templated attributes), plus the ids of the changes
 * (which capture what `now` decided: lapsed assignments, passed retention). So a
 * plan recomputed later from unchanged inputs keeps its fingerprint unless time
 * itself changed the outcome (an orphan's grace period ending is such a change: the
 * orphan findings themselves are not hashed, the disable they lead to is) — the test apply uses to refuse a stale plan.
 * @example const p = plan({ identities, policy, assignments: [], observed, previouslyAssigned: [], credentials: [], now });
 */
export function plan(input: PlanInput): Plan {
  const compiled = compilePolicy(input.policy);
  const nowMs = Date.parse(input.now);
  const today = dateIn(input.now, input.timeZone ?? 'UTC');
  const scopeKeys = input.scope?.identityKeys ? new Set(input.scope.identityKeys) : null;
  const scopeSystems = input.scope?.systems ? new Set(input.scope.systems) : null;

  // Filled by a loop: half a million [key, identity] pairs would each be an array to collect.
  const identityByKey = new Map<string, Identity>();
  for (const identity of input.identities) identityByKey.set(identity.key, identity);
  const fieldsBySystem = new Map([...compiled.systems].map(([name, system]) => [name, plannedAccountFields(system.def)]));
  const readFields = (system: string) => fieldsBySystem.get(system) ?? ['externalId'];
  // Systems in code-unit order, as numbers: the fingerprint reads each identity's accounts in this order.
  const systemRank = new Map([...new Set([...compiled.systems.keys(), ...input.observed.map((o) => o.system)])].sort(cmp).map((name, i) => [name, i]));
  const observed = indexObserved(input.observed, input.identities, input.links ?? [], compiled);
  const assignments = groupBy(input.assignments, (a) => a.identityKey);
  const credentials = groupBy(input.credentials, (c) => c.identityKey);
  const assets = groupBy(input.assets ?? [], (a) => a.holderKey);
  const lostByHolder = groupBy(input.lostAssets ?? [], (a) => a.holderKey);
  const holds = new Map((input.joinerHolds ?? []).map((h) => [h.identityKey, h]));
  const heldJoiners: HeldJoiner[] = [];
  const sodHeld: SodHeldChange[] = [];
  const sodRules = (input.policy.sod ?? []).length > 0;
  const previously = new Map<string, Set<string>>();
  for (const p of input.previouslyAssigned) {
    let set = previously.get(p.identityKey);
    if (!set) previously.set(p.identityKey, (set = new Set()));
    set.add(`${p.system}\u0000${p.entitlement ?? ''}`);
  }
  const owned = new Map<string, Identity[]>();
  for (const identity of input.identities) {
    if (identity.status === 'left') continue;
    for (const holder of new Set([identity.owner, identity.sponsor])) {
      if (holder === null) continue;
      const list = owned.get(holder);
      if (list) list.push(identity);
      else owned.set(holder, [identity]);
    }
  }

  const NONE: never[] = [];
  const NOTHING_ASSIGNED: ReadonlySet<string> = new Set();
  const NO_ACCOUNTS: LinkedAccounts = { accounts: [], grants: [] };
  const hash = streamingHash();
  hash.update(canonicalJson({ policy: input.policy, timeZone: input.timeZone ?? 'UTC', scope: input.scope ?? null }));
  let changes: Change[] = [];
  const groups = trackGroups(compiled, input.observed, input.createdGroups ?? []);
  // Without entitlement templates there are no group changes: skip the bookkeeping on large plans.
  const templated = compiled.templates.size > 0;
  const desiredOf = desiredIndexer(compiled, nowMs, today);
  // The same for every identity: made once, not per identity.
  const accountsOf = (k: string) => observed.linked.get(k)?.accounts ?? NONE;
  const credentialsOf = (k: string) => credentials.get(k) ?? NONE;
  const inScope = (change: Change) => !scopeSystems || change.system === null || scopeSystems.has(change.system);
  const keys = [...identityByKey.keys()].sort(cmp);
  for (const key of keys) {
    const identity = identityByKey.get(key)!;
    const linked = observed.linked.get(key) ?? NO_ACCOUNTS;
    const accounts = linked.accounts;
    const own = assignments.get(key) ?? NONE;
    const creds = credentials.get(key) ?? NONE;
    const prev = previously.get(key);
    const held = assets.get(key) ?? NONE;
    hashIdentity(hash, identity, linked, readFields, systemRank, own, creds, prev, held);
    // Hashed apart so plans without lost reports keep their fingerprints.
    if (lostByHolder.has(key)) hash.update(`l\u001f${lostByHolder.get(key)!.map((l) => canonicalJson(l)).sort().join('\u001e')}\n`);
    const hold = holds.get(key);
    // Hashed apart so plans without holds keep their fingerprints; an approval or denial makes a plan stale.
    if (hold) hash.update(`h\u001f${key}\u001f${hold.requestId}\u001f${hold.state}\n`);
    if (scopeKeys && !scopeKeys.has(key)) continue;
    const desired = desiredOf(identity, own);
    if (templated) for (const [system, entries] of desired) for (const entitlement of entries.keys()) groups.desiredBy(system, entitlement);
    let identityPlan = identityChanges({
      compiled,
      identity,
      desired,
      accounts,
      grantsOf: (account) => grantsIn(linked, account),
      previouslyAssigned: prev ?? NOTHING_ASSIGNED,
      credentials: creds,
      assets: held,
      owned: (owned.get(key) ?? NONE).sort((a, b) => cmp(a.key, b.key)),
      identityByKey,
      accountsOf,
      credentialsOf,
      today,
    });
    if (input.policy.profiles) {
      // An upcoming leaver's returns are already planned (same ids as kit returns): keep those.
      const planned = new Set(identityPlan.map((c) => c.id));
      identityPlan = [...identityPlan, ...kitChanges({ identity, profiles: input.policy.profiles, assets: held, today }).filter((c) => !planned.has(c.id))];
    }
    const lost = lostByHolder.get(key);
    if (lost) {
      // A leaver's own order may already revoke a device credential under the same id: keep one change.
      const planned = new Set(identityPlan.map((c) => c.id));
      identityPlan = [...identityPlan, ...lostDeviceChanges({ compiled, identity, lost, accounts, credentials: creds }).filter((c) => !planned.has(c.id))];
    }
    if (hold) {
      const split = holdActivation(identityPlan);
      identityPlan = split.kept;
      const heldChanges = split.held.filter(inScope).length;
      if (heldChanges > 0) heldJoiners.push({ ...hold, heldChanges });
    }
    if (sodRules) {
      const heldNow = linked.accounts.flatMap((account) => grantsIn(linked, account).map((entitlement) => ({ system: account.system, entitlement })));
      const split = holdSodConflicts(input.policy, key, identityPlan, heldNow, desired);
      identityPlan = split.kept;
      sodHeld.push(...split.held);
    }
    for (const change of identityPlan) {
      if (!inScope(change)) continue;
      changes.push(change);
      if (templated) groups.planned(change, identity, change.entitlement === undefined ? undefined : desired.get(change.system!)?.get(change.entitlement)?.template);
    }
  }
  // Group changes come from in-scope grants, except deletions of groups jml created: keep those to the systems in scope.
  changes = groups.finish(changes, scopeKeys === null).filter((c) => c.kind !== 'delete_group' || !scopeSystems || scopeSystems.has(c.system!));
  const orphans = observed.unlinked.accounts.map((account, i) => ({ account, grants: observed.unlinked.grants[i]! }))
    .sort((a, b) => cmp(a.account.system, b.account.system) || cmp(a.account.accountId, b.account.accountId));
  for (const { account, grants } of orphans) hash.update(`u\u001f${accountText(account, readFields(account.system))}\u001f${sortedText(grants)}\n`);
  // An orphan belongs to no identity: a plan scoped to identities leaves it alone.
  if (!scopeKeys) {
    for (const change of orphanChanges(compiled, observed.unlinked.accounts, input.orphanFindings ?? [], nowMs)) {
      if (!scopeSystems || scopeSystems.has(change.system!)) changes.push(change);
    }
  }
  if (scopeSystems) {
    // A dependency on a change filtered out of scope cannot be honoured here; drop it.
    const kept = new Set(changes.map((c) => c.id));
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i]!;
      if (c.dependsOn.some((id) => !kept.has(id))) changes[i] = { ...c, dependsOn: c.dependsOn.filter((id) => kept.has(id)) };
    }
  }
  for (const change of changes) hash.update(`c\u001f${change.id}\n`);
  const fingerprint = hash.digest('hex');
  return deepFreeze({
    id: stableId('plan', [fingerprint, input.now]),
    computedAt: new Date(nowMs).toISOString(),
    fingerprint,
    changes,
    ...(heldJoiners.length > 0 ? { held: heldJoiners } : {}),
    ...(sodHeld.length > 0 ? { sodHeld } : {}),
  });
}

/** Feeds one identity's share of the inputs to the fingerprint, in a canonical order. */
function hashIdentity(
  hash: ReturnType<typeof streamingHash>,
  identity: Identity,
  linked: LinkedAccounts,
  readFields: (system: string) => readonly string[],
  systemRank: ReadonlyMap<string, number>,
  assignments: readonly Assignment[],
  credentials: readonly Credential[],
  previously: ReadonlySet<string> | undefined,
  assets: readonly HeldAsset[],
): void {
  // One update per identity: a million small updates cost more than the hashing itself.
  let text = `i\u001f${canonicalJson(identity)}\n`;
  for (const i of accountOrder(linked.accounts, systemRank)) {
    const account = linked.accounts[i]!;
    const grants = linked.grants[i]!;
    text += `a\u001f${accountText(account, readFields(account.system))}\u001f${sortedText(grants)}\n`;
  }
  if (assignments.length > 0) text += `s\u001f${assignments.map((a) => canonicalJson(a)).sort().join('\u001e')}\n`;
  if (credentials.length > 0) text += `k\u001f${credentials.map((c) => canonicalJson(c)).sort().join('\u001e')}\n`;
  if (previously && previously.size > 0) text += `p\u001f${[...previously].sort().join('\u001e')}\n`;
  if (assets.length > 0) text += `t\u001f${assets.map((a) => canonicalJson(a)).sort().join('\u001e')}\n`;
  hash.update(text);
}

/**
 * Positions of an identity's accounts by system, then account id (code-unit order). An
 * insertion sort on system ranks: a dozen accounts, mostly in observation order already.
 */
function accountOrder(accounts: readonly Account[], systemRank: ReadonlyMap<string, number>): number[] {
  const order = accounts.map((_, i) => i);
  if (order.length < 2) return order;
  const ranks = accounts.map((a) => systemRank.get(a.system) ?? -1);
  if (ranks.includes(-1)) return order.sort((x, y) => cmp(accounts[x]!.system, accounts[y]!.system) || cmp(accounts[x]!.accountId, accounts[y]!.accountId));
  const before = (x: number, y: number) => ranks[x]! < ranks[y]! || (ranks[x] === ranks[y] && accounts[x]!.accountId < accounts[y]!.accountId);
  for (let i = 1; i < order.length; i++) {
    const x = order[i]!;
    let j = i - 1;
    for (; j >= 0 && before(x, order[j]!); j--) order[j + 1] = order[j]!;
    order[j + 1] = x;
  }
  return order;
}

/**
 * An account as the plan reads it: identifiers, name, state, and the attributes
 * its system correlates and templates on. Attributes the plan never reads (last
 * sign-in, unrelated fields) do not make a plan stale.
 */
function accountText(account: Account, fields: readonly string[]): string {
  let text = `${account.system}\u001f${account.accountId}\u001f${account.name}\u001f${account.enabled}`;
  for (const field of fields) {
    const value = account.attributes[field];
    text += `\u001f${value === undefined ? '' : typeof value === 'string' || value === null ? String(value) : value.join('\u001e')}`;
  }
  return text;
}

// Accounts holding the same grants mostly share one frozen list (src/engine/account-grants.ts):
// its text is written once, not once per account (7 million accounts at 500,000 people).
const sortedTexts = new WeakMap<readonly string[], string>();

/** Sorted text of a short list, without copying when it is already in order (the usual case); kept for a frozen list. */
function sortedText(items: readonly string[]): string {
  let text = sortedTexts.get(items);
  if (text !== undefined) return text;
  let inOrder = true;
  for (let i = 1; i < items.length && inOrder; i++) inOrder = items[i - 1]! <= items[i]!;
  text = (inOrder ? items : [...items].sort()).join('\u001e');
  if (Object.isFrozen(items)) sortedTexts.set(items, text);
  return text;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
