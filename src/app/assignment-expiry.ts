/**
 * Time-bound access ends by itself: an active assignment whose `valid_to` has
 * passed becomes `expired`, with an audit entry, and the caller plans the
 * identities concerned so the grant is removed downstream.
 */
import type { Kysely } from 'kysely';
import { appendAudit } from '../store/audit-log.ts';
import type { Database } from '../store/database.ts';

export interface ExpiredAssignment {
  readonly id: string;
  readonly identityKey: string;
  readonly system: string;
  readonly entitlement: string;
  readonly reasonType: 'request' | 'exception';
}

/** Expires every active assignment whose validity ended at or before `now`; returns them. */
export async function expireAssignments(db: Kysely<Database>, now: Date): Promise<ExpiredAssignment[]> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .updateTable('assignments')
      .set({ state: 'expired', ended_at: now.toISOString(), ended_by: 'scheduler' })
      .where('state', '=', 'active')
      .where('valid_to', 'is not', null)
      .where('valid_to', '<=', now)
      .returning(['id', 'identity_key', 'system', 'entitlement', 'reason_type', 'valid_to'])
      .execute();
    await appendAudit(
      trx,
      rows.map((r) => ({
        actor: 'scheduler',
        action: 'assignment.expired',
        subject: r.identity_key,
        trigger: 'schedule',
        details: { assignment: r.id, system: r.system, entitlement: r.entitlement, reason: r.reason_type, validTo: r.valid_to?.toISOString() ?? null },
      })),
      now,
    );
    return rows.map((r) => ({ id: r.id, identityKey: r.identity_key, system: r.system, entitlement: r.entitlement, reasonType: r.reason_type }));
  });
}
