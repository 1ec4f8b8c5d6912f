/**
 * Changes made in jml itself — a person editing an identity in the console, an
 * ownership transfer when an owner leaves — are lifecycle events from source
 * `jml`, on the identity's timeline like any source's. The stored row is
 * re-folded from the timeline, so a later import (which re-folds the
 * identities it touches) never silently undoes them, and the timeline shows
 * who changed what, when.
 */
import type { Kysely } from 'kysely';
import { JmlError } from '../domain/errors.ts';
import type { AttributeValue, Identity, IdentityStatus } from '../domain/identity.ts';
import type { LifecycleEventType } from '../domain/lifecycle-event.ts';
import { dateIn } from '../engine/org-calendar.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Database } from '../store/database.ts';
import { getIdentity } from '../store/identity-store.ts';
import { orderedId } from '../store/ordered-id.ts';
import { refoldIdentities, statusAuditEntries } from './lifecycle-clock.ts';
import { refuseManagementCycle } from './management-chain.ts';

/** The source name of changes made in jml. */
export const JML_SOURCE = 'jml';

export interface IdentityEdit {
  readonly identityKey: string;
  /** Attribute values to set (null removes one). */
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
  readonly status?: IdentityStatus;
  readonly owner?: string | null;
  readonly sponsor?: string | null;
  readonly actor: string;
  /** Why now: `api:<request id>`, `change:<id>`… */
  readonly trigger: string;
  readonly at: Date;
  readonly timezone: string;
}

const STATUS_AS_RECORD: Readonly<Record<IdentityStatus, string | null>> = { active: 'active', suspended: 'suspended', left: 'terminated', pending: null };

/**
 * Records the edit as a `jml` lifecycle event effective at `at` and returns the
 * re-folded identity. Nothing is recorded when nothing would change; a new
 * manager that would make a management cycle is refused (invalid_input). Call
 * inside a transaction.
 */
export async function recordIdentityEdit(db: Kysely<Database>, edit: IdentityEdit): Promise<Identity> {
  const before = await getIdentity(db, edit.identityKey);
  if (!before) throw new JmlError('not_found', `no identity with key ${edit.identityKey}`);
  const changes: Record<string, [AttributeValue, AttributeValue]> = {};
  for (const [name, value] of Object.entries(edit.attributes ?? {})) {
    const old = before.attributes[name] ?? null;
    if (old !== value) changes[name] = [old, value];
  }
  if (edit.owner !== undefined && edit.owner !== before.owner) changes.owner = [before.owner, edit.owner];
  if (edit.sponsor !== undefined && edit.sponsor !== before.sponsor) changes.sponsor = [before.sponsor, edit.sponsor];
  let type: LifecycleEventType = 'mover';
  if (edit.status !== undefined && edit.status !== before.status) {
    const target = STATUS_AS_RECORD[edit.status];
    if (target === null) throw new JmlError('invalid_input', 'an identity cannot be set back to pending; its start date decides that');
    if (before.status === 'left') throw new JmlError('conflict', `${edit.identityKey} has left; a termination is undone only with \`jml rescind\``);
    changes.status = [STATUS_AS_RECORD[before.status], target];
    if (edit.status === 'left') type = 'leaver';
  }
  if (Object.keys(changes).length === 0) return before;
  const manager = edit.attributes?.manager;
  // Checked again here, under a lock, whoever made the edit: the chain may have moved since a review or an approval.
  if (changes.manager && manager) await refuseManagementCycle(db, edit.identityKey, manager, { lock: true });
  if (before.status === 'pending') {
    // Its joiner, dated on the start date, will apply the source's values then; an edit now would be silently lost.
    throw new JmlError('conflict', `${edit.identityKey} has not started yet (start ${before.startDate ?? 'unknown'}): correct the source record, or edit after the start date`);
  }
  await ensureBaseline(db, before, edit);
  const at = edit.at.toISOString();
  const id = orderedId(edit.at.getTime());
  await db
    .insertInto('lifecycle_events')
    .values({
      id,
      type,
      identity_key: edit.identityKey,
      source: JML_SOURCE,
      record_key: edit.identityKey,
      effective_date: dateIn(edit.at, edit.timezone),
      effective_at: at,
      detected_at: at,
      changes: JSON.stringify(changes),
      state: 'scheduled',
      import_id: null,
    })
    .execute();
  const outcomes = await refoldIdentities(db, [edit.identityKey], at);
  await appendAudit(
    db,
    [
      { actor: edit.actor, action: `lifecycle.${type}`, subject: edit.identityKey, trigger: edit.trigger, after: { event: id, source: JML_SOURCE, changes } },
      ...statusAuditEntries(outcomes, edit.actor, edit.trigger),
    ],
    edit.at,
  );
  return outcomes[0]?.after ?? before;
}

/**
 * An identity written without a timeline (created directly in the store, as
 * some fixtures and older data do) gets a baseline `jml` joiner holding its
 * current state first, so folding the edit on top keeps everything else.
 */
async function ensureBaseline(db: Kysely<Database>, identity: Identity, edit: IdentityEdit): Promise<void> {
  const any = await db.selectFrom('lifecycle_events').select('id').where('identity_key', '=', identity.key).limit(1).executeTakeFirst();
  if (any) return;
  const at = new Date(edit.at.getTime() - 1);
  const changes: Record<string, [null, AttributeValue]> = {};
  for (const [name, value] of Object.entries(identity.attributes)) changes[name] = [null, value];
  Object.assign(changes, {
    kind: [null, identity.kind],
    source: [null, identity.source],
    start_date: [null, identity.startDate],
    end_date: [null, identity.endDate],
    owner: [null, identity.owner],
    sponsor: [null, identity.sponsor],
    status: [null, STATUS_AS_RECORD[identity.status]],
  });
  await db
    .insertInto('lifecycle_events')
    .values({
      id: orderedId(at.getTime()),
      type: identity.status === 'left' ? 'leaver' : 'joiner',
      identity_key: identity.key,
      source: JML_SOURCE,
      record_key: identity.key,
      effective_date: dateIn(at, edit.timezone),
      effective_at: at.toISOString(),
      detected_at: edit.at.toISOString(),
      changes: JSON.stringify(changes),
      state: 'applied',
      import_id: null,
    })
    .execute();
}
