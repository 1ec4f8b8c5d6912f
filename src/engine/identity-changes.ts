/**
 * The changes one identity needs, by its status at `now`:
 * - active: create or enable accounts, add desired grants, remove what the
 *   system's enforcement mode lets jml remove, keep attributes in step; an
 *   upcoming leaver (end date known, still to come) also returns its assets;
 * - suspended: disable accounts (identity provider first, then sessions), keep
 *   grants so that reactivation restores exactly what is still desired;
 * - left: the DESIGN.md leaver order, each stage depending on the one before;
 *   deletion only after the system's retention period since the end date;
 * - pending: nothing yet.
 *
 * Enforcement modes (midPoint's), as implemented here:
 * - none: jml plans nothing in the system (report only: `explain` shows drift).
 * - positive: adds desired access; never removes a grant nor deletes an account.
 *   Disabling a leaver's or suspended identity's account is not a removal and happens.
 * - relative: also removes grants it assigned itself (`previouslyAssigned`) that are
 *   no longer desired, and disables/deletes accounts it created; other access stays.
 * - full: removes every grant not justified by a current reason; an account with no
 *   desired access left is disabled, and a leaver's deleted after retention. Orphan
 *   accounts (no identity) are disabled after a grace period: see orphan-changes.ts.
 */
import type { Account } from '../domain/access.ts';
import type { Change, ChangeKind } from '../domain/change.ts';
import type { Credential, Identity } from '../domain/identity.ts';
import { defaultAccountName, renderTemplate } from './account-template.ts';
import { stableId } from './canonical-hash.ts';
import { identityField } from './condition.ts';
import { addDays } from './org-calendar.ts';
import type { CompiledPolicy, CompiledSystem } from './compiled-policy.ts';
import { describeReason, type DesiredEntry, type DesiredIndex } from './desired.ts';
import { accountField } from './observed-index.ts';

/** Equipment or a licence in an identity's custody that a leaver must return. */
export interface HeldAsset {
  readonly tag: string;
  readonly holderKey: string;
  readonly description?: string;
  /** Category (laptop, phone …) and model: what profiles' kits are matched on. */
  readonly kind?: string;
  readonly model?: string;
}

type Draft = { -readonly [K in keyof Change]: Change[K] };
type Attributes = Record<string, string | null>;

export interface IdentityPlanContext {
  readonly compiled: CompiledPolicy;
  readonly identity: Identity;
  readonly desired: DesiredIndex;
  readonly accounts: readonly Account[];
  /** Grants of one of `accounts`. */
  readonly grantsOf: (account: Account) => readonly string[];
  /** `system\0entitlement` for grants jml assigned, `system\0` for accounts jml created. */
  readonly previouslyAssigned: ReadonlySet<string>;
  readonly credentials: readonly Credential[];
  readonly assets: readonly HeldAsset[];
  /** Identities this one owns or sponsors, not themselves left. */
  readonly owned: readonly Identity[];
  readonly identityByKey: ReadonlyMap<string, Identity>;
  readonly accountsOf: (identityKey: string) => readonly Account[];
  readonly credentialsOf: (identityKey: string) => readonly Credential[];
  /** YYYY-MM-DD in the organisation's time zone. */
  readonly today: string;
}

const EMPTY = new Map<string, DesiredEntry>();

function draft(
  kind: ChangeKind,
  identityKey: string,
  system: string | null,
  target: string,
  fields: Partial<Draft>,
  reason: string,
  dependsOn: readonly string[] = [],
): Draft {
  return { id: stableId('ch', [kind, system ?? '', identityKey, target]), kind, identityKey, system, ...fields, reason, dependsOn };
}

const ids = (changes: readonly Draft[]) => changes.map((c) => c.id);

/**
 * The password step that goes with a create, enable or disable in this system (policy
 * `credentials`): a disabled account's password is scrambled; a created or re-enabled one
 * gets a new secret. So a rehire never gets back a password they knew. Orphans' disables too.
 * @example credentialOf(directory, 'disable_account') // { credential: 'scramble' }
 */
export function credentialOf(system: CompiledSystem, kind: 'create_account' | 'enable_account' | 'disable_account'): Partial<Draft> {
  const policy = system.def.credentials;
  if (kind === 'disable_account') return policy.onDisable === 'scramble' ? { credential: 'scramble' } : {};
  return policy.onEnable === 'new_secret' ? { credential: 'new_secret' } : {};
}

