/**
 * Software licences as assets with seats. A licence has N seats; a seat is
 * assigned to an identity together with the account it is used through
 * (system + account id), never beyond N. A seat comes back when the plan
 * removes that account's access: when a disable or deletion of the account
 * (a leaver, a mover leaving the system) or the removal of the licence's own
 * entitlement is confirmed by read-back, in the same transaction that records
 * the confirmation — never on a change only planned.
 */
import type { Kysely, Selectable } from 'kysely';
import type { Change } from '../../domain/change.ts';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { Database, LicenceSeatsTable, LicencesTable } from '../../store/database.ts';
import { orderedId } from '../../store/ordered-id.ts';

type Db = Kysely<Database>;

export interface Licence {
  readonly name: string;
  readonly product: string;
  readonly manufacturer: string | null;
  readonly seats: number;
  readonly system: string | null;
  readonly entitlement: string | null;
  readonly productKey: string | null;
  readonly expiresOn: string | null;
  readonly notes: string;
}

export interface LicenceSeat {
  readonly id: string;
  readonly licence: string;
  readonly identityKey: string;
  readonly system: string;
  readonly accountId: string;
  readonly assignedAt: string;
  readonly assignedBy: string;
  readonly reclaimedAt: string | null;
  readonly reclaimedBy: string | null;
  readonly reclaimReason: string | null;
}

export interface LicenceUse extends Licence {
  readonly inUse: number;
  readonly free: number;
  /** Seats held now. */
  readonly held: readonly LicenceSeat[];
}

export type LicenceInput = Pick<Licence, 'name' | 'seats'> & Partial<Omit<Licence, 'name' | 'seats'>>;

/**
 * Creates or updates a licence. Fewer seats than are in use is refused: reclaim seats first.
 * @example await saveLicence(db, { name: 'figma-pro', seats: 10, system: 'figma' }, 'cli:alice', now)
 */
export async function saveLicence(db: Db, input: LicenceInput, actor: string, now: Date): Promise<Licence> {
  return db.transaction().execute((trx) => saveLicenceIn(trx, input, actor, now));
}

/** `saveLicence` inside the caller's transaction (an import saves every row in one). */
export async function saveLicenceIn(trx: Db, input: LicenceInput, actor: string, now: Date): Promise<Licence> {
  if (!Number.isInteger(input.seats) || input.seats < 0) throw new JmlError('invalid_input', `licence ${input.name}: seats must be a whole number of 0 or more, not ${input.seats}`);
  if (input.expiresOn != null && !/^\d{4}-\d{2}-\d{2}$/.test(input.expiresOn)) throw new JmlError('invalid_input', `licence ${input.name}: expiresOn must be YYYY-MM-DD`);
  const before = await trx.selectFrom('licences').selectAll().where('name', '=', input.name).forUpdate().executeTakeFirst();
  const inUse = await seatsInUse(trx, input.name);
  if (input.seats < inUse) throw new JmlError('conflict', `licence ${input.name} has ${inUse} seats in use; reclaim some before lowering it to ${input.seats}`);
  const row = {
    name: input.name,
    product: input.product ?? before?.product ?? '',
    manufacturer: input.manufacturer !== undefined ? input.manufacturer : (before?.manufacturer ?? null),
    seats: input.seats,
    system: input.system !== undefined ? input.system : (before?.system ?? null),
    entitlement: input.entitlement !== undefined ? input.entitlement : (before?.entitlement ?? null),
    product_key: input.productKey !== undefined ? input.productKey : (before?.product_key ?? null),
    expires_on: input.expiresOn !== undefined ? input.expiresOn : (before?.expires_on ?? null),
    notes: input.notes ?? before?.notes ?? '',
  };
  const { name: _name, ...update } = row;
  await trx.insertInto('licences').values(row).onConflict((oc) => oc.column('name').doUpdateSet(update)).execute();
  // The product key is a secret of sorts: the trail records that it changed, not its value.
  const redact = (r: typeof row | undefined) => (r ? { ...r, product_key: r.product_key ? '(set)' : null } : null);
  await appendAudit(trx, { actor, action: before ? 'licence.updated' : 'licence.added', subject: `licence:${input.name}`, trigger: 'register', before: redact(before), after: redact(row) }, now);
  return toLicence(row);
}

