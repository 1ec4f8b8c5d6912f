/**
 * Custody of an asset: check-out to a person (who then accepts it in
 * self-service), check-in back to stock or to repair, and the physical audit
 * with its cadence per category. Every change is one transaction with its
 * audit entry; the holder history is read back from those entries, so there is
 * one record of who held what, the audit trail.
 */
import type { Kysely } from 'kysely';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { Database } from '../../store/database.ts';
import { toAsset, type Asset } from '../asset-register.ts';

type Db = Kysely<Database>;
const DAY_MS = 86_400_000;
/** An audit falling due within this many days is listed as due. */
export const AUDIT_DUE_WINDOW_DAYS = 30;

async function change(db: Db, tag: string, now: Date, action: string, actor: string, edit: (asset: Asset) => Partial<Record<string, unknown>> | null, details: Record<string, unknown> = {}): Promise<Asset> {
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('assets').selectAll().where('tag', '=', tag).forUpdate().executeTakeFirst();
    if (!row) throw new JmlError('not_found', `no asset ${tag}`, { details: { tag } });
    const before = toAsset(row);
    const set = edit(before);
    if (set === null) return before;
    const updated = await trx.updateTable('assets').set({ ...set, updated_at: now.toISOString() }).where('tag', '=', tag).returningAll().executeTakeFirstOrThrow();
    const after = toAsset(updated);
    await appendAudit(trx, { actor, action, subject: `asset:${tag}`, trigger: 'custody', before, after, details }, now);
    return after;
  });
}

/**
 * Hands an asset in stock (or collected) to a person; it waits for their acceptance.
 * @example await checkOutAsset(db, { tag: 'LAP-1', to: 'E1001', actor: 'it:bob' }, now)
 */
export async function checkOutAsset(db: Db, input: { readonly tag: string; readonly to: string; readonly actor: string; readonly location?: string }, now: Date): Promise<Asset> {
  const person = await db.selectFrom('identities').select(['key', 'status']).where('key', '=', input.to).executeTakeFirst();
  if (!person) throw new JmlError('invalid_input', `to: no identity ${input.to}`);
  if (person.status === 'left') throw new JmlError('conflict', `${input.to} has left: an asset is not checked out to a leaver`);
  return change(db, input.tag, now, 'asset.checked_out', input.actor, (asset) => {
    if (asset.holder === input.to && asset.status === 'assigned') return null;
    if (asset.status !== 'in_stock' && asset.status !== 'collected') throw new JmlError('conflict', `${input.tag} is ${asset.status}${asset.holder ? ` (held by ${asset.holder})` : ''}: check it in first`);
    return { status: 'assigned', holder_key: input.to, accepted_at: null, ...(input.location ? { location: input.location } : {}) };
  });
}

/** Takes an asset back from its holder, into stock or to repair. */
export async function checkInAsset(db: Db, input: { readonly tag: string; readonly actor: string; readonly to?: 'in_stock' | 'in_repair' | 'retired'; readonly location?: string; readonly note?: string }, now: Date): Promise<Asset> {
  const to = input.to ?? 'in_stock';
  return change(db, input.tag, now, 'asset.checked_in', input.actor, (asset) => {
    if (asset.status === to && asset.holder === null) return null;
    return { status: to, holder_key: null, accepted_at: null, ...(input.location ? { location: input.location } : {}) };
  }, input.note ? { note: input.note } : {});
}

/** The holder confirms they have the asset; nobody else can accept for them. */
export async function acceptAsset(db: Db, input: { readonly tag: string; readonly by: string }, now: Date): Promise<Asset> {
  return change(db, input.tag, now, 'asset.accepted', input.by, (asset) => {
    if (asset.holder !== input.by || asset.status !== 'assigned') throw new JmlError('forbidden', `${input.tag} is not checked out to ${input.by}`);
    return asset.acceptedAt ? null : { accepted_at: now.toISOString() };
  });
}