/** Attributes of an account jml creates; `name` is the login name. */
export function accountAttributes(system: CompiledSystem, identity: Identity): Attributes {
  const attributes: Attributes = {
    name: system.accountName ? renderTemplate(system.accountName, identity) : defaultAccountName(identity),
  };
  for (const [attribute, template] of system.accountAttributes) attributes[attribute] = renderTemplate(template, identity) || null;
  const { account, identity: field } = system.def.correlation;
  if (account === 'name') attributes.name = identityField(identity, field);
  else if (account !== 'accountId') attributes[account] = identityField(identity, field);
  return attributes;
}

/** Templated attributes (and a templated login name) that differ on an existing account. */
function attributeDrift(system: CompiledSystem, identity: Identity, account: Account): Attributes | null {
  let drift: Attributes | null = null;
  if (system.accountName) {
    const name = renderTemplate(system.accountName, identity);
    if (name && name !== account.name) (drift ??= {}).name = name;
  }
  for (const [attribute, template] of system.accountAttributes) {
    const value = renderTemplate(template, identity) || null;
    if (value !== (accountField(account, attribute) || null)) (drift ??= {})[attribute] = value;
  }
  return drift;
}

function byPreference(a: Account, b: Account): number {
  if (a.enabled !== b.enabled) return a.enabled ? -1 : 1;
  return a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0;
}

/** The changes `context.identity` needs now, with dependencies inside the set. */
export function identityChanges(context: IdentityPlanContext): Change[] {
  switch (context.identity.status) {
    case 'active': return activeChanges(context);
    case 'suspended': return offboardChanges(context, false);
    case 'left': return offboardChanges(context, true);
    case 'pending': return [];
  }
}

/**
 * The return of every asset the identity holds, due on its last day worked (the task for IT
 * carries the end date). One id per asset whether planned ahead of the leaver or in its order,
 * so a return planned before the last day is the same change once the identity has left.
 */
function returns(context: IdentityPlanContext, why: string): Draft[] {
  const { identity } = context;
  return context.assets.map((asset) =>
    draft('collect_asset', identity.key, null, asset.tag, { assetTag: asset.tag, ...(identity.endDate ? { attributes: { due: identity.endDate } } : {}) }, `${why}: collect ${asset.description ?? `asset ${asset.tag}`}`));
}

function activeChanges(context: IdentityPlanContext): Draft[] {
  const { identity, today } = context;
  const out = accessChanges(context);
  // An upcoming leaver (last day known, still to come): IT plans the returns now, due on that day.
  if (identity.endDate !== null && identity.endDate >= today) out.push(...returns(context, `upcoming leaver (last day ${identity.endDate})`));
  return out;
}

// A desired index never changes once built, and one profile's is shared by many identities:
// sort its systems, and each system's entitlement names, once.
const sortedNamesCache = new WeakMap<ReadonlyMap<string, unknown>, readonly string[]>();
function sortedNames(want: ReadonlyMap<string, unknown>): readonly string[] {
  let names = sortedNamesCache.get(want);
  if (!names) sortedNamesCache.set(want, (names = [...want.keys()].sort()));
  return names;
}

