/**
 * Groups that follow attributes: the `create_group` and `delete_group` changes
 * an entitlement template calls for. A template names one group per identity
 * (`dept-{department|slug}`); when policy lets jml create missing groups, a
 * group nobody observed yet is created before the grants that need it, and
 * (with `remove_empty`) a group jml created from the template is deleted once
 * this plan removes its last holder and nobody desires it any more. Groups made
 * by hand are never deleted: only those in `createdGroups` qualify.
 */
import type { EntitlementRef } from '../domain/access.ts';
import type { Change } from '../domain/change.ts';
import type { Identity } from '../domain/identity.ts';
import type { Policy } from '../domain/policy.ts';
import { renderStrict } from './account-template.ts';
import { stableId } from './canonical-hash.ts';
import { compilePolicy, type CompiledEntitlementTemplate, type CompiledPolicy } from './compiled-policy.ts';
import type { PolicyDiffEntry } from './explain.ts';
import { forEachGrant, type ObservedSystem } from './observed-index.ts';

/** An add_grant in the plan whose group comes from a template that may create it. */
interface GroupNeed {
  readonly grant: Change;
  readonly template: CompiledEntitlementTemplate;
  readonly identity: Identity;
}

/** Collects, while the plan is computed, what the group changes are derived from. */
export interface GroupTracker {
  /** An identity desires the entitlement (from a rule, a template, a request or an exception), whether or not a grant is planned. */
  desiredBy(system: string, entitlement: string): void;
  /** A change the plan keeps; add_grants of creatable groups and remove_grants are remembered. */
  planned(change: Change, identity: Identity, template: CompiledEntitlementTemplate | undefined): void;
  /**
   * The plan's changes with the group changes in place, each add_grant depending
   * on the create_group of its group. `complete` is false when the plan saw only
   * some identities (a scoped plan): then nothing is deleted.
   */
  finish(changes: readonly Change[], complete: boolean): Change[];
}

const key = (system: string, entitlement: string) => `${system}\u0000${entitlement}`;

/**
 * @param observed what the connectors read: a group exists when listed as an entitlement or held by any account.
 * @param createdGroups groups jml created and has not deleted since.
 */
export function trackGroups(compiled: CompiledPolicy, observed: readonly ObservedSystem[], createdGroups: readonly EntitlementRef[]): GroupTracker {
  const needs: GroupNeed[] = [];
  const desired = new Set<string>();
  const removals = new Map<string, string>();
  return {
    desiredBy(system, entitlement) {
      desired.add(key(system, entitlement));
    },
    planned(change, identity, template) {
      if (change.kind === 'add_grant' && template?.def.template.createMissing) needs.push({ grant: change, template, identity });
      else if (change.kind === 'remove_grant' && change.accountId) removals.set(`${key(change.system!, change.entitlement!)}\u0000${change.accountId}`, change.id);
    },
    finish(changes, complete) {
      const candidates = complete ? deletable(compiled, createdGroups, desired) : [];
      if (needs.length === 0 && candidates.length === 0) return [...changes];
      const systems = new Set([...needs.map((n) => n.grant.system!), ...candidates.map((c) => c.system)]);
      const holders = holdersOf(observed, systems);

      const creates = new Map<string, Change>();
      const createOf = new Map<string, string>();
      for (const { grant, template, identity } of needs) {
        const group = key(grant.system!, grant.entitlement!);
        if (holders.has(group)) continue;
        let create = creates.get(group);
        if (!create) {
          create = {
            id: stableId('ch', ['create_group', grant.system!, grant.entitlement!]),
            kind: 'create_group',
            identityKey: identity.key,
            system: grant.system,
            entitlement: grant.entitlement!,
            attributes: { description: renderStrict(template.description, identity) },
            reason: `group from template ${template.def.name} for ${identity.key}`,
            dependsOn: [],
          };
          creates.set(group, create);
        }
        createOf.set(grant.id, create.id);
      }
      const withCreates = changes.map((c) => {
        const create = createOf.get(c.id);
        return create ? { ...c, dependsOn: [...c.dependsOn, create] } : c;
      });

      const indexOf = new Map(withCreates.map((c, i) => [c.id, i]));
      const firstOf = new Map<string, number>();
      withCreates.forEach((c, i) => { if (!firstOf.has(c.identityKey)) firstOf.set(c.identityKey, i); });
      // A create goes just before its identity's first change, a delete just after the last removal it waits
      // for: dependencies stay ahead of dependents, and each identity's changes stay together.
      const before = new Map<number, Change[]>();
      const after = new Map<number, Change[]>();
      const at = (map: Map<number, Change[]>, i: number, change: Change) => map.set(i, [...(map.get(i) ?? []), change]);
      for (const create of creates.values()) at(before, firstOf.get(create.identityKey) ?? withCreates.length, create);
      for (const { system, entitlement, template } of candidates) {
        const held = holders.get(key(system, entitlement));
        if (!held) continue; // not observed: already gone, or never read
        const removed = [...held].map((accountId) => removals.get(`${key(system, entitlement)}\u0000${accountId}`));
        if (removed.some((id) => id === undefined)) continue; // someone keeps it
        const waitsFor = removed as string[];
        const last = Math.max(-1, ...waitsFor.map((id) => indexOf.get(id) ?? -1));
        at(after, last < 0 ? withCreates.length - 1 : last, {
          id: stableId('ch', ['delete_group', system, entitlement]),
          kind: 'delete_group',
          // The identity of the last removal, or (a group nobody held) the system's owner, who is accountable for it.
          identityKey: last < 0 ? compiled.systems.get(system)!.def.owner : withCreates[last]!.identityKey,
          system,
          entitlement,
          reason: `empty group from template ${template.def.name}: nobody holds or is desired to hold it`,
          dependsOn: waitsFor,
        });
      }
      const ordered: Change[] = [];
      for (let i = 0; i <= withCreates.length; i++) {
        ordered.push(...(before.get(i) ?? []));
        if (i < withCreates.length) ordered.push(withCreates[i]!);
        ordered.push(...(after.get(i) ?? []));
      }
      ordered.push(...(after.get(-1) ?? []));
      return ordered;
    },
  };
}

