/**
 * The mass-change guard (DESIGN.md safety rule 1): an import whose leavers
 * exceed max(minimum, percent % of the source's live identities) is held until
 * a person releases it. A broken export that drops half the company must not
 * disable half the company.
 */
import type { DiffResult, KnownIdentity } from '../sources/snapshot-diff.ts';

export interface MassChangeVerdict {
  readonly leavers: number;
  readonly active: number;
  readonly threshold: number;
  readonly exceeded: boolean;
  readonly message: string;
}

export function massChangeVerdict(
  diff: DiffResult,
  identities: ReadonlyMap<string, KnownIdentity>,
  source: string,
  settings: { readonly minimum: number; readonly percent: number },
): MassChangeVerdict {
  let active = 0;
  for (const identity of identities.values()) {
    if (identity.source === source && (identity.status === 'active' || identity.status === 'suspended')) active += 1;
  }
  const leaving = new Set<string>();
  for (const e of diff.events) {
    // Only identities that are live now can leave en masse; a joiner's own contract end is not a mass change.
    const status = identities.get(e.identityKey)?.status;
    if (e.type === 'leaver' && (status === 'active' || status === 'suspended')) leaving.add(e.identityKey);
  }
  const threshold = Math.max(settings.minimum, Math.floor((active * settings.percent) / 100));
  const leavers = leaving.size;
  const exceeded = leavers > threshold;
  const message = exceeded
    ? `held: ${leavers} of ${active} active identities from ${source} would leave, more than the limit of ${threshold} (max(${settings.minimum}, ${settings.percent}%)); check the file, then re-run with --allow-mass-change to release it`
    : `${leavers} leavers, within the limit of ${threshold}`;
  return { leavers, active, threshold, exceeded, message };
}