function accessChanges(context: IdentityPlanContext): Draft[] {
  const { compiled, identity, desired, previouslyAssigned: prev } = context;
  const out: Draft[] = [];
  const bySystem = new Map<string, Account[]>();
  for (const account of context.accounts) {
    const list = bySystem.get(account.system);
    if (list) list.push(account);
    else bySystem.set(account.system, [account]);
  }
  let systems = sortedNames(desired);
  let undesired: string[] | null = null;
  for (const name of bySystem.keys()) if (!desired.has(name)) (undesired ??= []).push(name);
  if (undesired) systems = [...systems, ...undesired].sort();
  for (const name of systems) {
    const system = compiled.systems.get(name);
    if (!system || system.def.enforcement === 'none') continue;
    const mode = system.def.enforcement;
    const want = desired.get(name) ?? EMPTY;
    const accounts = bySystem.get(name) ?? [];
    if (accounts.length > 1) accounts.sort(byPreference);
    const wanted = sortedNames(want);

    if (wanted.length > 0) {
      const primary = accounts[0];
      if (!primary) {
        const create = draft('create_account', identity.key, name, '', { attributes: accountAttributes(system, identity), ...credentialOf(system, 'create_account') },
          `account for desired access: ${wanted.join(', ')}`);
        out.push(create);
        for (const entitlement of wanted) {
          out.push(draft('add_grant', identity.key, name, entitlement, { entitlement }, grantReason(want, entitlement), [create.id]));
        }
        continue;
      }
      const accountId = primary.accountId;
      const held = context.grantsOf(primary);
      // Usually nothing to remove: no array is made until something is.
      let removed: string[] | null = null;
      for (const e of held) if (!want.has(e) && removable(mode, prev, name, e)) (removed ??= []).push(e);
      const removals = removed === null ? [] : removed.sort().map((entitlement) =>
        draft('remove_grant', identity.key, name, entitlement, { accountId, entitlement },
          mode === 'full' ? 'not justified by policy, a request or an exception' : 'no longer desired (assigned by jml)'));
      out.push(...removals);
      let enable: Draft | null = null;
      if (!primary.enabled) {
        // Removals first: a re-enabled account (a rehire) must not bring back old access.
        enable = draft('enable_account', identity.key, name, accountId, { accountId, ...credentialOf(system, 'enable_account') }, 'active identity with desired access', ids(removals));
        out.push(enable);
        const kept = held.filter((e) => !want.has(e) && !removable(mode, prev, name, e));
        if (kept.length > 0) {
          out.push(draft('manual_task', identity.key, name, `review-kept-grants:${accountId}`, { accountId },
            `re-enabled account still holds grants policy does not give (${kept.sort().join(', ')}); enforcement ${mode} keeps them — review`,
            [enable.id]));
        }
      }
      const drift = attributeDrift(system, identity, primary);
      if (drift) out.push(draft('update_attributes', identity.key, name, accountId, { accountId, attributes: drift }, 'identity attributes changed'));
      for (const entitlement of wanted) {
        if (held.includes(entitlement)) continue;
        out.push(draft('add_grant', identity.key, name, entitlement, { accountId, entitlement }, grantReason(want, entitlement), enable ? [enable.id] : []));
      }
      continue;
    }
    // No access desired in this system any more (a mover, or a lapsed request).
    const ownsAccount = mode === 'full' || (mode === 'relative' && prev.has(`${name}\u0000`));
    for (const account of accounts) {
      const accountId = account.accountId;
      const disable = account.enabled && ownsAccount
        ? draft('disable_account', identity.key, name, accountId, { accountId, ...credentialOf(system, 'disable_account') }, `no access desired in ${name} any more`)
        : null;
      if (disable) out.push(disable);
      for (const entitlement of context.grantsOf(account).filter((e) => removable(mode, prev, name, e)).sort()) {
        out.push(draft('remove_grant', identity.key, name, entitlement, { accountId, entitlement },
          'no longer desired', disable ? [disable.id] : []));
      }
    }
  }
  return out;
}

/** Whether enforcement `mode` lets jml remove a grant of `system`: under `relative` only one jml assigned. */
function removable(mode: string, prev: ReadonlySet<string>, system: string, entitlement: string): boolean {
  return mode === 'full' || (mode === 'relative' && prev.has(`${system}\u0000${entitlement}`));
}

/** Why an entitlement is desired, in words: each of its reasons. */
function grantReason(want: ReadonlyMap<string, DesiredEntry>, entitlement: string): string {
  return want.get(entitlement)!.reasons.map(describeReason).join('; ');
}

