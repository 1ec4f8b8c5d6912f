/**
 * Dormant accounts: enabled accounts with no sign-in for N days (PCI DSS
 * 8.2.6 asks for 90). Read from the latest completed reconcile of each
 * system; an account whose system does not report sign-ins is not judged.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/database.ts';
import { raiseFinding, type AlertSink } from './alert.ts';

export interface DormantAccount {
  readonly system: string;
  readonly accountId: string;
  readonly name: string;
  readonly identityKey: string | null;
  readonly lastLoginAt: string;
  readonly idleDays: number;
}

/** Pure: which of these accounts are dormant at `now`. */
export function dormantAmong(
  accounts: readonly { system: string; accountId: string; name: string; enabled: boolean; identityKey: string | null; lastLoginAt: string | null }[],
  now: Date,
  days: number,
): DormantAccount[] {
  const out: DormantAccount[] = [];
  for (const a of accounts) {
    if (!a.enabled || !a.lastLoginAt) continue;
    const last = Date.parse(a.lastLoginAt);
    if (Number.isNaN(last)) continue;
    const idleDays = Math.floor((now.getTime() - last) / 86_400_000);
    if (idleDays >= days) out.push({ system: a.system, accountId: a.accountId, name: a.name, identityKey: a.identityKey, lastLoginAt: a.lastLoginAt, idleDays });
  }
  return out;
}

/** Raises a `dormant` finding for each dormant account; returns them. */
export async function detectDormantAccounts(db: Kysely<Database>, now: Date, days: number, sink?: AlertSink): Promise<DormantAccount[]> {
  const latest = db
    .selectFrom('reconcile_runs')
    .select((eb) => ['system', eb.fn.max('finished_at').as('finished_at')])
    .where('status', '=', 'completed')
    .groupBy('system')
    .as('latest');
  const rows = await db
    .selectFrom('observed_accounts as a')
    .innerJoin('reconcile_runs as r', 'r.id', 'a.run_id')
    .innerJoin(latest, (j) => j.onRef('latest.system', '=', 'r.system').onRef('latest.finished_at', '=', 'r.finished_at'))
    .select(['a.system', 'a.account_id', 'a.name', 'a.enabled', 'a.identity_key', 'a.last_login_at'])
    .where('a.enabled', '=', true)
    .where('a.last_login_at', 'is not', null)
    .execute();
  const dormant = dormantAmong(
    rows.map((r) => ({ system: r.system, accountId: r.account_id, name: r.name, enabled: r.enabled, identityKey: r.identity_key, lastLoginAt: r.last_login_at })),
    now,
    days,
  );
  for (const d of dormant) {
    await raiseFinding(db, { kind: 'dormant', subject: `${d.system}:${d.accountId}`, system: d.system, accountId: d.accountId, identityKey: d.identityKey, detail: `${d.name} in ${d.system} has not signed in for ${d.idleDays} days (last ${d.lastLoginAt})` }, now, sink);
  }
  return dormant;
}
