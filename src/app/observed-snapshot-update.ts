/**
 * A confirmed change is a fact about the system: the read-back just saw it.
 * Writing it into the observed snapshot (and, for credentials, into jml's
 * inventory) in the transaction that records the confirmation keeps the plan
 * honest between reconcile runs: `jml plan` right after `jml apply` proposes
 * nothing it has just done. The next reconcile replaces the snapshot with what
 * the system reports, as before.
 *
 * A system never reconciled gets a snapshot holding only what apply confirmed
 * (a run marked `origin: apply`); a plan without any snapshot assumes the
 * system holds nothing, so this never hides an account the plan would act on.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Change } from '../domain/change.ts';
import type { Policy } from '../domain/policy.ts';
import type { SodViolation } from '../engine/sod.ts';
import { bulkInsert } from '../store/bulk-write.ts';
import type { Database } from '../store/database.ts';
import { resolveFixedFindings } from './finding-resolution.ts';
import { latestRuns } from './observed-snapshot.ts';
import { openSodFindingsCreatedBy, resolveSodFindingsFixedBy } from './sod-findings.ts';
import { reclaimSeatsFreedBy } from './assets/licence-seats.ts';
import { byteOrder } from '../store/byte-order.ts';

type Db = Kysely<Database>;
type AttributeValue = string | readonly string[] | null;

const ACCOUNT_KINDS: readonly Change['kind'][] = [
  'create_account', 'enable_account', 'disable_account', 'delete_account', 'update_attributes', 'add_grant', 'remove_grant',
];

/**
 * Who confirmed, when, and the account id the read-back saw (after a rename:
 * the new one). With the policy in force, a confirmed grant is judged by its
 * SoD rules at once.
 */
type ConfirmationContext = { readonly accountId: string | null; readonly actor: string; readonly at: Date; readonly policy?: Policy };

/**
 * Records a change that read back as holding: in the observed snapshot, by
 * resolving the findings it fixed (src/app/finding-resolution.ts), by
 * reclaiming the licence seats it freed (src/app/assets/licence-seats.ts) and,
 * with a policy, by opening the SoD violations a grant created. Call it inside
 * the transaction that records the confirmation, with its handle; it returns
 * the violations opened, to alert on after commit.
 * @example
 * await db.transaction().execute(async (trx) => {
 *   await updateChange(trx, planId, change, { state: 'confirmed', accountId }, at);
 *   await recordConfirmedChange(trx, change, { accountId, actor: 'cli:alice', at });
 * });
 */
export async function recordConfirmedChange(trx: Db, change: Change, context: ConfirmationContext): Promise<readonly SodViolation[]> {
  await recordInSnapshot(trx, change, context);
  await resolveFixedFindings(trx, change, context);
  await resolveSodFindingsFixedBy(trx, change, context.at, context.actor);
  await reclaimSeatsFreedBy(trx, change, context);
  return context.policy ? openSodFindingsCreatedBy(trx, context.policy, change, context.at, context.actor) : [];
}

/**
 * `recordConfirmedChange` for the changes one batch confirmed, in the
 * transaction that records them. Account creations and grants into a system
 * that has a snapshot (the bulk of a first provisioning) are written with one
 * statement each; findings are looked at only for identities and accounts
 * that have open ones; everything else goes change by change.
 */
