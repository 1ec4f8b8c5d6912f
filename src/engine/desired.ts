/**
 * Desired access: what an identity should hold at `now`, and why. Sources of a
 * reason are policy rules (through role chains) and request or exception
 * assignments valid at `now`. Only active identities hold access: pending,
 * suspended and left identities desire nothing (the plan keeps a suspended
 * identity's grants on its disabled accounts; see plan.ts).
 */
import type { Assignment, AssignmentReason } from '../domain/access.ts';
import type { Identity } from '../domain/identity.ts';
import type { Policy } from '../domain/policy.ts';
import { dateIn } from './org-calendar.ts';
import { renderStrict } from './account-template.ts';
import { conditionFields, identityField } from './condition.ts';
import { compilePolicy, entitlementDefFor, type CompiledEntitlementTemplate, type CompiledPolicy } from './compiled-policy.ts';

export interface DesiredEntitlement {
  readonly system: string;
  readonly entitlement: string;
  /** Every reason that applies, rules first (policy order), then requests and exceptions. */
  readonly reasons: readonly AssignmentReason[];
  /** When the last reason lapses (ISO instant); null while a rule or an open-ended assignment holds. */
  readonly validTo: string | null;
}

export interface DesiredAccess {
  readonly identityKey: string;
  /** Sorted by system, then entitlement. */
  readonly entitlements: readonly DesiredEntitlement[];
}

export interface EngineOptions {
  /** IANA time zone of the organisation; date conditions compare calendar dates there. Default UTC. */
  readonly timeZone?: string;
}

/** One entitlement's reasons while computing; `until` is epoch ms (Infinity = open). */
export interface DesiredEntry {
  readonly reasons: AssignmentReason[];
  until: number;
  /** The entitlement template that named it, when a rule's grant was a template. */
  template?: CompiledEntitlementTemplate;
}

/** A rule's entitlement template that names nothing for an identity: a field it reads is missing or empty. */
export interface UnresolvedTemplate {
  readonly system: string;
  readonly template: string;
  readonly rule: string;
  /** The fields that are missing or that filters left empty. */
  readonly missing: readonly string[];
}
/** system → entitlement → entry. */
export type DesiredIndex = Map<string, Map<string, DesiredEntry>>;

const DAY_MS = 86_400_000;

/**
 * The effective end of an assignment in epoch ms: its validTo, capped by the
 * entitlement's max_duration_days counted from validFrom. Open-ended = Infinity.
 */
function effectiveEnd(assignment: Assignment, maxDurationDays: number | null): number {
  let end = assignment.validTo === null ? Infinity : Date.parse(assignment.validTo);
  if (maxDurationDays !== null && assignment.validFrom !== null) {
    end = Math.min(end, Date.parse(assignment.validFrom) + maxDurationDays * DAY_MS);
  }
  return end;
}

/**
 * The desired index of one identity. `assignments` may hold other identities'
 * assignments; those, rule-type assignments (rules come from policy) and
 * assignments outside their validity window at `nowMs` are ignored.
 */
export function desiredIndex(
  identity: Identity,
  compiled: CompiledPolicy,
  assignments: readonly Assignment[],
  nowMs: number,
  today: string,
  unresolved?: UnresolvedTemplate[],
): DesiredIndex {
  const index: DesiredIndex = new Map();
  if (identity.status !== 'active') return index;
  const add = (system: string, entitlement: string, reason: AssignmentReason, until: number) => {
    if (!compiled.systems.has(system)) return;
    let bySystem = index.get(system);
    if (!bySystem) index.set(system, (bySystem = new Map()));
    const entry = bySystem.get(entitlement);
    if (entry) {
      entry.reasons.push(reason);
      entry.until = Math.max(entry.until, until);
    } else {
      bySystem.set(entitlement, { reasons: [reason], until });
    }
  };
  const context = { today };
  for (const rule of compiled.rules) {
    if (!rule.when(identity, context)) continue;
    for (const grant of rule.grants) {
      if (!grant.template) {
        add(grant.system, grant.entitlement, grant.reason, Infinity);
        continue;
      }
      // A template names one group per identity; a missing field names none (never `dept-`).
      const name = renderStrict(grant.template.name, identity);
      if (name === null) {
        unresolved?.push({ system: grant.system, template: grant.entitlement, rule: rule.def.name, missing: missingFields(grant.template, identity) });
        continue;
      }
      const values: Record<string, string> = {};
      for (const field of grant.template.fields) values[field] = identityField(identity, field) ?? '';
      const reason: AssignmentReason = { type: 'rule', rule: rule.def.name, roleChain: grant.roleChain, template: { template: grant.entitlement, values } };
      add(grant.system, name, reason, Infinity);
      const entry = index.get(grant.system)?.get(name);
      if (entry) entry.template ??= grant.template;
    }
  }
  for (const assignment of assignments) {
    if (assignment.identityKey !== identity.key || assignment.reason.type === 'rule') continue;
    if (assignment.validFrom !== null && Date.parse(assignment.validFrom) > nowMs) continue;
    const max = entitlementDefFor(compiled.policy.entitlements, assignment.system, assignment.entitlement)?.maxDurationDays ?? null;
    const end = effectiveEnd(assignment, max);
    if (end <= nowMs) continue;
    add(assignment.system, assignment.entitlement, assignment.reason, end);
  }
  return index;
}

