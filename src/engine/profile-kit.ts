/**
 * Profiles per user type: which one an identity has, the birthright roles it
 * brings (as rules, so the desired state has one source), and the kit of
 * equipment it calls for compared with what the identity holds.
 *
 * An identity has the first profile, in file order, whose condition it meets.
 * A joiner (pending or active) gets an allocation task for each kit item it
 * does not hold, due the day before the start date (or today once started). A
 * mover whose profile changed gets the difference: the new items to issue, and
 * a return of anything held in a category that profiles manage but the new kit
 * does not call for. Categories no profile names (a monitor, a headset) are
 * left alone. A leaver's returns come from the leaver order (collect_asset).
 */
import type { Change } from '../domain/change.ts';
import type { Identity } from '../domain/identity.ts';
import type { Condition, KitItem, ProfileDef, RuleDef } from '../domain/policy.ts';
import { stableId } from './canonical-hash.ts';
import { compileCondition, type Predicate } from './condition.ts';
import type { HeldAsset } from './identity-changes.ts';
import { addDays } from './org-calendar.ts';

const compiled = new WeakMap<readonly ProfileDef[], readonly Predicate[]>();

function predicates(profiles: readonly ProfileDef[]): readonly Predicate[] {
  let list = compiled.get(profiles);
  if (!list) compiled.set(profiles, (list = profiles.map((p) => compileCondition(p.when))));
  return list;
}

/** The identity's profile: the first whose condition it meets, or null. */
export function profileOf(profiles: readonly ProfileDef[], identity: Identity, today: string): ProfileDef | null {
  const list = predicates(profiles);
  const index = list.findIndex((matches) => matches(identity, { today }));
  return index < 0 ? null : profiles[index]!;
}

/**
 * Each profile's roles as a rule `profile.<name>`, whose condition also says
 * "and no earlier profile matched", so roles follow the same first match as the kit.
 * @example profileRules([{ name: 'engineer', when, kit: [], roles: ['developer'], description: '' }])[0].name // 'profile.engineer'
 */
export function profileRules(profiles: readonly ProfileDef[]): RuleDef[] {
  const rules: RuleDef[] = [];
  profiles.forEach((profile, i) => {
    if (profile.roles.length === 0) return;
    const earlier: Condition[] = profiles.slice(0, i).map((p) => p.when);
    const when: Condition = earlier.length === 0 ? profile.when : { all: [profile.when, { not: { any: earlier } }] };
    rules.push({ name: `profile.${profile.name}`, description: `birthright roles of profile ${profile.name}`, when, grant: { roles: profile.roles, entitlements: [] } });
  });
  return rules;
}

export interface KitContext {
  readonly identity: Identity;
  readonly profiles: readonly ProfileDef[];
  readonly assets: readonly HeldAsset[];
  /** YYYY-MM-DD in the organisation's time zone. */
  readonly today: string;
}

const itemText = (item: KitItem) => `${item.kind.replace(/_/g, ' ')}${item.model ? ` (${item.model})` : ''}`;

/**
 * The kit changes of one identity: `manual_task`s to issue missing items
 * (attributes `kit: issue`, `kind`, `model`, `due`) and `collect_asset`s to
 * return items its profile no longer calls for. Pure: `today` is the clock.
 */
export function kitChanges(context: KitContext): Change[] {
  const { identity, profiles, today } = context;
  if (identity.status !== 'pending' && identity.status !== 'active') return [];
  const profile = profileOf(profiles, identity, today);
  if (!profile) return [];
  const managed = new Set(profiles.flatMap((p) => p.kit.map((k) => k.kind)));
  const unmatched = [...context.assets].sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  const missing: { item: KitItem; n: number }[] = [];
  const seen = new Map<string, number>();
  for (const item of profile.kit) {
    const key = `${item.kind}\u0000${item.model ?? ''}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    const at = unmatched.findIndex((a) => a.kind === item.kind && (item.model === null || a.model === item.model));
    if (at >= 0) unmatched.splice(at, 1);
    else missing.push({ item, n });
  }
  const started = identity.startDate !== null && identity.startDate <= today;
  const due = started || identity.startDate === null ? today : maxDate(today, addDays(identity.startDate, -1));
  const changes: Change[] = missing.map(({ item, n }) => ({
    id: stableId('ch', ['manual_task', '', identity.key, `kit\u0000${item.kind}\u0000${item.model ?? ''}\u0000${n}`]),
    kind: 'manual_task',
    identityKey: identity.key,
    system: null,
    attributes: { kit: 'issue', kind: item.kind, model: item.model, due },
    reason: `profile ${profile.name}: issue ${itemText(item)}${started ? '' : ` before the start date ${identity.startDate}`}`,
    dependsOn: [],
  }));
  for (const asset of unmatched) {
    if (asset.kind === undefined || !managed.has(asset.kind)) continue;
    changes.push({
      id: stableId('ch', ['collect_asset', '', identity.key, asset.tag]),
      kind: 'collect_asset',
      identityKey: identity.key,
      system: null,
      assetTag: asset.tag,
      attributes: { kit: 'return', due: today },
      reason: `profile ${profile.name}: return ${asset.kind.replace(/_/g, ' ')} ${asset.tag}${asset.model ? ` (${asset.model})` : ''}, not in its kit`,
      dependsOn: [],
    });
  }
  return changes;
}

function maxDate(a: string, b: string): string {
  return a > b ? a : b;
}
