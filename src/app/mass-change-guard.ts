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
  const threshold = massChangeThreshold(active, settings);
  const leavers = leaving.size;
  const exceeded = leavers > threshold;
  const message = exceeded
    ? `held: ${leavers} of ${active} active identities from ${source} would leave, more than the limit of ${threshold} (max(${settings.minimum}, ${settings.percent}%)); check the file, then re-run with --allow-mass-change to release it`
    : `${leavers} leavers, within the limit of ${threshold}`;
  return { leavers, active, threshold, exceeded, message };
}

/** The most leavers a source may produce before the guard holds: max(minimum, percent % of its live identities). */
export function massChangeThreshold(active: number, settings: { readonly minimum: number; readonly percent: number }): number {
  return Math.max(settings.minimum, Math.floor((active * settings.percent) / 100));
}

/**
 * The guard for an inbound source, which is pushed a few records at a time: a
 * push is held when its leavers together with those the source produced
 * within the window before it exceed the same threshold as a file's. Its
 * live identities are counted by the caller (the push sees only its own).
 */
export function pushMassChangeVerdict(
  diff: DiffResult,
  identities: ReadonlyMap<string, KnownIdentity>,
  source: string,
  settings: { readonly minimum: number; readonly percent: number },
  window: { readonly active: number; readonly earlierLeavers: number; readonly minutes: number },
): MassChangeVerdict {
  const leaving = new Set<string>();
  for (const e of diff.events) {
    const status = identities.get(e.identityKey)?.status;
    if (e.type === 'leaver' && (status === 'active' || status === 'suspended')) leaving.add(e.identityKey);
  }
  const threshold = massChangeThreshold(window.active, settings);
  const leavers = leaving.size + window.earlierLeavers;
  const exceeded = leaving.size > 0 && leavers > threshold;
  const message = exceeded
    ? `held: ${leavers} of ${window.active} active identities from ${source} would leave within ${window.minutes} minutes (${leaving.size} in this request), more than the limit of ${threshold} (max(${settings.minimum}, ${settings.percent}%)); a person releases it with \`jml import release\` or in the console`
    : `${leavers} leavers within ${window.minutes} minutes, within the limit of ${threshold}`;
  return { leavers, active: window.active, threshold, exceeded, message };
}