/**
 * Assigns a seat of `licence` to an identity's account. Refused when every seat is in use,
 * when the account already holds one, or for someone who has left.
 * @example await assignSeat(db, { licence: 'figma-pro', identityKey: 'E1', system: 'figma', accountId: 'e1@example.test', by: 'cli:alice' }, now)
 */
export async function assignSeat(db: Db, input: { readonly licence: string; readonly identityKey: string; readonly system: string; readonly accountId: string; readonly by: string }, now: Date): Promise<LicenceSeat> {
  return db.transaction().execute(async (trx) => {
    // The licence row is the lock: two assignments of the last seat are serialised here.
    const licence = await trx.selectFrom('licences').selectAll().where('name', '=', input.licence).forUpdate().executeTakeFirst();
    if (!licence) throw new JmlError('not_found', `no licence ${input.licence}`, { details: { licence: input.licence } });
    if (licence.system !== null && licence.system !== input.system) throw new JmlError('invalid_input', `licence ${input.licence} is used through ${licence.system}, not ${input.system}`);
    const identity = await trx.selectFrom('identities').select('status').where('key', '=', input.identityKey).executeTakeFirst();
    if (!identity) throw new JmlError('not_found', `no identity ${input.identityKey}`, { details: { identity: input.identityKey } });
    if (identity.status === 'left') throw new JmlError('conflict', `${input.identityKey} has left: a seat is not assigned to a leaver`);
    const held = await trx.selectFrom('licence_seats').select('identity_key').where('licence', '=', input.licence).where('system', '=', input.system).where('account_id', '=', input.accountId).where('reclaimed_at', 'is', null).executeTakeFirst();
    if (held) throw new JmlError('conflict', `account ${input.system}:${input.accountId} already holds a seat of ${input.licence}`);
    const inUse = await seatsInUse(trx, input.licence);
    if (inUse >= licence.seats) throw new JmlError('conflict', `licence ${input.licence}: all ${licence.seats} seats are in use; reclaim one or add seats`, { details: { licence: input.licence, seats: licence.seats } });
    const row = { id: `seat-${orderedId(now.getTime())}`, licence: input.licence, identity_key: input.identityKey, system: input.system, account_id: input.accountId, assigned_at: now.toISOString(), assigned_by: input.by };
    await trx.insertInto('licence_seats').values(row).execute();
    await appendAudit(trx, { actor: input.by, action: 'licence.seat_assigned', subject: `licence:${input.licence}`, trigger: 'register', after: { seat: row.id, identityKey: input.identityKey, system: input.system, accountId: input.accountId } }, now);
    return { id: row.id, licence: row.licence, identityKey: row.identity_key, system: row.system, accountId: row.account_id, assignedAt: now.toISOString(), assignedBy: row.assigned_by, reclaimedAt: null, reclaimedBy: null, reclaimReason: null };
  });
}

/**
 * Reclaims one seat by hand (IT takes a licence back).
 * @example await reclaimSeat(db, { licence: 'figma-pro', seatId, by: 'cli:alice', reason: 'unused' }, now)
 */
export async function reclaimSeat(db: Db, input: { readonly licence: string; readonly seatId: string; readonly by: string; readonly reason: string }, now: Date): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const done = await reclaim(trx, (q) => q.where('id', '=', input.seatId).where('licence', '=', input.licence), input.by, input.reason, 'register', now);
    if (done === 0) throw new JmlError('not_found', `no seat ${input.seatId} of ${input.licence} in use`, { details: { seat: input.seatId } });
  });
}

/**
 * The seats a confirmed change frees: every seat on an account whose disable or deletion was confirmed,
 * and the seats of licences tied to an entitlement whose removal from the account was confirmed.
 * Called in the transaction that records the confirmation (src/app/observed-snapshot-update.ts).
 */