/**
 * Groups jml created from a `remove_empty` template that no identity desires any more,
 * in systems whose enforcement lets jml remove access (relative, full).
 */
function deletable(compiled: CompiledPolicy, createdGroups: readonly EntitlementRef[], desired: ReadonlySet<string>) {
  const out: { system: string; entitlement: string; template: CompiledEntitlementTemplate }[] = [];
  for (const { system, entitlement } of createdGroups) {
    const mode = compiled.systems.get(system)?.def.enforcement;
    if (mode !== 'relative' && mode !== 'full') continue;
    if (desired.has(key(system, entitlement))) continue;
    const template = compiled.templates.get(system)?.find((t) => t.def.template.removeEmpty && t.pattern.test(entitlement));
    if (template) out.push({ system, entitlement, template });
  }
  return out.sort((a, b) => (key(a.system, a.entitlement) < key(b.system, b.entitlement) ? -1 : 1));
}

/**
 * The accounts holding each group of `systems`, by `system\0group`; a group
 * listed as an entitlement with no members maps to an empty set.
 */
function holdersOf(observed: readonly ObservedSystem[], systems: ReadonlySet<string>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const o of observed) {
    if (!systems.has(o.system)) continue;
    for (const entitlement of o.entitlements ?? []) if (!out.has(key(o.system, entitlement))) out.set(key(o.system, entitlement), new Set());
    forEachGrant(o, (accountId, entitlement) => {
      const k = key(o.system, entitlement);
      let set = out.get(k);
      if (!set) out.set(k, (set = new Set()));
      set.add(accountId);
    });
  }
  return out;
}

/** A group a policy change would have jml create, and who would gain it. */
export interface NewTemplateGroup {
  readonly system: string;
  readonly entitlement: string;
  /** The template that names it. */
  readonly template: string;
  readonly identityKeys: readonly string[];
}

/**
 * The groups `jml policy diff` announces: entitlements the new policy's
 * templates would give (with create_missing) that no connector has shown yet.
 */
export function newTemplateGroups(entries: readonly PolicyDiffEntry[], policy: Policy, observed: readonly ObservedSystem[]): NewTemplateGroup[] {
  const compiled = compilePolicy(policy);
  const byGroup = new Map<string, { system: string; entitlement: string; template: string; identityKeys: string[] }>();
  for (const entry of entries) {
    for (const gained of entry.gained) {
      const source = gained.reasons.find((r) => r.type === 'rule' && r.template);
      if (!source || source.type !== 'rule' || !source.template) continue;
      const def = compiled.entitlements.get(`${gained.system}:${source.template.template}`);
      if (!def?.template?.createMissing) continue;
      const k = key(gained.system, gained.entitlement);
      const group = byGroup.get(k) ?? { system: gained.system, entitlement: gained.entitlement, template: source.template.template, identityKeys: [] };
      group.identityKeys.push(entry.identityKey);
      byGroup.set(k, group);
    }
  }
  if (byGroup.size === 0) return [];
  const existing = holdersOf(observed, new Set([...byGroup.values()].map((g) => g.system)));
  return [...byGroup.entries()].filter(([k]) => !existing.has(k)).map(([, g]) => g).sort((a, b) => (key(a.system, a.entitlement) < key(b.system, b.entitlement) ? -1 : 1));
}