/** How many distinct profiles one plan remembers: past this, desired access is computed per identity as before. */
const MEMO_LIMIT = 10_000;

/**
 * `desiredIndex` for many identities at one instant, computed once per profile:
 * identities that agree on every field the rules read (their conditions and
 * entitlement templates) and hold no request or exception desire the same, so
 * they share one index. A shared index is read only, as every index is once built.
 * Identities with assignments of their own are computed apart.
 * @example const desiredOf = desiredIndexer(compiled, nowMs, today); desiredOf(identity, []);
 */
export function desiredIndexer(compiled: CompiledPolicy, nowMs: number, today: string): (identity: Identity, assignments: readonly Assignment[]) => DesiredIndex {
  const fields = [...new Set(compiled.rules.flatMap((rule) => [
    ...conditionFields(rule.def.when),
    ...rule.grants.flatMap((grant) => grant.template?.fields ?? []),
  ]))];
  // One level of maps per field, keyed by the identity's value (null when absent).
  type Level = Map<string | null, Level | DesiredIndex>;
  const root: Level = new Map();
  const inactive: DesiredIndex = new Map();
  let remembered = 0;
  return (identity, assignments) => {
    if (identity.status !== 'active') return inactive;
    if (assignments.length > 0) return desiredIndex(identity, compiled, assignments, nowMs, today);
    const full = remembered >= MEMO_LIMIT;
    let level = root;
    for (let f = 0; f < fields.length - 1; f++) {
      const value = identityField(identity, fields[f]!);
      let next = level.get(value) as Level | undefined;
      if (!next) {
        if (full) return desiredIndex(identity, compiled, assignments, nowMs, today);
        level.set(value, (next = new Map()));
      }
      level = next;
    }
    const last = fields.length === 0 ? null : identityField(identity, fields[fields.length - 1]!);
    const known = level.get(last) as DesiredIndex | undefined;
    if (known) return known;
    const index = desiredIndex(identity, compiled, assignments, nowMs, today);
    if (!full) {
      level.set(last, index);
      remembered += 1;
    }
    return index;
  };
}

/** The fields of a template that leave its name empty for `identity`. */
function missingFields(template: CompiledEntitlementTemplate, identity: Identity): string[] {
  const missing: string[] = [];
  for (const part of template.name) {
    if (typeof part === 'string') continue;
    if (renderStrict([part], identity) === null && !missing.includes(part.field)) missing.push(part.field);
  }
  return missing;
}

/**
 * The entitlement templates that name nothing for `identity` at `now`: rules it
 * matches whose template reads a field it lacks. For `jml explain`.
 */
export function unresolvedTemplates(identity: Identity, policy: Policy, now: string, options: EngineOptions = {}): UnresolvedTemplate[] {
  const out: UnresolvedTemplate[] = [];
  desiredIndex(identity, compilePolicy(policy), [], Date.parse(now), dateIn(now, options.timeZone ?? 'UTC'), out);
  return out;
}

/**
 * What `identity` should hold at `now`, with every reason.
 * @param assignments requests and exceptions (other identities' are ignored).
 * @param now ISO instant.
 * @example desired(identity, policy, [], '2026-03-01T09:00:00Z').entitlements
 */
export function desired(
  identity: Identity,
  policy: Policy,
  assignments: readonly Assignment[],
  now: string,
  options: EngineOptions = {},
): DesiredAccess {
  const index = desiredIndex(identity, compilePolicy(policy), assignments, Date.parse(now), dateIn(now, options.timeZone ?? 'UTC'));
  return { identityKey: identity.key, entitlements: flattenDesired(index) };
}

export function flattenDesired(index: DesiredIndex): DesiredEntitlement[] {
  const out: DesiredEntitlement[] = [];
  for (const system of [...index.keys()].sort()) {
    const bySystem = index.get(system)!;
    for (const entitlement of [...bySystem.keys()].sort()) {
      const entry = bySystem.get(entitlement)!;
      out.push({
        system,
        entitlement,
        reasons: entry.reasons,
        validTo: entry.until === Infinity ? null : new Date(entry.until).toISOString(),
      });
    }
  }
  return out;
}

/** A reason in words, for plans and `jml explain`. */
export function describeReason(reason: AssignmentReason): string {
  switch (reason.type) {
    case 'rule': {
      const base = reason.roleChain.length > 0 ? `rule ${reason.rule} via role ${reason.roleChain.join(' → ')}` : `rule ${reason.rule}`;
      if (!reason.template) return base;
      const values = Object.entries(reason.template.values).map(([field, value]) => `${field} "${value}"`).join(', ');
      return `${base}, template ${reason.template.template} with ${values}`;
    }
    case 'request':
      return reason.roleChain.length > 0 ? `request ${reason.requestId} via role ${reason.roleChain.join(' → ')}` : `request ${reason.requestId}`;
    case 'exception':
      return `exception ${reason.exceptionId}: ${reason.justification}`;
  }
}