export async function reclaimSeatsFreedBy(trx: Db, change: Change, context: { readonly accountId: string | null; readonly actor: string; readonly at: Date }): Promise<number> {
  if (change.system === null || !['disable_account', 'delete_account', 'remove_grant'].includes(change.kind)) return 0;
  const accountIds = [...new Set([change.accountId, context.accountId].filter((id): id is string => typeof id === 'string'))];
  if (accountIds.length === 0) return 0;
  const reason = `${change.kind.replace('_', ' ')} confirmed: ${change.reason}`;
  return reclaim(trx, (q) => {
    let scoped = q.where('system', '=', change.system!).where('account_id', 'in', accountIds);
    if (change.kind === 'remove_grant') {
      scoped = scoped.where('licence', 'in', (eb) => eb.selectFrom('licences').select('name').where('system', '=', change.system!).where('entitlement', '=', change.entitlement ?? ''));
    }
    return scoped;
  }, context.actor, reason, `change:${change.id}`, context.at);
}

async function reclaim(
  trx: Db,
  scope: (query: ReturnType<typeof seatUpdate>) => ReturnType<typeof seatUpdate>,
  actor: string,
  reason: string,
  trigger: string,
  now: Date,
): Promise<number> {
  const rows = await scope(seatUpdate(trx, actor, reason, now)).where('reclaimed_at', 'is', null).returning(['id', 'licence', 'identity_key', 'system', 'account_id']).execute();
  for (const r of rows) {
    await appendAudit(trx, { actor, action: 'licence.seat_reclaimed', subject: `licence:${r.licence}`, trigger, before: { seat: r.id, identityKey: r.identity_key, system: r.system, accountId: r.account_id }, after: { seat: r.id, reclaimed: true }, details: { reason } }, now);
  }
  return rows.length;
}

function seatUpdate(trx: Db, actor: string, reason: string, now: Date) {
  return trx.updateTable('licence_seats').set({ reclaimed_at: now.toISOString(), reclaimed_by: actor, reclaim_reason: reason });
}

/** Every licence (or one) with its seats in use and free, and who holds them. */
export async function licenceUse(db: Db, name?: string): Promise<LicenceUse[]> {
  let licences = db.selectFrom('licences').selectAll().orderBy('name');
  if (name) licences = licences.where('name', '=', name);
  const rows = await licences.execute();
  if (rows.length === 0) return [];
  const seats = await db.selectFrom('licence_seats').selectAll().where('licence', 'in', rows.map((r) => r.name)).where('reclaimed_at', 'is', null).orderBy('assigned_at').orderBy('id').execute();
  return rows.map((r) => {
    const held = seats.filter((s) => s.licence === r.name).map(toSeat);
    return { ...toLicence(r), inUse: held.length, free: Math.max(0, r.seats - held.length), held };
  });
}

/** A licence's seats, held and reclaimed, newest first: its history. */
export async function seatHistory(db: Db, licence: string): Promise<LicenceSeat[]> {
  return (await db.selectFrom('licence_seats').selectAll().where('licence', '=', licence).orderBy('assigned_at', 'desc').orderBy('id', 'desc').execute()).map(toSeat);
}

async function seatsInUse(db: Db, licence: string): Promise<number> {
  const { n } = await db.selectFrom('licence_seats').select((eb) => eb.fn.countAll<string>().as('n')).where('licence', '=', licence).where('reclaimed_at', 'is', null).executeTakeFirstOrThrow();
  return Number(n);
}

function toLicence(r: Omit<Selectable<LicencesTable>, never>): Licence {
  return { name: r.name, product: r.product, manufacturer: r.manufacturer, seats: r.seats, system: r.system, entitlement: r.entitlement, productKey: r.product_key, expiresOn: r.expires_on, notes: r.notes };
}

function toSeat(r: Selectable<LicenceSeatsTable>): LicenceSeat {
  return {
    id: r.id, licence: r.licence, identityKey: r.identity_key, system: r.system, accountId: r.account_id, assignedAt: r.assigned_at.toISOString(), assignedBy: r.assigned_by,
    reclaimedAt: r.reclaimed_at?.toISOString() ?? null, reclaimedBy: r.reclaimed_by, reclaimReason: r.reclaim_reason,
  };
}
