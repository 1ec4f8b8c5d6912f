/**
 * Findings a confirmed change fixes. The read-back that confirmed the change
 * also shows the finding no longer holds (the missing grant is there, the
 * leaver's account is disabled), so the finding is resolved in the same
 * transaction, with an audit entry, instead of staying open until the next
 * reconcile. Should the system drift back, the next reconcile raises it again.
 */
import type { Kysely } from 'kysely';
import type { Change } from '../domain/change.ts';
import { JmlError } from '../domain/errors.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Database } from '../store/database.ts';
import type { FindingKind } from './reconcile-detect.ts';
import type { RiskFindingKind } from './alert.ts';

type Db = Kysely<Database>;

/** Which open findings a change that holds settles: their kind and what they must name. */
interface FixedBy {
  readonly kinds: readonly (FindingKind | RiskFindingKind)[];
  /** Match the finding's identity (findings about orphans name none). */
  readonly identity: boolean;
  /** Match the finding's account (the planned or the confirmed id). */
  readonly account: boolean;
  readonly entitlement: boolean;
}

const FIXED_BY: Partial<Record<Change['kind'], FixedBy>> = {
  create_account: { kinds: ['missing_account'], identity: true, account: false, entitlement: false },
  add_grant: { kinds: ['missing_grant'], identity: true, account: false, entitlement: true },
  remove_grant: { kinds: ['out_of_policy_grant', 'privileged_grant_outside_workflow'], identity: true, account: true, entitlement: true },
  disable_account: { kinds: ['leaver_account_enabled', 'orphan_account'], identity: false, account: true, entitlement: false },
  delete_account: { kinds: ['leaver_account_enabled', 'orphan_account', 'out_of_policy_grant', 'privileged_grant_outside_workflow'], identity: false, account: true, entitlement: false },
};

/** What a finding names, as far as matching it to a change goes. */
export interface FindingTarget {
  readonly kind: string;
  readonly system: string | null;
  readonly identityKey: string | null;
  readonly accountId: string | null;
  readonly entitlement: string | null;
}

/**
 * Whether `change`, once confirmed, settles `finding` (the same rule
 * `resolveFixedFindings` applies): the console links a finding to the plan that fixes it.
 */
export function changeFixesFinding(change: Change, finding: FindingTarget): boolean {
  const fixed = FIXED_BY[change.kind];
  if (!fixed || change.system === null || change.system !== finding.system || !(fixed.kinds as readonly string[]).includes(finding.kind)) return false;
  if (fixed.identity && change.identityKey !== finding.identityKey) return false;
  // The planned change names the account it acts on; a create_account or grant names none yet.
  if (fixed.account && (change.accountId === undefined || change.accountId !== finding.accountId)) return false;
  if (fixed.entitlement && change.entitlement !== finding.entitlement) return false;
  return true;
}

/**
 * A person resolves an open finding by hand (handled outside jml, accepted),
 * with a note, audited as `finding.resolved`. A detector that still sees the
 * problem raises it again on its next run.
 */
export async function resolveFindingByPerson(db: Db, id: string, by: { readonly actor: string; readonly note: string; readonly trigger: string }, at: Date): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await trx.updateTable('findings').set({ state: 'resolved', resolved_at: at.toISOString() }).where('id', '=', id).where('state', '=', 'open').returning(['id', 'kind', 'identity_key', 'system']).executeTakeFirst();
    if (!row) {
      const exists = await trx.selectFrom('findings').select('state').where('id', '=', id).executeTakeFirst();
      throw exists ? new JmlError('conflict', `finding ${id} is already resolved`) : new JmlError('not_found', `no finding ${id}`);
    }
    await appendAudit(trx, { actor: by.actor, action: 'finding.resolved', subject: row.identity_key ?? (row.system ? `system:${row.system}` : id), trigger: by.trigger, details: { findings: [id], kinds: [row.kind], note: by.note, byHand: true } }, at);
  });
}

/**
 * Resolves the open findings `change` fixed and audits it (`finding.resolved`).
 * Call it inside the transaction that records the confirmation. Returns the ids resolved.
 * @example
 * await resolveFixedFindings(trx, change, { accountId: 'uid=ada,ou=people,dc=corp', actor: 'cli:alice', at });
 */
export async function resolveFixedFindings(trx: Db, change: Change, context: { readonly accountId: string | null; readonly actor: string; readonly at: Date }): Promise<readonly string[]> {
  const fixed = FIXED_BY[change.kind];
  if (!fixed || change.system === null) return [];
  const accountIds = [...new Set([change.accountId, context.accountId].filter((id): id is string => typeof id === 'string'))];
  if (fixed.account && accountIds.length === 0) return [];
  if (fixed.entitlement && !change.entitlement) return [];
  let query = trx
    .updateTable('findings')
    .set({ state: 'resolved', resolved_at: context.at.toISOString() })
    .where('state', '=', 'open')
    .where('system', '=', change.system)
    .where('kind', 'in', fixed.kinds);
  if (fixed.identity) query = query.where('identity_key', '=', change.identityKey);
  if (fixed.account) query = query.where('account_id', 'in', accountIds);
  if (fixed.entitlement) query = query.where('entitlement', '=', change.entitlement!);
  const rows = await query.returning(['id', 'kind']).execute();
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id).sort();
  await appendAudit(trx, {
    actor: context.actor,
    action: 'finding.resolved',
    subject: change.identityKey,
    trigger: `change:${change.id}`,
    details: { findings: ids, kinds: [...new Set(rows.map((r) => r.kind))].sort(), change: change.id, changeKind: change.kind, system: change.system },
  }, context.at);
  return ids;
}
