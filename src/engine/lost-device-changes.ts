/**
 * The lost or stolen path. While an asset's report is open (its `lost_asset`
 * finding not resolved), the plan of its holder revokes their sessions in every
 * system that keeps them (policy `sessions`) and in the identity provider — the
 * apply path turns this into a task where a connector cannot do it — and
 * revokes the credentials bound to the device: those whose name carries the
 * asset's tag or serial (a device certificate, a device token, a registered
 * security key). Ids are stable per report, so planning again while the report
 * is open repeats nothing: each change reads back as already done.
 */
import type { Account } from '../domain/access.ts';
import type { Change } from '../domain/change.ts';
import type { Credential, Identity } from '../domain/identity.ts';
import { stableId } from './canonical-hash.ts';
import type { CompiledPolicy } from './compiled-policy.ts';

/** An open lost or stolen report on an asset someone held. */
export interface LostAsset {
  readonly tag: string;
  readonly serial: string | null;
  readonly holderKey: string;
  readonly status: 'lost' | 'stolen';
  /** ISO instant the report was first made: one report, one set of changes. */
  readonly reportedAt: string;
}

export interface LostDeviceContext {
  readonly compiled: CompiledPolicy;
  readonly identity: Identity;
  readonly lost: readonly LostAsset[];
  readonly accounts: readonly Account[];
  readonly credentials: readonly Credential[];
}

/** Whether a credential is bound to the device: its name carries the tag or serial (case-insensitive). */
export function boundToDevice(credential: Pick<Credential, 'name'>, asset: Pick<LostAsset, 'tag' | 'serial'>): boolean {
  const name = credential.name.toLowerCase();
  return name.includes(asset.tag.toLowerCase()) || (asset.serial !== null && asset.serial.length >= 4 && name.includes(asset.serial.toLowerCase()));
}

/**
 * The holder's session and credential revocations for each open report.
 * @example lostDeviceChanges({ compiled, identity, lost: [laptop], accounts, credentials }) // [revoke_sessions in idp, …]
 */
export function lostDeviceChanges(context: LostDeviceContext): Change[] {
  const { compiled, identity } = context;
  const changes: Change[] = [];
  const seen = new Set<string>();
  for (const asset of context.lost) {
    const why = `${asset.status} ${asset.tag}${identity.status === 'left' ? ` (holder ${identity.key} has left)` : ''}, reported ${asset.reportedAt}`;
    for (const account of context.accounts) {
      const system = compiled.systems.get(account.system);
      if (!system || system.def.enforcement === 'none' || !account.enabled) continue;
      if (!system.def.sessions && !system.def.identityProvider) continue;
      const id = stableId('ch', ['revoke_sessions', account.system, identity.key, `lost\u0000${asset.tag}\u0000${asset.reportedAt}\u0000${account.accountId}`]);
      changes.push({ id, kind: 'revoke_sessions', identityKey: identity.key, system: account.system, accountId: account.accountId, reason: `${why}: revoke sessions`, dependsOn: [] });
    }
    for (const credential of context.credentials) {
      if (credential.status !== 'active' || !boundToDevice(credential, asset)) continue;
      const system = compiled.systems.get(credential.system);
      if (!system || system.def.enforcement === 'none') continue;
      // The same id as the leaver order's revocation of this credential: one change, whichever path asks first.
      const id = stableId('ch', ['revoke_credential', credential.system, identity.key, credential.id]);
      if (seen.has(id)) continue;
      seen.add(id);
      changes.push({ id, kind: 'revoke_credential', identityKey: identity.key, system: credential.system, credentialId: credential.id, reason: `${why}: revoke ${credential.kind} "${credential.name}" bound to the device`, dependsOn: [] });
    }
  }
  return changes;
}
