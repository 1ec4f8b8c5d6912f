/**
 * What a manual system holds, as far as jml knows: the fold of the changes
 * people carried out (tasks closed with evidence, and confirmed when that is
 * required), in the order they became fact. Pure.
 */
import type { Change } from '../../domain/change.ts';

type AttributeValue = string | readonly string[] | null;

export interface LedgerAccount {
  readonly identityKey: string;
  enabled: boolean;
  attributes: Record<string, AttributeValue>;
  readonly grants: Set<string>;
}

export interface ManualLedger {
  readonly accounts: Map<string, LedgerAccount>;
  /** Change ids carried out: how kinds without account state (sessions, credentials, assets) read back. */
  readonly settledChangeIds: Set<string>;
}

/** Folds settled changes, oldest first, into the system's known state. */
export function foldLedger(settled: readonly Change[]): ManualLedger {
  const accounts = new Map<string, LedgerAccount>();
  const settledChangeIds = new Set<string>();
  for (const change of settled) {
    settledChangeIds.add(change.id);
    const account = accounts.get(change.identityKey);
    switch (change.kind) {
      case 'create_account':
        if (!account) accounts.set(change.identityKey, { identityKey: change.identityKey, enabled: true, attributes: { ...change.attributes }, grants: new Set() });
        break;
      case 'delete_account':
        accounts.delete(change.identityKey);
        break;
      case 'enable_account':
      case 'disable_account':
        if (account) account.enabled = change.kind === 'enable_account';
        break;
      case 'update_attributes':
        if (account) {
          for (const [key, value] of Object.entries(change.attributes ?? {})) {
            if (value === null) delete account.attributes[key];
            else account.attributes[key] = value;
          }
        }
        break;
      case 'add_grant':
        if (account && change.entitlement) account.grants.add(change.entitlement);
        break;
      case 'remove_grant':
        if (account && change.entitlement) account.grants.delete(change.entitlement);
        break;
      default:
        break;
    }
  }
  return { accounts, settledChangeIds };
}

/** Whether the state `change` asks for holds in the ledger. */
export function holdsInLedger(ledger: ManualLedger, change: Change): boolean {
  const account = ledger.accounts.get(change.identityKey);
  switch (change.kind) {
    case 'create_account':
      return account !== undefined;
    case 'delete_account':
      return account === undefined;
    case 'enable_account':
      return account?.enabled === true;
    case 'disable_account':
      return account === undefined || !account.enabled;
    case 'update_attributes':
      return account !== undefined && Object.entries(change.attributes ?? {}).every(([k, v]) => JSON.stringify(account.attributes[k] ?? null) === JSON.stringify(v));
    case 'add_grant':
      return account?.grants.has(change.entitlement ?? '') === true;
    case 'remove_grant':
      return account === undefined || !account.grants.has(change.entitlement ?? '');
    default:
      return ledger.settledChangeIds.has(change.id);
  }
}

/** What the system owner is asked to do, in words. */
export function taskInstruction(change: Change, system: string): string {
  const who = change.accountId ? `${change.identityKey} (account ${change.accountId})` : change.identityKey;
  switch (change.kind) {
    case 'create_account': {
      const attributes = Object.entries(change.attributes ?? {}).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : v}`);
      return `Create an account in ${system} for ${who}${attributes.length ? ` with ${attributes.join(', ')}` : ''}.`;
    }
    case 'enable_account':
      return `Enable the account of ${who} in ${system}.`;
    case 'disable_account':
      return `Disable the account of ${who} in ${system}.`;
    case 'delete_account':
      return `Delete the account of ${who} in ${system}.`;
    case 'update_attributes':
      return `Update the account of ${who} in ${system}: ${Object.entries(change.attributes ?? {}).map(([k, v]) => `${k}=${v ?? '(empty)'}`).join(', ')}.`;
    case 'add_grant':
      return `Give ${who} the entitlement ${change.entitlement} in ${system}.`;
    case 'remove_grant':
      return `Remove the entitlement ${change.entitlement} from ${who} in ${system}.`;
    case 'revoke_sessions':
      return `End every session of ${who} in ${system}.`;
    case 'revoke_credential':
      return `Revoke credential ${change.credentialId} of ${who} in ${system}.`;
    case 'rotate_credential':
      return `Rotate credential ${change.credentialId} of ${who} in ${system}.`;
    case 'transfer_ownership':
      return `Transfer ownership of ${change.subjectKey} from ${who} to ${change.toOwnerKey}.`;
    case 'collect_asset':
      return `Collect asset ${change.assetTag} from ${who}.`;
    case 'manual_task':
      return `${change.reason} (${who}, ${system}).`;
    case 'create_group':
      return `Create the group ${change.entitlement} in ${system}${typeof change.attributes?.description === 'string' ? ` (description: ${change.attributes.description})` : ''}.`;
    case 'delete_group':
      return `Delete the empty group ${change.entitlement} from ${system}.`;
  }
}
