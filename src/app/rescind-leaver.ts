/**
 * Rescinding a termination: the only way a leaver is undone. An explicit,
 * audited command with a reason; the identity's timeline is re-folded without
 * the leaver, so the state at any instant is as if it had never been recorded.
 * Access removed while it stood does not come back by itself: the next plan
 * decides what the identity should hold now.
 */
import type { Kysely } from 'kysely';
import { JmlError } from '../domain/errors.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Database } from '../store/database.ts';
import { findIdentity } from '../store/identity-store.ts';
import { refoldIdentities, statusAuditEntries } from './lifecycle-clock.ts';

export interface RescindInput {
  readonly key: string;
  readonly reason: string;
  readonly actor: string;
  readonly now?: Date;
}

export async function rescindLeaver(db: Kysely<Database>, input: RescindInput) {
  if (input.reason.trim().length < 5) throw new JmlError('invalid_input', 'a rescind needs a reason (at least 5 characters)');
  const now = input.now ?? new Date();
  return db.transaction().execute(async (trx) => {
    const identity = await findIdentity(trx, input.key);
    if (!identity) throw new JmlError('not_found', `no identity with key ${input.key}`);
    const leaver = await trx
      .selectFrom('lifecycle_events')
      .selectAll()
      .where('identity_key', '=', identity.key)
      .where('type', '=', 'leaver')
      .where('state', '!=', 'rescinded')
      .orderBy('effective_at', 'desc')
      .orderBy('seq', 'desc')
      .executeTakeFirst();
    if (!leaver) throw new JmlError('conflict', `${identity.key} has no termination to rescind`);
    await trx.updateTable('lifecycle_events').set({ state: 'rescinded' }).where('id', '=', leaver.id).execute();
    const [outcome] = await refoldIdentities(trx, [identity.key], now.toISOString());
    await appendAudit(
      trx,
      [
        {
          actor: input.actor,
          action: 'leaver.rescinded',
          subject: identity.key,
          trigger: 'cli',
          before: { event: leaver.id, state: leaver.state, effective: leaver.effective_date },
          after: { state: 'rescinded' },
          details: { reason: input.reason },
        },
        ...statusAuditEntries(outcome ? [outcome] : [], input.actor, `rescind:${leaver.id}`),
      ],
      now,
    );
    return { identity: outcome?.after ?? identity, rescinded: leaver.id, effective: leaver.effective_date };
  });
}
