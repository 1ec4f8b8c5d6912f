/**
 * A policy prepared for evaluation: conditions compiled to predicates, every
 * rule's roles expanded to the entitlements they induce (with the role chain
 * that leads there), templates parsed. Computed once per Policy object.
 */
import type { AssignmentReason } from '../domain/access.ts';
import type { EntitlementDef, Policy, RuleDef, SystemDef } from '../domain/policy.ts';
import { compileCondition, type Predicate } from './condition.ts';
import { compileTemplate, type CompiledTemplate } from './account-template.ts';

/** One entitlement a rule hands out, and the role chain that induces it (empty when granted directly). */
export interface RuleGrant {
  readonly system: string;
  readonly entitlement: string;
  readonly roleChain: readonly string[];
  /** The reason this grant gives, built once and shared by every identity the rule matches. */
  readonly reason: AssignmentReason;
}

export interface CompiledRule {
  readonly def: RuleDef;
  readonly when: Predicate;
  readonly grants: readonly RuleGrant[];
}

export interface CompiledSystem {
  readonly def: SystemDef;
  readonly accountName: CompiledTemplate | null;
  readonly accountAttributes: readonly (readonly [string, CompiledTemplate])[];
}

export interface CompiledPolicy {
  readonly policy: Policy;
  readonly systems: ReadonlyMap<string, CompiledSystem>;
  /** Keyed by `system:entitlement`. */
  readonly entitlements: ReadonlyMap<string, EntitlementDef>;
  readonly rules: readonly CompiledRule[];
}

const cache = new WeakMap<Policy, CompiledPolicy>();

/** The compiled form of a validated policy; cached per policy object. */
export function compilePolicy(policy: Policy): CompiledPolicy {
  const cached = cache.get(policy);
  if (cached) return cached;
  const roles = new Map(policy.roles.map((role) => [role.name, role]));

  // Expands a role depth-first. The loader rejects cycles; the `path` guard keeps
  // a hand-built policy with a cycle from recursing forever.
  const expand = (role: string, chain: readonly string[], out: Omit<RuleGrant, 'reason'>[]): void => {
    const def = roles.get(role);
    if (!def || chain.includes(role)) return;
    const next = [...chain, role];
    for (const inducement of def.inducements) {
      if (inducement.type === 'role') expand(inducement.role, next, out);
      else out.push({ system: inducement.system, entitlement: inducement.entitlement, roleChain: next });
    }
  };

  const compiled: CompiledPolicy = {
    policy,
    systems: new Map(
      policy.systems.map((def) => [
        def.name,
        {
          def,
          accountName: def.account.name === null ? null : compileTemplate(def.account.name),
          accountAttributes: Object.entries(def.account.attributes).map(([k, t]) => [k, compileTemplate(t)] as const),
        },
      ]),
    ),
    entitlements: new Map(policy.entitlements.map((e) => [`${e.system}:${e.name}`, e])),
    rules: policy.rules.map((def) => {
      const found: Omit<RuleGrant, 'reason'>[] = def.grant.entitlements.map((e) => ({ ...e, roleChain: [] }));
      for (const role of def.grant.roles) expand(role, [], found);
      const grants = found.map((g): RuleGrant => ({ ...g, reason: Object.freeze({ type: 'rule', rule: def.name, roleChain: g.roleChain }) }));
      return { def, when: compileCondition(def.when), grants };
    }),
  };
  cache.set(policy, compiled);
  return compiled;
}