/** Sets how often a category is physically audited. */
export async function setAuditCadence(db: Db, category: string, everyDays: number, actor: string, now: Date): Promise<void> {
  if (!Number.isInteger(everyDays) || everyDays <= 0) throw new JmlError('invalid_input', `audit cadence of ${category}: days must be a positive whole number, not ${everyDays}`);
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('asset_categories').values({ name: category, audit_every_days: everyDays }).onConflict((oc) => oc.column('name').doUpdateSet({ audit_every_days: everyDays })).execute();
    await appendAudit(trx, { actor, action: 'asset.audit_cadence_set', subject: `asset-category:${category}`, trigger: 'custody', after: { everyDays } }, now);
  });
}

/** Every category with a physical audit cadence, by name. */
export async function auditCadences(db: Db): Promise<{ readonly category: string; readonly everyDays: number }[]> {
  return (await db.selectFrom('asset_categories').selectAll().orderBy('name').execute()).map((r) => ({ category: r.name, everyDays: r.audit_every_days }));
}

/** Records that an asset was seen (and where); the next audit falls one cadence later. */
export async function recordAssetAudit(db: Db, input: { readonly tag: string; readonly actor: string; readonly location?: string }, now: Date): Promise<Asset> {
  const row = await db.selectFrom('assets').innerJoin('asset_categories as c', 'c.name', 'assets.kind').select('c.audit_every_days').where('assets.tag', '=', input.tag).executeTakeFirst();
  return change(db, input.tag, now, 'asset.audited', input.actor, () => ({
    last_audited_at: now.toISOString(),
    next_audit_at: row ? new Date(now.getTime() + row.audit_every_days * DAY_MS).toISOString() : null,
    ...(input.location ? { location: input.location } : {}),
  }));
}

export interface AuditDue {
  readonly tag: string;
  readonly kind: string;
  readonly holder: string | null;
  readonly location: string | null;
  /** Null: the category has a cadence but the asset was never audited. */
  readonly nextAuditAt: string | null;
  readonly state: 'due' | 'overdue';
}

/**
 * Assets whose physical audit is overdue (past its date, or never audited in a category with a cadence)
 * or due within `AUDIT_DUE_WINDOW_DAYS`; retired assets are left out.
 */
export async function assetAuditsDue(db: Db, now: Date): Promise<AuditDue[]> {
  const horizon = new Date(now.getTime() + AUDIT_DUE_WINDOW_DAYS * DAY_MS);
  const rows = await db
    .selectFrom('assets')
    .leftJoin('asset_categories as c', 'c.name', 'assets.kind')
    .select(['assets.tag', 'assets.kind', 'assets.holder_key', 'assets.location', 'assets.next_audit_at', 'c.audit_every_days'])
    .where('assets.status', '!=', 'retired')
    .where((eb) => eb.or([eb('assets.next_audit_at', '<=', horizon), eb.and([eb('assets.next_audit_at', 'is', null), eb('c.audit_every_days', 'is not', null)])]))
    .orderBy('assets.next_audit_at')
    .orderBy('assets.tag')
    .execute();
  return rows.map((r) => ({
    tag: r.tag, kind: r.kind, holder: r.holder_key, location: r.location,
    nextAuditAt: r.next_audit_at?.toISOString() ?? null,
    state: r.next_audit_at === null || r.next_audit_at <= now ? 'overdue' : 'due',
  }));
}

export interface AssetHistoryEntry {
  readonly at: string;
  readonly action: string;
  readonly actor: string;
  readonly holder: string | null;
  readonly status: string | null;
  readonly location: string | null;
}

/** Who held the asset, when, and every status change: its audit entries, oldest first. */
export async function assetHistory(db: Db, tag: string): Promise<AssetHistoryEntry[]> {
  const entries = await db.selectFrom('audit_log').select(['at', 'action', 'actor', 'after']).where('subject', '=', `asset:${tag}`).orderBy('seq').execute();
  return entries.map((e) => {
    const after = (e.after ?? {}) as { holder?: string | null; holder_key?: string | null; status?: string; location?: string | null };
    return { at: e.at, action: e.action, actor: e.actor, holder: after.holder ?? after.holder_key ?? null, status: after.status ?? null, location: after.location ?? null };
  });
}
