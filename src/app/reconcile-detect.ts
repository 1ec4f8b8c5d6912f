/**
 * What reconciliation concludes from one system's snapshot, as values: the
 * situation of each observed account (midPoint's linked / unlinked / unmatched
 * / disputed; `deleted` for linked accounts that disappeared) and the findings
 * the detectors raise. Pure: the caller reads the store and writes the result.
 */
import type { Account, Assignment, Situation } from '../domain/access.ts';
import type { Identity } from '../domain/identity.ts';
import type { Policy, SystemDef } from '../domain/policy.ts';
import { desired, stableId } from '../engine/index.ts';
import { identityField } from '../engine/condition.ts';
import { accountField } from '../engine/observed-index.ts';

export const FINDING_KINDS = ['orphan_account', 'disputed_account', 'leaver_account_enabled', 'out_of_policy_grant', 'missing_account', 'missing_grant'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface FindingDraft {
  readonly id: string;
  readonly kind: FindingKind;
  readonly system: string;
  readonly identityKey: string | null;
  readonly accountId: string | null;
  readonly entitlement: string | null;
  readonly detail: string;
}

export interface Correlated {
  readonly identityKey: string | null;
  readonly situation: Exclude<Situation, 'deleted'>;
  /** For disputed accounts: every identity the correlation value matches. */
  readonly candidates?: readonly string[];
}

/**
 * Correlates observed accounts of one system to identities on the system's
 * correlation rule. An account linked in the previous snapshot to an identity
 * that still exists stays `linked`; a first match is `unlinked` (it will be
 * linked from now on); no match is `unmatched`; a value two identities share
 * is `disputed` and links nobody.
 */
export function createCorrelator(system: SystemDef, identities: readonly Identity[], previousLinks: ReadonlyMap<string, string>): (account: Account) => Correlated {
  const known = new Set(identities.map((i) => i.key));
  const byValue = new Map<string, string[]>();
  for (const identity of identities) {
    const value = identityField(identity, system.correlation.identity);
    if (value === null || value === '') continue;
    const list = byValue.get(value);
    if (list) list.push(identity.key);
    else byValue.set(value, [identity.key]);
  }
  return (account) => {
    const value = accountField(account, system.correlation.account);
    const candidates = value === null || value === '' ? [] : (byValue.get(value) ?? []);
    const previous = previousLinks.get(account.accountId);
    if (previous !== undefined && known.has(previous) && (candidates.length === 0 || candidates.includes(previous))) {
      return { identityKey: previous, situation: 'linked' };
    }
    if (candidates.length === 1) return { identityKey: candidates[0]!, situation: 'unlinked' };
    if (candidates.length > 1) return { identityKey: null, situation: 'disputed', candidates };
    return { identityKey: null, situation: 'unmatched' };
  };
}

export interface ObservedAccountRow {
  readonly account: Account;
  readonly identityKey: string | null;
  readonly situation: Correlated['situation'];
  readonly grants: readonly string[];
}

export interface DetectInput {
  readonly system: SystemDef;
  readonly policy: Policy;
  readonly identities: readonly Identity[];
  readonly assignments: readonly Assignment[];
  readonly accounts: readonly ObservedAccountRow[];
  /** ISO instant. */
  readonly now: string;
  readonly timeZone: string;
}

function finding(kind: FindingKind, system: string, identityKey: string | null, accountId: string | null, entitlement: string | null, detail: string): FindingDraft {
  return { id: stableId('finding', [kind, system, identityKey ?? '', accountId ?? '', entitlement ?? '']), kind, system, identityKey, accountId, entitlement, detail };
}

/**
 * The findings of one system: orphan and disputed accounts, leavers' accounts
 * still enabled, grants nothing justifies, and desired accounts and grants
 * that are missing.
 */
export function detectFindings(input: DetectInput): FindingDraft[] {
  const { system, policy } = input;
  const name = system.name;
  const out: FindingDraft[] = [];
  const byIdentity = new Map<string, ObservedAccountRow[]>();
  for (const row of input.accounts) {
    const { account } = row;
    if (row.situation === 'unmatched') {
      // Under full enforcement a disabled orphan is what policy asks for (jml disables orphans there): nothing left to report.
      if (!account.enabled && system.enforcement === 'full') continue;
      out.push(finding('orphan_account', name, null, account.accountId, null,
        `account ${account.name} (${account.accountId}) matches no identity on ${system.correlation.account} = ${system.correlation.identity}${account.enabled ? '' : '; it is disabled'}`));
      continue;
    }
    if (row.situation === 'disputed') {
      out.push(finding('disputed_account', name, null, account.accountId, null, `account ${account.name} (${account.accountId}) matches more than one identity; settle which one owns it`));
      continue;
    }
    const list = byIdentity.get(row.identityKey!);
    if (list) list.push(row);
    else byIdentity.set(row.identityKey!, [row]);
  }
  const assignments = new Map<string, Assignment[]>();
  for (const a of input.assignments) {
    const list = assignments.get(a.identityKey);
    if (list) list.push(a);
    else assignments.set(a.identityKey, [a]);
  }
  for (const identity of input.identities) {
    const rows = byIdentity.get(identity.key) ?? [];
    if (identity.status === 'left') {
      for (const { account } of rows) {
        if (account.enabled) {
          out.push(finding('leaver_account_enabled', name, identity.key, account.accountId, null, `${identity.key} left${identity.endDate ? ` on ${identity.endDate}` : ''} but account ${account.name} is still enabled`));
        }
      }
      continue;
    }
    if (identity.status !== 'active') continue;
    const wanted = desired(identity, policy, assignments.get(identity.key) ?? [], input.now, { timeZone: input.timeZone }).entitlements.filter((d) => d.system === name);
    const wantedNames = new Set(wanted.map((d) => d.entitlement));
    const held = new Set<string>();
    for (const row of rows) {
      for (const entitlement of row.grants) {
        held.add(entitlement);
        if (!wantedNames.has(entitlement)) {
          out.push(finding('out_of_policy_grant', name, identity.key, row.account.accountId, entitlement,
            `${identity.key} holds ${name}:${entitlement} on ${row.account.name}, but no rule, request or exception gives it`));
        }
      }
    }
    if (wanted.length === 0) continue;
    if (rows.length === 0) {
      out.push(finding('missing_account', name, identity.key, null, null, `${identity.key} should have an account in ${name} (for ${wanted.map((d) => d.entitlement).join(', ')}) but has none`));
      continue;
    }
    for (const d of wanted) {
      if (!held.has(d.entitlement)) out.push(finding('missing_grant', name, identity.key, rows[0]!.account.accountId, d.entitlement, `${identity.key} should hold ${name}:${d.entitlement} but does not`));
    }
  }
  return out;
}
