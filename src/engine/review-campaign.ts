/**
 * Starting a review campaign: a pure function from a snapshot of what each
 * identity holds — the grants the latest reconcile observed, plus the requests
 * and exceptions jml assigned — to one item per identity × entitlement (and per
 * account holding no entitlement), each with the context a reviewer needs and a
 * recommendation. The snapshot hash ties every later decision and the export to
 * exactly this input.
 */
import type { AssignmentReason, Assignment } from '../domain/access.ts';
import type { Identity } from '../domain/identity.ts';
import type { Policy } from '../domain/policy.ts';
import type { ReviewDef } from '../domain/review.ts';
import { streamingHash } from './canonical-hash.ts';
import { compilePolicy, entitlementDefFor } from './compiled-policy.ts';
import { desiredIndex } from './desired.ts';
import { indexObserved, type AccountLink, type ObservedSystem } from './observed-index.ts';
import { dateIn } from './org-calendar.ts';
import { resolveReviewers, type ReviewerContext } from './review-reviewers.ts';
import { cmp, groupBy } from './collections.ts';
import { justifiedBy, NO_REASONS, ReasonsInterner, reasonWord } from './review-reasons.ts';

/** When and by whom a grant was given, where jml knows it (a stored request or exception, or a grant jml applied). */
export interface GrantProvenance {
  readonly identityKey: string;
  readonly system: string;
  readonly entitlement: string;
  readonly grantedAt: string;
  readonly grantedBy: string;
}

export interface CampaignSnapshot {
  readonly review: ReviewDef;
  readonly policy: Policy;
  readonly identities: readonly Identity[];
  /** Requests and exceptions in force. */
  readonly assignments: readonly Assignment[];
  readonly observed: readonly ObservedSystem[];
  readonly links: readonly AccountLink[];
  readonly provenance?: readonly GrantProvenance[];
  /** ISO instant the campaign starts. */
  readonly now: string;
  readonly timeZone: string;
}

export type Recommendation = 'keep' | 'remove';

/** One thing a reviewer certifies: an identity's entitlement in a system, or an account holding none. */
export interface ReviewItem {
  readonly id: string;
  readonly identityKey: string;
  readonly system: string;
  /** null: the account itself (it holds no entitlement). */
  readonly entitlement: string | null;
  /** null when jml assigned it and no reconcile has seen it yet. */
  readonly accountId: string | null;
  readonly privileged: boolean;
  /** Why policy wants it: rules (with role chain), requests, exceptions. Empty: out of policy. */
  readonly reasons: readonly AssignmentReason[];
  readonly lastSignInAt: string | null;
  readonly grantedAt: string | null;
  readonly grantedBy: string | null;
  /** Peers in the same department: how many hold it, of how many. */
  readonly peers: { readonly department: string | null; readonly holding: number; readonly of: number };
  readonly recommendation: Recommendation;
  readonly recommendationWhy: string;
  /** Who reviews it in the first stage (never the identity itself, unless the stage is `self`). */
  readonly reviewers: readonly string[];
  /** Reviewers who hold this same privileged access themselves: flagged for the reviewer's reviewer. */
  readonly conflictedReviewers: readonly string[];
}

export interface CampaignStart {
  readonly items: readonly ReviewItem[];
  /** SHA-256 over the items' identity, entitlement, account and reasons, in item order. */
  readonly snapshotHash: string;
  /** Items no stage-one reviewer (nor fallback) resolved for: visible, never silently kept. */
  readonly unassigned: number;
}

const DAY_MS = 86_400_000;
const NO_KEYS: readonly string[] = [];

/**
 * The items of a new campaign of `snapshot.review`, sorted by identity, system, entitlement.
 * @example const { items, snapshotHash } = startCampaign('rev_q1', { review, policy, identities, assignments, observed, links, now, timeZone: 'Europe/Paris' });
 */
