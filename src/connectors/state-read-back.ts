/**
 * Read-back rules for connectors that hold a system's state themselves (the
 * in-memory fake, the database-backed simulated system): given how to look at
 * the state, whether what a change asks for holds. One rule set, so both agree
 * with each other and with what the conformance suite expects.
 */
import type { Change } from '../domain/change.ts';
import type { ReadBack } from './connector.ts';

type MaybePromise<T> = T | Promise<T>;

export interface StateLookups {
  /** The change's target account, found by account id or identity key. */
  readonly account: { readonly accountId: string; readonly enabled: boolean } | undefined;
  attributesHold(attributes: NonNullable<Change['attributes']>): MaybePromise<boolean>;
  grantHeld(accountId: string, entitlement: string): MaybePromise<boolean>;
  liveSessions(accountId: string): MaybePromise<number>;
  credential(credentialId: string): MaybePromise<{ readonly status: string; readonly rotations: readonly string[] } | undefined>;
  /** Whether a group (entitlement) exists: create_group and delete_group read back on it. */
  groupExists(entitlement: string): MaybePromise<boolean>;
}

/** @param what names the system in the detail of a change kind it does not carry out ("the fake"). */
export async function readBackFromState(change: Change, state: StateLookups, what: string): Promise<ReadBack> {
  const { account } = state;
  const accountId = account?.accountId;
  const with_ = (holds: boolean, detail?: string): ReadBack => ({ holds, ...(accountId ? { accountId } : {}), ...(detail ? { detail } : {}) });
  switch (change.kind) {
    case 'create_account':
      return with_(account !== undefined);
    case 'delete_account':
      return with_(account === undefined);
    case 'enable_account':
      return with_(account?.enabled === true);
    // With no account there is nothing left to sign in with, remove or revoke: the leaver's goal holds.
    case 'disable_account':
      return with_(account === undefined || !account.enabled, account ? undefined : 'no account');
    case 'update_attributes':
      return with_(account !== undefined && (await state.attributesHold(change.attributes ?? {})));
    case 'add_grant':
      return with_(account !== undefined && (await state.grantHeld(account.accountId, change.entitlement ?? '')));
    case 'remove_grant':
      return with_(account === undefined || !(await state.grantHeld(account.accountId, change.entitlement ?? '')));
    case 'revoke_sessions':
      return with_(account === undefined || (await state.liveSessions(account.accountId)) === 0);
    case 'revoke_credential': {
      const credential = await state.credential(change.credentialId ?? '');
      return with_(credential === undefined || credential.status === 'revoked');
    }
    case 'rotate_credential':
      return with_((await state.credential(change.credentialId ?? ''))?.rotations.includes(change.id) === true);
    // A group is no account's: the read-back names none.
    case 'create_group':
      return { holds: await state.groupExists(change.entitlement ?? '') };
    case 'delete_group':
      return { holds: !(await state.groupExists(change.entitlement ?? '')) };
    default:
      return with_(false, `${what} does not carry out ${change.kind}`);
  }
}
