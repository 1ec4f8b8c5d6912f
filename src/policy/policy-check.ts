/**
 * Cross-reference checks over a whole policy, after each file passed its schema:
 * duplicate names, references to unknown systems, entitlements and roles, bad
 * account templates, and role inducement cycles. Problems carry the file and the
 * path inside it; the loader turns paths into line numbers.
 */
import type { EntitlementDef, ProfileDef, RoleDef, RuleDef, SodRule, SystemDef } from '../domain/policy.ts';
import { templateProblems } from '../engine/account-template.ts';
import { insecureHttpRefusal } from '../connectors/scim/scim-settings.ts';

export type PathSegment = string | number;

/** An item of a policy collection and where it was written. */
export interface Entry<T> {
  readonly value: T;
  readonly file: string;
  /** Index in its file's array. */
  readonly index: number;
}

export interface PolicyEntries {
  readonly systems: readonly Entry<SystemDef>[];
  readonly entitlements: readonly Entry<EntitlementDef>[];
  readonly roles: readonly Entry<RoleDef>[];
  readonly rules: readonly Entry<RuleDef>[];
  readonly sod: readonly Entry<SodRule>[];
  readonly profiles?: readonly Entry<ProfileDef>[];
}

export interface ProblemAt {
  readonly file: string;
  readonly path: readonly PathSegment[];
  readonly message: string;
}

/** Every cross-reference problem in the policy; empty when it is consistent. */
export function checkPolicy(entries: PolicyEntries): ProblemAt[] {
  const problems: ProblemAt[] = [];
  const at = (entry: Entry<unknown>, collection: string, rest: PathSegment[], message: string) =>
    problems.push({ file: entry.file, path: [collection, entry.index, ...rest], message });

  const systems = uniqueNames(entries.systems, (s) => s.name, 'system', 'systems', at);
  const roles = uniqueNames(entries.roles, (r) => r.name, 'role', 'roles', at);
  uniqueNames(entries.rules, (r) => r.name, 'rule', 'rules', at);
  const entitlements = uniqueNames(entries.entitlements, (e) => `${e.system}:${e.name}`, 'entitlement', 'entitlements', at);

  for (const entry of entries.systems) {
    const { type, settings } = entry.value.connector;
    if (type === 'scim') {
      // Caught at load, with the line, rather than when the first request would carry the token.
      const key = 'base_url' in settings ? 'base_url' : 'baseUrl';
      const url = settings[key];
      const allowed = (settings.allow_insecure_http ?? settings.allowInsecureHttp) === true;
      const refusal = typeof url === 'string' ? insecureHttpRefusal(url, allowed) : null;
      if (refusal) at(entry, 'systems', ['connector', 'settings', key], refusal);
    }
    const account = entry.value.account;
    if (account.name !== null) {
      for (const p of templateProblems(account.name)) at(entry, 'systems', ['account', 'name'], p);
    }
    for (const [attribute, template] of Object.entries(account.attributes)) {
      for (const p of templateProblems(template)) at(entry, 'systems', ['account', 'attributes', attribute], p);
    }
  }
  for (const entry of entries.entitlements) {
    if (!systems.has(entry.value.system)) at(entry, 'entitlements', ['system'], `unknown system "${entry.value.system}"`);
    const { name, displayName, template } = entry.value;
    for (const p of templateProblems(name)) at(entry, 'entitlements', ['name'], `entitlement template: ${p}`);
    if (template) {
      if (systems.get(entry.value.system)?.value.connector.type === 'manual') {
        at(entry, 'entitlements', ['name'], `entitlement templates need a system whose connector creates and grants groups; "${entry.value.system}" is manual`);
      }
      if (displayName !== name) for (const p of templateProblems(displayName)) at(entry, 'entitlements', ['display_name'], p);
      if (template.description !== null) for (const p of templateProblems(template.description)) at(entry, 'entitlements', ['description'], p);
    }
  }
  const entitlementProblem = (system: string, entitlement: string): string | null => {
    if (!systems.has(system)) return `unknown system "${system}"`;
    if (!entitlements.has(`${system}:${entitlement}`)) return `unknown entitlement "${entitlement}" in system "${system}"`;
    return null;
  };
  for (const entry of entries.roles) {
    entry.value.inducements.forEach((inducement, i) => {
      if (inducement.type === 'role') {
        if (!roles.has(inducement.role)) at(entry, 'roles', ['inducements', i, 'role'], `unknown role "${inducement.role}"`);
      } else {
        const p = entitlementProblem(inducement.system, inducement.entitlement);
        if (p) at(entry, 'roles', ['inducements', i, 'entitlement'], p);
      }
    });
  }
  for (const entry of entries.rules) {
    entry.value.grant.roles.forEach((role, i) => {
      if (!roles.has(role)) at(entry, 'rules', ['grant', 'roles', i], `unknown role "${role}"`);
    });
    entry.value.grant.entitlements.forEach((ref, i) => {
      const p = entitlementProblem(ref.system, ref.entitlement);
      if (p) at(entry, 'rules', ['grant', 'entitlements', i], p);
    });
  }
  uniqueNames(entries.sod, (r) => r.name, 'SoD rule', 'sod', at);
  for (const entry of entries.sod) {
    entry.value.sides.forEach((side, s) => {
      side.roles.forEach((role, i) => {
        if (!roles.has(role)) at(entry, 'sod', ['conflict', s, 'roles', i], `unknown role "${role}"`);
      });
      side.entitlements.forEach((ref, i) => {
        const p = entitlementProblem(ref.system, ref.entitlement);
        if (p) at(entry, 'sod', ['conflict', s, 'entitlements', i], p);
      });
      side.patterns.forEach((ref, i) => {
        if (!systems.has(ref.system)) at(entry, 'sod', ['conflict', s, 'patterns', i], `unknown system "${ref.system}"`);
      });
    });
  }
  uniqueNames(entries.profiles ?? [], (p) => p.name, 'profile', 'profiles', at);
  for (const entry of entries.profiles ?? []) {
    entry.value.roles.forEach((role, i) => {
      if (!roles.has(role)) at(entry, 'profiles', ['roles', i], `unknown role "${role}"`);
    });
  }
  for (const cycle of roleCycles(entries.roles)) {
    at(cycle.entry, 'roles', ['inducements', cycle.inducement, 'role'], `role inducement cycle: ${cycle.names.join(' → ')}`);
  }
  return problems;
}