export async function recordConfirmedChanges(trx: Db, items: readonly { readonly change: Change; readonly accountId: string | null }[], context: Omit<ConfirmationContext, 'accountId'>): Promise<readonly SodViolation[]> {
  if (items.length === 0) return [];
  if (items.length === 1) return recordConfirmedChange(trx, items[0]!.change, { ...context, accountId: items[0]!.accountId });
  const creating = [...new Set(items.filter((i) => i.change.kind === 'create_account' && i.change.system !== null).map((i) => i.change.system!))];
  for (const system of creating) await snapshotRun(trx, system, context);
  const runs = await latestRuns(trx, [...new Set(items.map((i) => i.change.system).filter((s): s is string => s !== null))]);
  const accounts: Record<string, unknown>[] = [];
  const grants: { run: string; account: string; system: string; entitlement: string }[] = [];
  for (const { change, accountId } of items) {
    const run = change.system === null ? undefined : runs.get(change.system)?.runId;
    // Where the account is known without a lookup and does not move (no rename to follow).
    const at = accountId ?? change.accountId ?? null;
    const simple = run !== undefined && at !== null && (change.accountId === undefined || change.accountId === at);
    if (simple && change.kind === 'create_account') {
      const { name, ...attributes } = change.attributes ?? {};
      accounts.push({
        run_id: run, account_id: at, system: change.system, name: typeof name === 'string' && name !== '' ? name : change.identityKey, enabled: true,
        attributes, last_login_at: null, identity_key: change.identityKey, situation: 'linked',
      });
    } else if (simple && change.kind === 'add_grant' && change.entitlement) {
      grants.push({ run, account: at, system: change.system!, entitlement: change.entitlement });
    } else {
      await recordInSnapshot(trx, change, { ...context, accountId });
    }
  }
  await bulkInsert(trx, 'observed_accounts', OBSERVED_ACCOUNT_COLUMNS, accounts, { upsert: { conflict: ['run_id', 'account_id'], update: ['enabled', 'identity_key', 'situation'] } });
  if (grants.length > 0) {
    // As one at a time: a grant is recorded on an account the snapshot holds.
    await sql`
      INSERT INTO observed_grants (run_id, account_id, system, entitlement)
      SELECT g.run_id, g.account_id, g.system, g.entitlement
      FROM unnest(${grants.map((g) => g.run)}::text[], ${grants.map((g) => g.account)}::text[], ${grants.map((g) => g.system)}::text[], ${grants.map((g) => g.entitlement)}::text[])
        AS g(run_id, account_id, system, entitlement)
      WHERE EXISTS (SELECT 1 FROM observed_accounts oa WHERE oa.run_id = g.run_id AND oa.account_id = g.account_id)
      ON CONFLICT (run_id, account_id, entitlement) DO NOTHING`.execute(trx);
  }
  const open = await openFindingTargets(trx, items);
  for (const { change, accountId } of items) {
    if (!open.has(change.identityKey) && !(accountId !== null && open.has(accountId)) && !(change.accountId !== undefined && open.has(change.accountId))) continue;
    await resolveFixedFindings(trx, change, { ...context, accountId });
    await resolveSodFindingsFixedBy(trx, change, context.at, context.actor);
  }
  // As recordConfirmedChange does for one: seats the changes freed, and SoD violations the grants created.
  const violations: SodViolation[] = [];
  for (const { change, accountId } of items) {
    await reclaimSeatsFreedBy(trx, change, { ...context, accountId });
    if (context.policy) violations.push(...(await openSodFindingsCreatedBy(trx, context.policy, change, context.at, context.actor)));
  }
  return violations;
}

const OBSERVED_ACCOUNT_COLUMNS = {
  run_id: 'text', account_id: 'text', system: 'text', name: 'text', enabled: 'boolean', attributes: 'jsonb', last_login_at: 'text', identity_key: 'text', situation: 'text',
} as const;

/** The identity keys and account ids among `items` that open findings name: only their changes can resolve one. */
async function openFindingTargets(trx: Db, items: readonly { readonly change: Change; readonly accountId: string | null }[]): Promise<Set<string>> {
  const keys = [...new Set(items.map((i) => i.change.identityKey))];
  const accounts = [...new Set(items.flatMap((i) => [i.accountId, i.change.accountId]).filter((a): a is string => typeof a === 'string'))];
  const rows = await trx
    .selectFrom('findings')
    .select(['identity_key', 'account_id'])
    .where('state', '=', 'open')
    .where((eb) => eb.or([eb('identity_key', 'in', keys), ...(accounts.length > 0 ? [eb('account_id', 'in', accounts)] : [])]))
    .execute();
  return new Set(rows.flatMap((r) => [r.identity_key, r.account_id]).filter((v): v is string => v !== null));
}

