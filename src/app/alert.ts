/**
 * Findings raised by the job machinery (parked change, quarantined system,
 * overdue leaver, dormant account, expired exception) and the alert that goes
 * with them. A finding is keyed by what it is about, so raising it again only
 * refreshes it; the alert is an audit entry plus whatever sink the process
 * was given (stderr by default; the API can forward to mail or chat).
 */
import type { Kysely } from 'kysely';
import { appendAudit } from '../store/audit-log.ts';
import type { Database } from '../store/database.ts';

/** Kinds the risk detectors raise (src/app/risk-detectors.ts). */
export type RiskFindingKind = 'privileged_grant_outside_workflow' | 'stale_credential' | 'ownerless_nhi' | 'leaver_activity' | 'self_approver';

export interface FindingInput {
  readonly kind: 'parked_change' | 'quarantined_system' | 'overdue_leaver' | 'dormant' | 'exception_review' | 'lost_asset' | 'sod_violation' | RiskFindingKind;
  readonly detail: string;
  /** How urgent; carried into the `alert.raised` audit entry (and so to the SIEM). */
  readonly severity?: 'low' | 'medium' | 'high' | 'critical';
  readonly system?: string | null;
  readonly identityKey?: string | null;
  readonly accountId?: string | null;
  readonly entitlement?: string | null;
  /** What makes this finding unique within its kind (a change id, a system, an event id). */
  readonly subject: string;
}

export interface Alert extends FindingInput {
  readonly findingId: string;
  readonly at: string;
}

export type AlertSink = (alert: Alert) => void | Promise<void>;

export const stderrAlertSink: AlertSink = (alert) => {
  process.stderr.write(`jml alert [${alert.kind}] ${alert.detail}\n`);
};

/**
 * Opens (or refreshes) a finding. When it is new or was resolved, also writes
 * an `alert.raised` audit entry and calls the sink; returns whether it alerted.
 * Given a transaction, it writes in it (and the sink hears before the commit).
 */
export async function raiseFinding(db: Kysely<Database>, finding: FindingInput, now: Date, sink?: AlertSink): Promise<boolean> {
  const id = `${finding.kind}:${finding.subject}`;
  const at = now.toISOString();
  const inTransaction = <T>(fn: (trx: Kysely<Database>) => Promise<T>) => (db.isTransaction ? fn(db) : db.transaction().execute(fn));
  const alerted = await inTransaction(async (trx) => {
    const before = await trx.selectFrom('findings').select('state').where('id', '=', id).forUpdate().executeTakeFirst();
    await trx
      .insertInto('findings')
      .values({
        id,
        kind: finding.kind,
        system: finding.system ?? null,
        identity_key: finding.identityKey ?? null,
        account_id: finding.accountId ?? null,
        entitlement: finding.entitlement ?? null,
        detail: finding.detail,
        first_seen: at,
        last_seen: at,
        state: 'open',
      })
      .onConflict((oc) => oc.column('id').doUpdateSet({ last_seen: at, detail: finding.detail, state: 'open', resolved_at: null }))
      .execute();
    if (before?.state === 'open') return false;
    await appendAudit(trx, { actor: 'jml', action: 'alert.raised', subject: finding.identityKey ?? (finding.system ? `system:${finding.system}` : id), trigger: 'job', details: { finding: id, kind: finding.kind, detail: finding.detail, ...(finding.severity ? { severity: finding.severity } : {}) } }, now);
    return true;
  });
  if (alerted && sink) await sink({ ...finding, findingId: id, at });
  return alerted;
}

/** Resolves an open finding (the system recovered, the leaver completed). */
export async function resolveFinding(db: Kysely<Database>, kind: FindingInput['kind'], subject: string, now: Date): Promise<void> {
  await db
    .updateTable('findings')
    .set({ state: 'resolved', resolved_at: now.toISOString() })
    .where('id', '=', `${kind}:${subject}`)
    .where('state', '=', 'open')
    .execute();
}
