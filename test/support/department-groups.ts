/**
 * Groups that follow attributes, end to end against a real peer: a policy
 * whose rule grants `dept-{department|lower}` in one system, the engine's plan
 * from what the connector lists, and every change applied and read back in
 * plan order, as the executor would. `lower` keeps the department's commas,
 * ampersands and plus signs in the group name, so the connector's escaping is
 * what keeps `R&D, Europe` one group.
 */
import assert from 'node:assert/strict';
import { withAttributeMapping, attributeMappingFor } from '../../src/app/connector-attribute-adapter.ts';
import type { Connector } from '../../src/connectors/connector.ts';
import { walkAll } from '../../src/connectors/conformance/conformance-suite.ts';
import type { Change, Plan } from '../../src/domain/change.ts';
import type { Identity } from '../../src/domain/identity.ts';
import type { Policy, SystemDef } from '../../src/domain/policy.ts';
import { plan } from '../../src/engine/index.ts';
import type { ObservedSystem } from '../../src/engine/index.ts';

export const DEPARTMENT_TEMPLATE = 'dept-{department|lower}';

/** One system holding department groups jml creates; `account` is the system's account template. */
export function departmentPolicy(system: string, type: string, account: SystemDef['account'], correlation: SystemDef['correlation']): Policy {
  return {
    systems: [{
      name: system, connector: { type, settings: {} }, owner: 'OWNER', criticality: 'medium', enforcement: 'full',
      leaver: { action: 'disable', deleteAfterDays: 90 }, correlation, account, identityProvider: false, sessions: false,
      orphans: { disableAfterDays: 7 }, credentials: { onDisable: 'keep', onEnable: 'keep' },
    }],
    entitlements: [{
      system, name: DEPARTMENT_TEMPLATE, displayName: 'Department {department}', privileged: false, maxDurationDays: null,
      template: { createMissing: true, removeEmpty: false, description: 'Members of {department}' },
    }],
    roles: [],
    rules: [{ name: 'department-group', description: '', when: { exists: 'department' }, grant: { roles: [], entitlements: [{ system, entitlement: DEPARTMENT_TEMPLATE }] } }],
    approvals: [],
  };
}

export function employee(key: string, department: string | null, attributes: Record<string, string> = {}): Identity {
  return {
    key, kind: 'employee', status: 'active', source: 'hr', startDate: '2026-01-01', endDate: null, owner: null, sponsor: null,
    attributes: { first_name: 'Dana', last_name: key, department, ...attributes },
  };
}

/** What the connector holds now, as reconcile would read it. */
export async function observe(connector: Connector, system: string): Promise<ObservedSystem> {
  const [accounts, grants, entitlements] = await Promise.all([
    walkAll(connector, 'accounts', 200), walkAll(connector, 'grants', 200), walkAll(connector, 'entitlements', 200),
  ]);
  return { system, accounts: accounts.items, grants: grants.items, entitlements: entitlements.items.map((e) => e.entitlement) };
}

/**
 * Plans for `identities` against what `connector` holds, then applies every
 * change in plan order (dependencies come first in it), asserting each is done
 * and reads back as holding. Returns the plan.
 */
export async function planAndApply(raw: Connector, connectorType: string, policy: Policy, identities: readonly Identity[]): Promise<Plan> {
  const system = policy.systems[0]!.name;
  const connector = withAttributeMapping(raw, attributeMappingFor(connectorType, {}));
  const computed = plan({
    identities, policy, assignments: [], observed: [await observe(raw, system)], previouslyAssigned: [], credentials: [], now: '2026-06-15T09:00:00Z',
  });
  const done = new Set<string>();
  for (const change of computed.changes) {
    assert.ok(change.dependsOn.every((id) => done.has(id)), `${change.kind} ${change.entitlement ?? ''} comes after what it depends on`);
    const outcome = await connector.apply!(change);
    assert.equal(outcome.status, 'done', `${describe(change)}: ${JSON.stringify(outcome)}`);
    assert.equal((await connector.readBack(change)).holds, true, `${describe(change)} reads back`);
    done.add(change.id);
  }
  return computed;
}

/** The plan's changes as `kind entitlement` lines, for the identities given. */
export function changeLines(p: Plan, ...identityKeys: string[]): string[] {
  return p.changes.filter((c) => identityKeys.includes(c.identityKey)).map(describe);
}

function describe(change: Change): string {
  return `${change.kind} ${change.entitlement ?? ''}`.trim();
}