/** The system's latest snapshot run; for a system never reconciled, one started for what apply confirms. */
async function snapshotRun(trx: Db, system: string, context: Omit<ConfirmationContext, 'accountId'>): Promise<string> {
  const run = (await latestRuns(trx, [system])).get(system)?.runId;
  if (run !== undefined) return run;
  // Two confirmations must not both create the system's first snapshot: one at a time, then look again.
  await sql`select pg_advisory_xact_lock(hashtext(${`jml:observed:${system}`}))`.execute(trx);
  return (await latestRuns(trx, [system])).get(system)?.runId ?? startAppliedRun(trx, system, context.actor, context.at);
}

async function recordInSnapshot(trx: Db, change: Change, context: ConfirmationContext): Promise<void> {
  if (change.kind === 'revoke_credential' || change.kind === 'rotate_credential') return recordCredential(trx, change, context.at);
  if (change.kind === 'create_group' || change.kind === 'delete_group') return recordGroup(trx, change);
  if (change.system === null || !ACCOUNT_KINDS.includes(change.kind)) return;
  const system = change.system;
  let run = (await latestRuns(trx, [system])).get(system)?.runId;
  if (run === undefined) {
    if (change.kind !== 'create_account') return;
    run = await snapshotRun(trx, system, context);
  }
  // The plan's account id is where the snapshot holds the account; the read-back's is where it is now.
  // They differ when the change moved it (a rename, a disable that moves the entry to another OU).
  const plannedId = change.accountId ?? context.accountId ?? (await accountOf(trx, run, change.identityKey));
  if (plannedId === null) return;
  const accountId = context.accountId ?? plannedId;
  if (accountId !== plannedId && change.kind !== 'create_account') await followAccount(trx, run, plannedId, accountId);
  const account = { run_id: run, account_id: accountId };

  switch (change.kind) {
    case 'create_account': {
      const { name, ...attributes } = change.attributes ?? {};
      await trx
        .insertInto('observed_accounts')
        .values({
          ...account, system, name: typeof name === 'string' && name !== '' ? name : change.identityKey, enabled: true,
          attributes: JSON.stringify(attributes), last_login_at: null, identity_key: change.identityKey, situation: 'linked',
        })
        .onConflict((oc) => oc.columns(['run_id', 'account_id']).doUpdateSet({ enabled: true, identity_key: change.identityKey, situation: 'linked' }))
        .execute();
      return;
    }
    case 'enable_account':
    case 'disable_account':
      await trx.updateTable('observed_accounts').set({ enabled: change.kind === 'enable_account' }).where('run_id', '=', run).where('account_id', '=', accountId).execute();
      return;
    case 'delete_account':
      await trx.deleteFrom('observed_grants').where('run_id', '=', run).where('account_id', '=', accountId).execute();
      await trx.deleteFrom('observed_accounts').where('run_id', '=', run).where('account_id', '=', accountId).execute();
      return;
    case 'update_attributes': {
      const row = await trx.selectFrom('observed_accounts').select(['name', 'attributes']).where('run_id', '=', run).where('account_id', '=', accountId).executeTakeFirst();
      if (!row) return;
      const attributes: Record<string, AttributeValue> = { ...row.attributes };
      let name = row.name;
      for (const [key, value] of Object.entries(change.attributes ?? {})) {
        if (key === 'name') name = typeof value === 'string' && value !== '' ? value : name;
        else if (value === null) delete attributes[key];
        else attributes[key] = value;
      }
      await trx.updateTable('observed_accounts').set({ name, attributes: JSON.stringify(attributes) }).where('run_id', '=', run).where('account_id', '=', accountId).execute();
      return;
    }
    case 'add_grant': {
      const exists = await trx.selectFrom('observed_accounts').select('account_id').where('run_id', '=', run).where('account_id', '=', accountId).executeTakeFirst();
      if (!exists || !change.entitlement) return;
      await trx
        .insertInto('observed_grants')
        .values({ ...account, system, entitlement: change.entitlement })
        .onConflict((oc) => oc.columns(['run_id', 'account_id', 'entitlement']).doNothing())
        .execute();
      return;
    }
    case 'remove_grant':
      if (!change.entitlement) return;
      await trx.deleteFrom('observed_grants').where('run_id', '=', run).where('account_id', '=', accountId).where('entitlement', '=', change.entitlement).execute();
      return;
    default:
      return;
  }
}

