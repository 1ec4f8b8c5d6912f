/**
 * Findings as stored: one row per finding id (stable for the same kind,
 * system, identity, account and entitlement), open while the detector keeps
 * raising it, resolved once a run no longer does, reopened if it returns.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/database.ts';
import type { FindingDraft } from './reconcile-detect.ts';

type Db = Kysely<Database>;

export interface Finding {
  readonly id: string;
  readonly kind: string;
  readonly system: string | null;
  readonly identityKey: string | null;
  readonly accountId: string | null;
  readonly entitlement: string | null;
  readonly detail: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly state: 'open' | 'resolved';
  readonly resolvedAt: string | null;
}

export interface FindingFilter {
  readonly state?: 'open' | 'resolved';
  readonly system?: string;
  readonly kind?: string;
  readonly identityKey?: string;
}

export interface FindingSync {
  /** Raised now and not open before. */
  readonly raised: number;
  /** Open before, not raised now. */
  readonly resolved: number;
  /** Open after the sync. */
  readonly open: number;
}

/**
 * Makes the open findings of `kinds` in `system` exactly `drafts`: upserts
 * them (last_seen = at) and resolves the others. Run it in the caller's transaction.
 */
export async function syncFindings(db: Db, system: string, kinds: readonly string[], drafts: readonly FindingDraft[], at: Date): Promise<FindingSync> {
  const now = at.toISOString();
  const before = await db.selectFrom('findings').select(sql<number>`count(*)::int`.as('n')).where('system', '=', system).where('state', '=', 'open').where('kind', 'in', kinds).executeTakeFirstOrThrow();
  let reopenedOrNew = 0;
  for (let i = 0; i < drafts.length; i += 1000) {
    const rows = drafts.slice(i, i + 1000).map((d) => ({
      id: d.id, kind: d.kind, system: d.system, identity_key: d.identityKey, account_id: d.accountId, entitlement: d.entitlement,
      detail: d.detail, first_seen: now, last_seen: now, state: 'open' as const, resolved_at: null,
    }));
    const result = await db
      .insertInto('findings')
      .values(rows)
      .onConflict((oc) => oc.column('id').doUpdateSet({
        detail: (eb) => eb.ref('excluded.detail'),
        last_seen: (eb) => eb.ref('excluded.last_seen'),
        first_seen: sql`case when findings.state = 'resolved' then excluded.first_seen else findings.first_seen end`,
        state: 'open',
        resolved_at: null,
      }))
      .returning(sql<boolean>`first_seen = last_seen`.as('fresh'))
      .execute();
    reopenedOrNew += result.filter((r) => r.fresh).length;
  }
  const resolved = await db
    .updateTable('findings')
    .set({ state: 'resolved', resolved_at: now })
    .where('system', '=', system)
    .where('state', '=', 'open')
    .where('kind', 'in', kinds)
    .where('last_seen', '<', at)
    .executeTakeFirst();
  const resolvedCount = Number(resolved.numUpdatedRows);
  return { raised: reopenedOrNew, resolved: resolvedCount, open: before.n - resolvedCount + reopenedOrNew };
}

/** Findings, open first, then by system, kind and subject. */
export async function listFindings(db: Db, filter: FindingFilter = {}): Promise<Finding[]> {
  let query = db.selectFrom('findings').selectAll();
  if (filter.state) query = query.where('state', '=', filter.state);
  if (filter.system) query = query.where('system', '=', filter.system);
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  if (filter.identityKey) query = query.where('identity_key', '=', filter.identityKey);
  const rows = await query.orderBy('state').orderBy('system').orderBy('kind').orderBy('identity_key').orderBy('account_id').orderBy('entitlement').execute();
  return rows.map((r) => ({
    id: r.id, kind: r.kind, system: r.system, identityKey: r.identity_key, accountId: r.account_id, entitlement: r.entitlement,
    detail: r.detail, firstSeen: r.first_seen.toISOString(), lastSeen: r.last_seen.toISOString(), state: r.state,
    resolvedAt: r.resolved_at === null ? null : r.resolved_at.toISOString(),
  }));
}