export function startCampaign(campaignId: string, snapshot: CampaignSnapshot): CampaignStart {
  const { review, policy, now } = snapshot;
  const compiled = compilePolicy(policy);
  const nowMs = Date.parse(now);
  const today = dateIn(now, snapshot.timeZone);
  const byKey = new Map(snapshot.identities.map((i) => [i.key, i]));
  const observed = indexObserved(snapshot.observed, snapshot.identities, snapshot.links, compiled);
  const assignmentsByIdentity = groupBy(snapshot.assignments, (a) => a.identityKey);
  const provenance = new Map((snapshot.provenance ?? []).map((p) => [itemKey(p.identityKey, p.system, p.entitlement), p]));

  // What each identity holds: observed grants (with the account) plus jml's assignments not yet observed.
  // `key` is `system:entitlement` (or the system alone for an account holding none), built once per item.
  interface Held { readonly identity: Identity; readonly system: string; readonly entitlement: string | null; readonly key: string; readonly accountId: string | null; readonly lastSignInAt: string | null; reasons: readonly AssignmentReason[] }
  const held: Held[] = [];
  // department → system:entitlement → holders; no department\u001fkey string per item.
  const holders = new Map<string, Map<string, number>>();
  const departmentSize = new Map<string, number>();
  const shared = new ReasonsInterner();
  // Sorted per identity (and identities by key) rather than one sort over millions of items.
  for (const identity of [...snapshot.identities].sort((a, b) => cmp(a.key, b.key))) {
    const firstHeld = held.length;
    const department = identity.attributes.department ?? null;
    if (department !== null) departmentSize.set(department, (departmentSize.get(department) ?? 0) + 1);
    const desired = desiredIndex(identity, compiled, assignmentsByIdentity.get(identity.key) ?? [], nowMs, today);
    const seen = new Set<string>();
    const linked = observed.linked.get(identity.key);
    if (linked) {
      for (let i = 0; i < linked.accounts.length; i += 1) {
        const account = linked.accounts[i]!;
        const grants = linked.grants[i] ?? NO_KEYS;
        const lastSignInAt = account.lastLoginAt ?? null;
        const wanted = desired.get(account.system);
        // An account holding nothing is justified by whatever policy wants the identity to hold in its system.
        if (grants.length === 0) held.push({ identity, system: account.system, entitlement: null, key: account.system, accountId: account.accountId, lastSignInAt, reasons: shared.intern(wanted ? [...wanted.values()].flatMap((e) => e.reasons) : NO_REASONS) });
        for (const entitlement of grants) {
          const key = `${account.system}:${entitlement}`;
          if (seen.has(key)) continue;
          seen.add(key);
          held.push({ identity, system: account.system, entitlement, key, accountId: account.accountId, lastSignInAt, reasons: shared.intern(wanted?.get(entitlement)?.reasons ?? NO_REASONS) });
        }
      }
    }
    for (const a of assignmentsByIdentity.get(identity.key) ?? []) {
      const key = `${a.system}:${a.entitlement}`;
      const entry = desired.get(a.system)?.get(a.entitlement);
      if (seen.has(key) || !entry) continue;
      seen.add(key);
      held.push({ identity, system: a.system, entitlement: a.entitlement, key, accountId: null, lastSignInAt: null, reasons: shared.intern(entry.reasons) });
    }
    if (held.length - firstHeld > 1) {
      const mine = held.splice(firstHeld).sort((a, b) => cmp(a.system, b.system) || cmp(a.entitlement ?? '', b.entitlement ?? ''));
      for (const h of mine) held.push(h);
    }
    if (department !== null) {
      let counts = holders.get(department);
      if (!counts) holders.set(department, (counts = new Map()));
      for (const key of seen) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }

  const context: ReviewerContext = { policy, identities: byKey, holds: (key, system, entitlement) => holdsEntitlement(observed.linked.get(key), system, entitlement) };
  // Plain entitlements by `system:name`; templates still go through entitlementDefFor.
  const defs = new Map(policy.entitlements.filter((e) => !e.template).map((e) => [`${e.system}:${e.name}`, e]));
  const items: ReviewItem[] = [];
  const memo = new Map<string, string[]>();
  const firstStage = review.stages[0]!.reviewers.type;
  const ownerScoped = firstStage === 'system_owner' || firstStage === 'entitlement_owner';
  // Peer statistics are the same for every holder in a department: one shared object per department × entitlement.
  const peersByDepartment = new Map<string | null, Map<string, ReviewItem['peers']>>();
  const peersOf = (department: string | null, key: string, entitlement: string | null): ReviewItem['peers'] => {
    let byKey = peersByDepartment.get(department);
    if (!byKey) peersByDepartment.set(department, (byKey = new Map()));
    // An account holding none has no peers entry (`system:null` was never counted).
    const statKey = entitlement === null ? `${key}:null` : key;
    let peers = byKey.get(statKey);
    if (!peers) {
      peers = department === null
        ? { department, holding: 0, of: 0 }
        : { department, holding: holders.get(department)?.get(statKey) ?? 0, of: departmentSize.get(department) ?? 0 };
      byKey.set(statKey, peers);
    }
    return peers;
  };
  let unassigned = 0;
  let reviewersFor: Identity | null = null;
  let reviewersOfIdentity: string[] = [];
  const hash = streamingHash();
  for (const h of held) {
    const def = h.entitlement === null ? undefined : (defs.get(h.key) ?? entitlementDefFor(policy.entitlements, h.system, h.entitlement));
    const privileged = def?.privileged ?? false;
    if (!inScope(review, h.identity, h.system, h.entitlement, privileged, h.reasons)) continue;
    const given = h.entitlement === null || provenance.size === 0 ? undefined : provenance.get(itemKey(h.identity.key, h.system, h.entitlement));
    const words = shared.words(h.reasons);
    const { recommendation, why } = recommendFor(h.reasons, words.shown, h.lastSignInAt, privileged, review, nowMs, shared);
    // Reviewers depend on the identity and, for owner stages, on the system or entitlement: resolved once per distinct answer.
    let reviewers: string[];
    if (ownerScoped) {
      const memoKey = `${h.identity.key}\u001f${h.key}`;
      const known = memo.get(memoKey);
      if (known) reviewers = known;
      else memo.set(memoKey, (reviewers = resolveReviewers(review.stages[0]!, { identity: h.identity, system: h.system, entitlement: h.entitlement, privileged: false }, context).reviewers));
    } else {
      if (reviewersFor !== h.identity) {
        reviewersFor = h.identity;
        reviewersOfIdentity = resolveReviewers(review.stages[0]!, { identity: h.identity, system: h.system, entitlement: h.entitlement, privileged: false }, context).reviewers;
      }
      reviewers = reviewersOfIdentity;
    }
    const conflicted = privileged && h.entitlement !== null ? reviewers.filter((key) => key !== h.identity.key && context.holds(key, h.system, h.entitlement!)) : NO_KEYS;
    if (reviewers.length === 0) unassigned += 1;
    const item: ReviewItem = {
      // Unique within the campaign and deterministic (items come in a fixed order); a hash per item cost seconds at 2 million items.
      id: `${campaignId}.${items.length.toString(36)}`,
      identityKey: h.identity.key,
      system: h.system,
      entitlement: h.entitlement,
      accountId: h.accountId,
      privileged,
      reasons: h.reasons,
      lastSignInAt: h.lastSignInAt,
      grantedAt: given?.grantedAt ?? null,
      grantedBy: given?.grantedBy ?? null,
      peers: peersOf(h.identity.attributes.department ?? null, h.key, h.entitlement),
      recommendation,
      recommendationWhy: why,
      reviewers,
      conflictedReviewers: conflicted,
    };
    hash.update(`${item.identityKey}\u001f${item.system}\u001f${item.entitlement ?? ''}\u001f${item.accountId ?? ''}\u001f${words.hashed}\n`);
    items.push(item);
  }
  return { items, snapshotHash: hash.digest('hex'), unassigned };
}

/** Whether an item falls under the review's scope; every filter given must hold. */
export function inScope(review: ReviewDef, identity: Identity, system: string, entitlement: string | null, privileged: boolean, reasons: readonly AssignmentReason[]): boolean {
  const s = review.scope;
  if (s.systems.length > 0 && !s.systems.includes(system)) return false;
  if (s.entitlements.length > 0 && !s.entitlements.some((ref) => ref === `${system}:*` || ref === `${system}:${entitlement}`)) return false;
  if (s.privilegedOnly && !privileged) return false;
  if (s.kinds.length > 0 && !s.kinds.includes(identity.kind)) return false;
  if (s.manager !== null && identity.attributes.manager !== s.manager) return false;
  if (s.owner !== null && identity.owner !== s.owner && identity.sponsor !== s.owner) return false;
  if (s.role !== null && !reasons.some((r) => r.type !== 'exception' && r.roleChain.includes(s.role!))) return false;
  return true;
}

/**
 * Remove when nothing in policy justifies it, or when the account has not
 * signed in for the review's unused-days limit (shorter for privileged access);
 * keep otherwise, naming what justifies it.
 */
export function recommend(reasons: readonly AssignmentReason[], lastSignInAt: string | null, privileged: boolean, review: ReviewDef, nowMs: number): { recommendation: Recommendation; why: string } {
  return recommendFor(reasons, reasons.map(reasonWord).join(', '), lastSignInAt, privileged, review, nowMs);
}

const OUT_OF_POLICY = { recommendation: 'remove', why: 'out of policy: no rule, request or exception gives it' } as const;

/**
 * The reason `recommend` gives when the reasons alone decide it (out of policy, or kept as justified);
 * null for a removal because of disuse, whose reason depends on the sign-in and the day of the start.
 * Lets a store keep the reason only where it cannot be derived again.
 */
export function reasonsWhy(recommendation: Recommendation, reasons: readonly AssignmentReason[]): string | null {
  if (reasons.length === 0) return recommendation === 'remove' ? OUT_OF_POLICY.why : null;
  return recommendation === 'keep' ? justifiedBy(reasons.map(reasonWord).join(', ')) : null;
}

/** `recommend` given the reasons' words; with `shared`, the answers to keep are one object per distinct justification. */
function recommendFor(reasons: readonly AssignmentReason[], words: string, lastSignInAt: string | null, privileged: boolean, review: ReviewDef, nowMs: number, shared?: ReasonsInterner): { readonly recommendation: Recommendation; readonly why: string } {
  if (reasons.length === 0) return OUT_OF_POLICY;
  const limit = privileged ? review.unusedDays.privileged : review.unusedDays.standard;
  if (lastSignInAt !== null) {
    const idle = Math.floor((nowMs - Date.parse(lastSignInAt)) / DAY_MS);
    if (idle >= limit) return { recommendation: 'remove', why: `not used for ${idle} days (limit ${limit}${privileged ? ', privileged' : ''})` };
  }
  return shared?.keep(words) ?? { recommendation: 'keep', why: justifiedBy(words) };
}

function holdsEntitlement(linked: { readonly accounts: readonly { readonly system: string }[]; readonly grants: readonly (readonly string[])[] } | undefined, system: string, entitlement: string): boolean {
  if (!linked) return false;
  return linked.accounts.some((a, i) => a.system === system && (linked.grants[i] ?? []).includes(entitlement));
}

function itemKey(identityKey: string, system: string, entitlement: string): string {
  return `${identityKey}\u001f${system}\u001f${entitlement}`;
}

