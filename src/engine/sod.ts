/**
 * Separation of duties: which SoD rules an identity's access breaks. One
 * evaluator for every path — an access request, a plan, `jml policy diff`, and
 * the detective check over what systems actually hold — so they never disagree.
 * Pure: entitlements in, violations out.
 */
import type { EntitlementRef } from '../domain/access.ts';
import type { Policy, SodRule, SodSeverity, SodSide } from '../domain/policy.ts';
import { stableId } from './canonical-hash.ts';
import { expandRole, type RuleGrant } from './compiled-policy.ts';

/** An identity holding something from both sides of a rule. */
export interface SodViolation {
  readonly rule: string;
  readonly severity: SodSeverity;
  readonly owner: string;
  readonly identityKey: string;
  /** The conflicting pair as `system:entitlement`, sorted: the same whichever side was written first. */
  readonly pair: readonly [string, string];
}

interface CompiledSide {
  readonly exact: ReadonlySet<string>;
  readonly patterns: readonly RegExp[];
  /** Each role as the set of entitlements it induces; held when all are held. */
  readonly roles: readonly (readonly string[])[];
}

interface CompiledRule {
  readonly rule: SodRule;
  readonly sides: readonly [CompiledSide, CompiledSide];
}

const cache = new WeakMap<Policy, readonly CompiledRule[]>();

const ref = (system: string, entitlement: string) => `${system}:${entitlement}`;

/** `erp:approve-*` → a regular expression over `system:entitlement`. */
function globPattern(system: string, glob: string): RegExp {
  const escaped = (text: string) => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped(system)}:${glob.split('*').map(escaped).join('.*')}$`, 'u');
}

function compileRules(policy: Policy): readonly CompiledRule[] {
  const cached = cache.get(policy);
  if (cached) return cached;
  const roles = new Map(policy.roles.map((role) => [role.name, role]));
  const side = (s: SodSide): CompiledSide => ({
    exact: new Set(s.entitlements.map((e) => ref(e.system, e.entitlement))),
    patterns: s.patterns.map((p) => globPattern(p.system, p.pattern)),
    roles: s.roles.map((role) => {
      const out: Omit<RuleGrant, 'reason'>[] = [];
      expandRole(roles, role, [], out);
      return [...new Set(out.map((g) => ref(g.system, g.entitlement)))];
    }).filter((induced) => induced.length > 0),
  });
  const compiled = (policy.sod ?? []).map((rule) => ({ rule, sides: [side(rule.sides[0]), side(rule.sides[1])] as const }));
  cache.set(policy, compiled);
  return compiled;
}

/** The held entitlements that put an identity on this side, sorted. */
function matches(side: CompiledSide, held: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const entitlement of held) {
    if (side.exact.has(entitlement) || side.patterns.some((p) => p.test(entitlement))) out.add(entitlement);
  }
  for (const induced of side.roles) if (induced.every((e) => held.has(e))) for (const e of induced) out.add(e);
  return [...out].sort();
}

/**
 * The SoD rules an identity breaks by holding `held`, one violation per rule
 * (the first conflicting pair in sorted order names it). A single entitlement
 * on both sides is not a conflict with itself: two different entitlements are needed.
 * @example sodViolations(policy, 'ana', [{ system: 'erp', entitlement: 'pay-create' }, { system: 'erp', entitlement: 'pay-approve' }])
 */
export function sodViolations(policy: Policy, identityKey: string, held: readonly EntitlementRef[]): SodViolation[] {
  const rules = compileRules(policy);
  if (rules.length === 0 || held.length < 2) return [];
  const set = new Set(held.map((h) => ref(h.system, h.entitlement)));
  const out: SodViolation[] = [];
  for (const { rule, sides } of rules) {
    const a = matches(sides[0], set);
    if (a.length === 0) continue;
    const b = matches(sides[1], set);
    const pair = firstPair(a, b);
    if (pair) out.push({ rule: rule.name, severity: rule.severity, owner: rule.owner, identityKey, pair });
  }
  return out;
}

function firstPair(a: readonly string[], b: readonly string[]): readonly [string, string] | null {
  let best: readonly [string, string] | null = null;
  for (const x of a) {
    for (const y of b) {
      if (x === y) continue;
      const pair = (x < y ? [x, y] : [y, x]) as readonly [string, string];
      if (!best || pair[0] < best[0] || (pair[0] === best[0] && pair[1] < best[1])) best = pair;
    }
  }
  return best;
}

/**
 * The violations `added` would create that `held` alone does not have: what a
 * request, a birthright rule or a mover is about to introduce.
 */
export function newSodViolations(policy: Policy, identityKey: string, held: readonly EntitlementRef[], added: readonly EntitlementRef[]): SodViolation[] {
  const before = new Set(sodViolations(policy, identityKey, held).map((v) => v.rule));
  return sodViolations(policy, identityKey, [...held, ...added]).filter((v) => !before.has(v.rule));
}

/** Stable key of a violation: same rule and identity, same key, whichever pair currently shows it. */
export function sodViolationKey(violation: Pick<SodViolation, 'rule' | 'identityKey'>): string {
  return stableId('finding', ['sod_violation', violation.rule, violation.identityKey]);
}

/** The SoD rule of that name, if the policy has it. */
export function sodRule(policy: Policy, name: string): SodRule | undefined {
  return (policy.sod ?? []).find((r) => r.name === name);
}

/** One line for people: `ana holds erp:pay-approve and erp:pay-create (rule payments, high)`. */
export function describeSodViolation(v: SodViolation): string {
  return `${v.identityKey} holds ${v.pair[0]} and ${v.pair[1]}, which SoD rule ${v.rule} (${v.severity}) keeps apart`;
}