function uniqueNames<T>(
  items: readonly Entry<T>[],
  nameOf: (value: T) => string,
  noun: string,
  collection: string,
  at: (entry: Entry<unknown>, collection: string, rest: PathSegment[], message: string) => void,
): Map<string, Entry<T>> {
  const seen = new Map<string, Entry<T>>();
  for (const entry of items) {
    const name = nameOf(entry.value);
    const first = seen.get(name);
    if (first) at(entry, collection, ['name'], `duplicate ${noun} "${name}" (first defined in ${first.file})`);
    else seen.set(name, entry);
  }
  return seen;
}

interface Cycle {
  readonly entry: Entry<RoleDef>;
  /** Index of the inducement that closes the cycle. */
  readonly inducement: number;
  /** Role names along the cycle, first repeated at the end. */
  readonly names: readonly string[];
}

/** Each distinct role inducement cycle once, found by depth-first search. */
export function roleCycles(roles: readonly Entry<RoleDef>[]): Cycle[] {
  const byName = new Map(roles.map((entry) => [entry.value.name, entry]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: Cycle[] = [];
  const reported = new Set<string>();

  const visit = (name: string): void => {
    const entry = byName.get(name);
    if (!entry) return;
    state.set(name, 'open');
    stack.push(name);
    entry.value.inducements.forEach((inducement, i) => {
      if (inducement.type !== 'role') return;
      const next = inducement.role;
      if (state.get(next) === 'open') {
        const names = [...stack.slice(stack.indexOf(next)), next];
        const id = [...new Set(names)].sort().join('\u0000');
        if (!reported.has(id)) {
          reported.add(id);
          cycles.push({ entry, inducement: i, names });
        }
      } else if (!state.has(next)) {
        visit(next);
      }
    });
    stack.pop();
    state.set(name, 'done');
  };
  for (const entry of roles) if (!state.has(entry.value.name)) visit(entry.value.name);
  return cycles;
}