/**
 * Moves an account's snapshot row and its grants to the id the system reports
 * after the change. When the snapshot already holds the new id (a reconcile saw
 * it), that row stands and the stale one goes.
 */
async function followAccount(trx: Db, runId: string, from: string, to: string): Promise<void> {
  const taken = await trx.selectFrom('observed_accounts').select('account_id').where('run_id', '=', runId).where('account_id', '=', to).executeTakeFirst();
  if (taken) {
    await trx.deleteFrom('observed_grants').where('run_id', '=', runId).where('account_id', '=', from).execute();
    await trx.deleteFrom('observed_accounts').where('run_id', '=', runId).where('account_id', '=', from).execute();
    return;
  }
  await trx.updateTable('observed_accounts').set({ account_id: to }).where('run_id', '=', runId).where('account_id', '=', from).execute();
  await trx.updateTable('observed_grants').set({ account_id: to }).where('run_id', '=', runId).where('account_id', '=', from).execute();
}

/** jml's credential inventory follows a confirmed revocation or rotation, as the plan reads it. */
async function recordCredential(trx: Db, change: Change, at: Date): Promise<void> {
  if (!change.credentialId) return;
  const update = change.kind === 'revoke_credential' ? { status: 'revoked' } : { last_rotated_at: at.toISOString() };
  await trx.updateTable('credentials').set(update).where('id', '=', change.credentialId).execute();
}

/** The identity's account in the snapshot, as connectors target it by identity key: an enabled one first. */
async function accountOf(trx: Db, runId: string, identityKey: string): Promise<string | null> {
  const row = await trx
    .selectFrom('observed_accounts')
    .select('account_id')
    .where('run_id', '=', runId)
    .where('identity_key', '=', identityKey)
    .where('situation', 'in', ['linked', 'unlinked'])
    .orderBy('enabled', 'desc')
    .orderBy(byteOrder('account_id'))
    .executeTakeFirst();
  return row?.account_id ?? null;
}

async function startAppliedRun(trx: Db, system: string, actor: string, at: Date): Promise<string> {
  const id = `rec-applied-${randomUUID()}`;
  const when = at.toISOString();
  await trx
    .insertInto('reconcile_runs')
    .values({
      id, system, status: 'completed', phase: 'done', cursor: null, pages: 0, summary: JSON.stringify({ origin: 'apply' }),
      error: null, actor, started_at: when, updated_at: when, finished_at: when,
    })
    .execute();
  return id;
}

/** A group jml created or deleted, in the system's latest snapshot, so the next plan neither creates nor deletes it again. */
async function recordGroup(trx: Db, change: Change): Promise<void> {
  if (change.system === null || !change.entitlement) return;
  const run = (await latestRuns(trx, [change.system])).get(change.system)?.runId;
  if (run === undefined) return;
  if (change.kind === 'delete_group') {
    await trx.deleteFrom('observed_entitlements').where('run_id', '=', run).where('entitlement', '=', change.entitlement).execute();
    return;
  }
  const description = change.attributes?.description;
  await trx
    .insertInto('observed_entitlements')
    .values({ run_id: run, system: change.system, entitlement: change.entitlement, display_name: typeof description === 'string' ? description : change.entitlement, type: 'group' })
    .onConflict((oc) => oc.columns(['run_id', 'entitlement']).doNothing())
    .execute();
}
