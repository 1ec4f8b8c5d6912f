/**
 * Lost or stolen, in one step, for every entry point (self-service, API,
 * CLI, the monthly check): the asset is marked and audited, a `lost_asset`
 * finding alerts security (naming a leaver's device as such), and a replan of
 * the holder is asked for. That plan — through the one executor, like any
 * other — revokes the holder's sessions where a connector can and opens a task
 * where it cannot, and revokes the credentials bound to the device (see
 * src/engine/lost-device-changes.ts). The finding's first-seen time starts the
 * clock, whose length (and the finding's severity: stolen high, lost medium
 * by default) comes from the configuration; `lostDeviceStatus` reads where
 * those steps stand.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/database.ts';
import type { AlertSink, FindingInput } from '../alert.ts';
import { reportAsset, type Asset, type AssetReport } from '../asset-register.ts';
import { SATISFIED, type ChangeState } from '../plan-record-store.ts';
import type { ReplanQueue } from '../replan-follow-up.ts';

export type FindingSeverity = NonNullable<FindingInput['severity']>;

/** The clock and severities of lost and stolen reports (configuration `assets:`). */
export interface LostDeviceSettings {
  /** Hours from the report to every revocation confirmed. */
  readonly slaHours: number;
  /** The severity of the `lost_asset` finding (and its alert) for each kind of report. */
  readonly severity: Readonly<Record<'lost' | 'stolen', FindingSeverity>>;
}

export const DEFAULT_LOST_DEVICE: LostDeviceSettings = { slaHours: 4, severity: { lost: 'medium', stolen: 'high' } };

/** The settings from the configuration file's `assets:` section. */
export function lostDeviceSettings(config: { readonly assets: { readonly lost_device_sla_hours: number; readonly severity: Readonly<Record<'lost' | 'stolen', FindingSeverity>> } }): LostDeviceSettings {
  return { slaHours: config.assets.lost_device_sla_hours, severity: { ...config.assets.severity } };
}

export interface LostDeviceDeps {
  readonly db: Kysely<Database>;
  /** Where the holder's replan is asked for; absent, the workers' next scheduled plan picks the report up. */
  readonly replan?: ReplanQueue;
  readonly alert?: AlertSink;
  /** Default DEFAULT_LOST_DEVICE. */
  readonly settings?: LostDeviceSettings;
}

/**
 * Reports an asset lost or stolen (its finding with the configured severity) and asks for its holder's replan.
 * @example await reportLostDevice({ db, replan }, { tag: 'LAP-1', status: 'stolen', by: 'E1' }, now)
 */
export async function reportLostDevice(deps: LostDeviceDeps, report: AssetReport, now: Date): Promise<{ readonly asset: Asset; readonly replanRequested: boolean }> {
  const asset = await reportAsset(deps.db, report, now, deps.alert, (deps.settings ?? DEFAULT_LOST_DEVICE).severity[report.status]);
  if (!asset.holder || !deps.replan) return { asset, replanRequested: false };
  await deps.replan.requestReplan([asset.holder], `asset ${asset.tag} reported ${asset.status}`);
  return { asset, replanRequested: true };
}

export interface LostDeviceStatus {
  readonly tag: string;
  readonly holder: string | null;
  /** `lost` or `stolen` as reported, and the severity the configuration gives it. */
  readonly report: 'lost' | 'stolen';
  readonly severity: FindingSeverity;
  readonly reportedAt: string;
  /** The report plus the configured SLA: when every revocation should be confirmed. */
  readonly dueAt: string;
  readonly slaHours: number;
  readonly state: 'complete' | 'in_progress' | 'overdue';
  readonly steps: readonly { readonly kind: string; readonly system: string | null; readonly state: string; readonly taskId: string | null }[];
}

/** Where the revocations for one open report stand, against the clock that started with the report. */
export async function lostDeviceStatus(db: Kysely<Database>, tag: string, now: Date, settings: LostDeviceSettings = DEFAULT_LOST_DEVICE): Promise<LostDeviceStatus | null> {
  const finding = await db.selectFrom('findings').select(['identity_key', 'first_seen', 'detail']).where('id', '=', `lost_asset:asset:${tag}`).executeTakeFirst();
  if (!finding) return null;
  const asset = await db.selectFrom('assets').select('status').where('tag', '=', tag).executeTakeFirst();
  // The asset's status says which report it was, unless it was found since; then the finding's own words do.
  const report: 'lost' | 'stolen' = asset?.status === 'stolen' || (asset?.status !== 'lost' && / reported stolen /.test(finding.detail)) ? 'stolen' : 'lost';
  const rows = finding.identity_key
    ? await db
        .selectFrom('plan_changes as pc')
        .innerJoin('plans as p', 'p.id', 'pc.plan_id')
        .select(['pc.change_id', 'pc.kind', 'pc.system', 'pc.state', 'pc.task_id'])
        .where('pc.identity_key', '=', finding.identity_key)
        .where('p.created_at', '>=', finding.first_seen)
        .where('pc.kind', 'in', ['revoke_sessions', 'revoke_credential'])
        .orderBy('p.created_at', 'desc')
        .execute()
    : [];
  // The newest record of each change (a replan repeats a change that is already done). Revocations the holder's
  // own leaver order planned in the same window count too: they serve the same end.
  const latest = new Map<string, (typeof rows)[number]>();
  for (const r of rows) if (!latest.has(r.change_id)) latest.set(r.change_id, r);
  const steps = [...latest.values()].map((r) => ({ kind: r.kind, system: r.system, state: r.state, taskId: r.task_id }));
  const done = steps.length > 0 && steps.every((s) => SATISFIED.includes(s.state as ChangeState));
  const due = finding.first_seen.getTime() + settings.slaHours * 3_600_000;
  return {
    tag, holder: finding.identity_key, report, severity: settings.severity[report], reportedAt: finding.first_seen.toISOString(), dueAt: new Date(due).toISOString(), slaHours: settings.slaHours,
    state: done ? 'complete' : now.getTime() > due ? 'overdue' : 'in_progress', steps,
  };
}
