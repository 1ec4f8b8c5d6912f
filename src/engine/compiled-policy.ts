/**
 * A policy prepared for evaluation: conditions compiled to predicates, every
 * rule's roles expanded to the entitlements they induce (with the role chain
 * that leads there), templates parsed. Computed once per Policy object.
 */
import type { AssignmentReason } from '../domain/access.ts';
import type { EntitlementDef, Policy, RoleDef, RuleDef, SystemDef } from '../domain/policy.ts';
import { compileCondition, type Predicate } from './condition.ts';
import { compileTemplate, templateFields, templatePattern, type CompiledTemplate } from './account-template.ts';
import { profileRules } from './profile-kit.ts';

/** An entitlement template (`dept-{department|slug}`), parsed once. */
export interface CompiledEntitlementTemplate {
  readonly def: EntitlementDef & { readonly template: NonNullable<EntitlementDef['template']> };
  readonly name: CompiledTemplate;
  /** The identity fields the name reads. */
  readonly fields: readonly string[];
  readonly description: CompiledTemplate;
  /** Matches every name the template can render. */
  readonly pattern: RegExp;
}

/** One entitlement a rule hands out, and the role chain that induces it (empty when granted directly). */
export interface RuleGrant {
  readonly system: string;
  readonly entitlement: string;
  readonly roleChain: readonly string[];
  /** The reason this grant gives, built once and shared by every identity the rule matches. */
  readonly reason: AssignmentReason;
  /** Set when `entitlement` is a template: each identity holds the entitlement it renders to. */
  readonly template?: CompiledEntitlementTemplate;
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
  /** Entitlement templates by system. */
  readonly templates: ReadonlyMap<string, readonly CompiledEntitlementTemplate[]>;
  readonly rules: readonly CompiledRule[];
}

const cache = new WeakMap<Policy, CompiledPolicy>();

/** The compiled form of a validated policy; cached per policy object. */
export function compilePolicy(policy: Policy): CompiledPolicy {
  const cached = cache.get(policy);
  if (cached) return cached;
  const roles = new Map(policy.roles.map((role) => [role.name, role]));
  const expand = (role: string, chain: readonly string[], out: Omit<RuleGrant, 'reason'>[]): void => expandRole(roles, role, chain, out);

  const templateOf = new Map<string, CompiledEntitlementTemplate>();
  const templates = new Map<string, CompiledEntitlementTemplate[]>();
  for (const def of policy.entitlements) {
    if (!def.template) continue;
    const name = compileTemplate(def.name);
    const compiledTemplate: CompiledEntitlementTemplate = {
      def: def as CompiledEntitlementTemplate['def'],
      name,
      fields: templateFields(name),
      description: compileTemplate(def.template.description ?? def.displayName),
      pattern: templatePattern(name),
    };
    templateOf.set(`${def.system}:${def.name}`, compiledTemplate);
    templates.set(def.system, [...(templates.get(def.system) ?? []), compiledTemplate]);
  }

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
    templates,
    rules: [...policy.rules, ...profileRules(policy.profiles ?? [])].map((def) => {
      const found: Omit<RuleGrant, 'reason'>[] = def.grant.entitlements.map((e) => ({ ...e, roleChain: [] }));
      for (const role of def.grant.roles) expand(role, [], found);
      const grants = found.map((g): RuleGrant => {
        const template = templateOf.get(`${g.system}:${g.entitlement}`);
        return { ...g, reason: Object.freeze({ type: 'rule', rule: def.name, roleChain: g.roleChain }), ...(template ? { template } : {}) };
      });
      return { def, when: compileCondition(def.when), grants };
    }),
  };
  cache.set(policy, compiled);
  return compiled;
}

/**
 * Expands a role depth-first into the entitlements it induces, each with the
 * chain of roles that led to it. The loader rejects cycles; the `chain` guard
 * keeps a hand-built policy with a cycle from recursing forever.
 */
export function expandRole(roles: ReadonlyMap<string, RoleDef>, role: string, chain: readonly string[], out: Omit<RuleGrant, 'reason'>[]): void {
  const def = roles.get(role);
  if (!def || chain.includes(role)) return;
  const next = [...chain, role];
  for (const inducement of def.inducements) {
    if (inducement.type === 'role') expandRole(roles, inducement.role, next, out);
    else out.push({ system: inducement.system, entitlement: inducement.entitlement, roleChain: next });
  }
}

interface EntitlementLookup {
  readonly exact: ReadonlyMap<string, EntitlementDef>;
  readonly templates: readonly (readonly [EntitlementDef, RegExp])[];
}
const lookups = new WeakMap<readonly EntitlementDef[], EntitlementLookup>();

/**
 * The definition of an entitlement by its concrete name: a plain entitlement,
 * else the template whose names it fits (a generated group inherits its
 * template's `privileged` and `max_duration_days`). Undefined when neither.
 */
export function entitlementDefFor(entitlements: readonly EntitlementDef[], system: string, name: string): EntitlementDef | undefined {
  let lookup = lookups.get(entitlements);
  if (!lookup) {
    lookup = {
      exact: new Map(entitlements.map((e) => [`${e.system}:${e.name}`, e])),
      templates: entitlements.filter((e) => e.template).map((e) => [e, templatePattern(compileTemplate(e.name))] as const),
    };
    lookups.set(entitlements, lookup);
  }
  return lookup.exact.get(`${system}:${name}`) ?? lookup.templates.find(([e, pattern]) => e.system === system && pattern.test(name))?.[0];
}
