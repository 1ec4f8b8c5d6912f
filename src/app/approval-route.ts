/**
 * Which approvals a request needs, and from whom: pure, from policy and
 * identity data. The first approval policy that matches an entitlement
 * decides its stages; with none, a request needs the beneficiary's manager
 * and then the system owner. Nobody approves their own request, nor a
 * request for themselves: such an approver is replaced by their manager.
 */
import type { EntitlementRef } from '../domain/access.ts';
import { JmlError } from '../domain/errors.ts';
import type { Identity } from '../domain/identity.ts';
import type { ApprovalPolicy, ApprovalStageDef, ApproverRef, Policy } from '../domain/policy.ts';
import { compileCondition } from '../engine/condition.ts';
import { entitlementDefFor } from '../engine/compiled-policy.ts';

export interface RouteStage {
  readonly name: string;
  readonly approvers: readonly string[];
  readonly timeoutHours: number;
  readonly escalateTo: ApproverRef | null;
}

export interface RouteContext {
  readonly policy: Pick<Policy, 'approvals' | 'systems' | 'entitlements'>;
  /** Looks an identity up by key; identities that have left never approve. */
  readonly identity: (key: string) => Identity | undefined;
  /** The organisation's date (YYYY-MM-DD), for conditions. */
  readonly today: string;
}

const DEFAULT_STAGES: readonly ApprovalStageDef[] = [
  { name: 'manager', approver: { type: 'manager' }, timeoutHours: 72, escalateTo: null },
  { name: 'system_owner', approver: { type: 'system_owner' }, timeoutHours: 72, escalateTo: null },
];

function selects(selector: string, ref: EntitlementRef): boolean {
  if (selector === '*') return true;
  const [system, name] = [selector.slice(0, selector.indexOf(':')), selector.slice(selector.indexOf(':') + 1)];
  return system === ref.system && (name === '*' || name === ref.entitlement);
}

/** The approval policy deciding one entitlement for one beneficiary, if any. */
export function policyFor(ctx: RouteContext, beneficiary: Identity, ref: EntitlementRef): ApprovalPolicy | undefined {
  const privileged = entitlementDefFor(ctx.policy.entitlements, ref.system, ref.entitlement)?.privileged ?? false;
  return ctx.policy.approvals.find(
    (a) =>
      a.appliesTo === 'entitlement' &&
      a.entitlements.some((s) => selects(s, ref)) &&
      (a.privileged === null || a.privileged === privileged) &&
      (a.when === null || compileCondition(a.when)(beneficiary, { today: ctx.today })),
  );
}

/** The joiner approval policy that holds this identity's activation, if any. */
export function joinerPolicyFor(ctx: RouteContext, identity: Identity): ApprovalPolicy | undefined {
  return ctx.policy.approvals.find((a) => a.appliesTo === 'joiner' && a.when !== null && compileCondition(a.when)(identity, { today: ctx.today }));
}

/**
 * Resolves approvers for one reference, leaving out the requester, the
 * beneficiary and anyone who has left. Returns [] when nobody is left.
 */
export function resolveApprovers(ctx: RouteContext, ref: ApproverRef, beneficiary: Identity, system: string | null, exclude: readonly string[]): string[] {
  let keys: (string | null | undefined)[];
  switch (ref.type) {
    case 'manager':
      keys = [beneficiary.attributes.manager];
      break;
    case 'sponsor':
      keys = [beneficiary.sponsor];
      break;
    case 'owner':
      keys = [beneficiary.owner];
      break;
    case 'system_owner':
      keys = [ctx.policy.systems.find((s) => s.name === system)?.owner];
      break;
    case 'identities':
      keys = [...ref.keys];
      break;
  }
  const eligible = (key: string) => !exclude.includes(key) && ctx.identity(key)?.status !== 'left';
  const direct = unique(keys.filter((k): k is string => !!k));
  const chosen = direct.filter(eligible);
  if (chosen.length > 0) return chosen;
  // The approver is the requester, the beneficiary, or gone: their manager decides instead.
  return unique(direct.map((k) => ctx.identity(k)?.attributes.manager).filter((k): k is string => !!k)).filter(eligible);
}

/** The stages a request for these entitlements needs, in order, each with its approvers. */
export function approvalRoute(ctx: RouteContext, requester: string, beneficiary: Identity, refs: readonly EntitlementRef[]): RouteStage[] {
  const stages: RouteStage[] = [];
  const exclude = [requester, beneficiary.key];
  for (const ref of refs) {
    const policy = policyFor(ctx, beneficiary, ref);
    const excluded = policy?.approverOutsideChain ? [...exclude, ...managementChainOf(ctx, requester)] : exclude;
    for (const def of policy?.stages ?? DEFAULT_STAGES) stages.push(resolveStage(ctx, def, beneficiary, ref.system, excluded, policy?.approverOutsideChain === true));
  }
  // The same people asked the same question once is enough.
  const seen = new Set<string>();
  return stages.filter((s) => {
    const key = `${s.name}|${[...s.approvers].sort().join(',')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The edit approval policy that holds edits of this identity, if any. */
export function editPolicyFor(ctx: RouteContext, identity: Identity): ApprovalPolicy | undefined {
  return ctx.policy.approvals.find((a) => a.appliesTo === 'edit' && (a.when === null || compileCondition(a.when)(identity, { today: ctx.today })));
}

/** The stages an edit of `identity` by `editor` needs under an edit policy: neither of them approves it. */
export function editRoute(ctx: RouteContext, policy: ApprovalPolicy, editor: string, identity: Identity): RouteStage[] {
  return policy.stages.map((def) => resolveStage(ctx, def, identity, null, [editor, identity.key]));
}

/** `key`, their manager, that manager's manager, … as far as `ctx` knows them (a repeat ends it). */
export function managementChainOf(ctx: Pick<RouteContext, 'identity'>, key: string): string[] {
  const chain = [key];
  for (let next = ctx.identity(key)?.attributes.manager; next && !chain.includes(next); next = ctx.identity(next)?.attributes.manager) chain.push(next);
  return chain;
}

/** The stages a joiner's activation needs under a joiner policy. */
export function joinerRoute(ctx: RouteContext, policy: ApprovalPolicy, joiner: Identity): RouteStage[] {
  return policy.stages.map((def) => resolveStage(ctx, def, joiner, null, [joiner.key]));
}

function resolveStage(ctx: RouteContext, def: ApprovalStageDef, beneficiary: Identity, system: string | null, exclude: readonly string[], outsideChain = false): RouteStage {
  let approvers = resolveApprovers(ctx, def.approver, beneficiary, system, exclude);
  if (approvers.length === 0 && def.escalateTo) approvers = resolveApprovers(ctx, def.escalateTo, beneficiary, system, exclude);
  if (approvers.length === 0) {
    throw new JmlError('invalid_input', `approval stage ${def.name}${system ? ` for ${system}` : ''} has nobody who may approve a request for ${beneficiary.key} (not the requester, the beneficiary${outsideChain ? ', nor anyone in the requester’s management chain' : ''})`, {
      details: { stage: def.name, identity: beneficiary.key },
    });
  }
  return { name: def.name, approvers, timeoutHours: def.timeoutHours, escalateTo: def.escalateTo };
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