/** Suspension (disable only) or departure (the full leaver order). */
function offboardChanges(context: IdentityPlanContext, leaver: boolean): Draft[] {
  const { compiled, identity, previouslyAssigned: prev, today } = context;
  const why = leaver ? `leaver${identity.endDate ? ` (end date ${identity.endDate})` : ''}` : 'identity suspended';
  const identityDisabled: Draft[] = [];
  const sessions: Draft[] = [];
  const accountsDisabled: Draft[] = [];
  const grantsRemoved: Draft[] = [];
  const disableOf = new Map<Account, Draft>();

  const accounts = [...context.accounts].sort((a, b) => (a.system < b.system ? -1 : a.system > b.system ? 1 : byPreference(a, b)));
  for (const account of accounts) {
    const system = compiled.systems.get(account.system);
    if (!system || system.def.enforcement === 'none') continue;
    const { accountId, system: name } = account;
    if (account.enabled) {
      const disable = draft('disable_account', identity.key, name, accountId, { accountId, ...credentialOf(system, 'disable_account') }, why);
      disableOf.set(account, disable);
      (system.def.identityProvider ? identityDisabled : accountsDisabled).push(disable);
      if (system.def.sessions) sessions.push(draft('revoke_sessions', identity.key, name, accountId, { accountId }, why));
    }
    if (!leaver) continue;
    const mode = system.def.enforcement;
    for (const entitlement of [...context.grantsOf(account)].sort()) {
      if (mode === 'full' || (mode === 'relative' && prev.has(`${name}\u0000${entitlement}`))) {
        grantsRemoved.push(draft('remove_grant', identity.key, name, entitlement, { accountId, entitlement }, why));
      }
    }
  }
  if (!leaver) return chain([identityDisabled, sessions, accountsDisabled]);

  const credentials: Draft[] = [];
  for (const credential of context.credentials) {
    const system = compiled.systems.get(credential.system);
    if (credential.status !== 'active' || !system || system.def.enforcement === 'none') continue;
    credentials.push(draft('revoke_credential', identity.key, credential.system, credential.id, { credentialId: credential.id },
      `${why}: revoke ${credential.kind} "${credential.name}"`));
  }
  const ownership: Draft[] = [];
  for (const subject of context.owned) ownership.push(...ownershipChanges(context, subject, credentials, why));
  const assets = returns(context, why);
  const ordered = chain([identityDisabled, sessions, accountsDisabled, grantsRemoved, credentials, ownership, assets]);

  // Deletion after retention: never in positive mode; in relative mode only accounts jml created.
  if (identity.endDate !== null) {
    for (const account of accounts) {
      const def = compiled.systems.get(account.system)?.def;
      if (!def || def.leaver.action !== 'delete') continue;
      if (!(def.enforcement === 'full' || (def.enforcement === 'relative' && prev.has(`${account.system}\u0000`)))) continue;
      const due = addDays(identity.endDate, def.leaver.deleteAfterDays);
      if (today < due) continue;
      const before = [disableOf.get(account)?.id, ...grantsRemoved.filter((g) => g.accountId === account.accountId && g.system === account.system).map((g) => g.id)];
      ordered.push(draft('delete_account', identity.key, account.system, account.accountId, { accountId: account.accountId },
        `${why}: retention of ${def.leaver.deleteAfterDays} days ended ${due}`, before.filter((id): id is string => id !== undefined)));
    }
  }
  return ordered;
}

/** Each non-empty stage depends on every change of the non-empty stage before it. */
function chain(stages: readonly Draft[][]): Draft[] {
  const out: Draft[] = [];
  let previous: string[] = [];
  for (const stage of stages) {
    if (stage.length === 0) continue;
    for (const change of stage) change.dependsOn = [...new Set([...change.dependsOn, ...previous])];
    out.push(...stage);
    previous = ids(stage);
  }
  return out;
}

/**
 * A leaver's owned identity (or sponsored contractor) moves to the leaver's manager
 * when active, else to the owner of a system the subject lives in; a person confirms.
 * The subject's credentials the leaver could know are rotated unless rotated since.
 */
function ownershipChanges(context: IdentityPlanContext, subject: Identity, credentials: Draft[], why: string): Draft[] {
  const { identity, compiled } = context;
  const relation = subject.owner === identity.key ? 'owner' : 'sponsor';
  const subjectCredentials = context.credentialsOf(subject.key);
  if (relation === 'owner') {
    for (const credential of subjectCredentials) {
      const since = (credential.lastRotatedAt ?? credential.createdAt).slice(0, 10);
      if (credential.status !== 'active' || !compiled.systems.has(credential.system)) continue;
      if (identity.endDate !== null && since > identity.endDate) continue;
      credentials.push(draft('rotate_credential', subject.key, credential.system, credential.id, { credentialId: credential.id },
        `${why}: owner ${identity.key} may know ${credential.kind} "${credential.name}"`));
    }
  }
  const manager = identity.attributes.manager ? context.identityByKey.get(identity.attributes.manager) : undefined;
  let to: string | null = manager?.status === 'active' ? manager.key : null;
  let via = 'their manager';
  if (to === null) {
    const systems = [...context.accountsOf(subject.key).map((a) => a.system), ...subjectCredentials.map((c) => c.system)].sort();
    const owner = systems.map((s) => compiled.systems.get(s)?.def.owner).find((o) => o !== undefined && o !== identity.key);
    to = owner ?? null;
    via = 'the system owner';
  }
  if (to === null) {
    return [draft('manual_task', identity.key, null, `assign-${relation}:${subject.key}`, { subjectKey: subject.key },
      `${why}: ${subject.key} needs a new ${relation}; no active manager or system owner to take it`)];
  }
  const transfer = draft('transfer_ownership', identity.key, null, subject.key,
    { subjectKey: subject.key, toOwnerKey: to, attributes: { relation } }, `${why}: ${relation} of ${subject.key} moves to ${via} ${to}`);
  const confirm = draft('manual_task', identity.key, null, `confirm-${relation}:${subject.key}`, { subjectKey: subject.key, toOwnerKey: to },
    `${to} to confirm they are now ${relation} of ${subject.key}`, [transfer.id]);
  return [transfer, confirm];
}
