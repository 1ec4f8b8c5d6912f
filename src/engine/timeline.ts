/**
 * An identity's state at an instant is the fold of its timeline: its lifecycle
 * events that are not rescinded and have taken effect, in (effectiveAt, seq)
 * order. Joiner, mover and leaver are not three code paths: each event carries
 * the attributes it changes, and its type (or an explicit status change)
 * decides the status. Because order is by effective time, a mover that arrives
 * late cannot undo a leaver dated after it.
 */
import type { AttributeValue, Identity, IdentityKind, IdentityStatus } from '../domain/identity.ts';
import { IDENTITY_KINDS } from '../domain/identity.ts';
import type { LifecycleEvent } from '../domain/lifecycle-event.ts';

/** Change keys that set an identity's own fields rather than an attribute. */
export const STRUCTURAL_CHANGE_KEYS = ['kind', 'status', 'source', 'start_date', 'end_date', 'owner', 'sponsor'] as const;

const RECORD_TO_IDENTITY_STATUS: Readonly<Record<string, IdentityStatus>> = {
  active: 'active',
  suspended: 'suspended',
  terminated: 'left',
};

export type TimelineEvent = Pick<LifecycleEvent, 'id' | 'type' | 'effectiveAt' | 'changes' | 'state'> & { readonly seq: number };

export interface FoldResult {
  readonly identity: Identity;
  /** Ids of events that have taken effect at `now` (state should be `applied`). */
  readonly applied: readonly string[];
  /** Ids of events still in the future (state should be `scheduled`). */
  readonly scheduled: readonly string[];
}

/** Orders events the way they take effect. */
export function compareTimeline(a: TimelineEvent, b: TimelineEvent): number {
  return a.effectiveAt < b.effectiveAt ? -1 : a.effectiveAt > b.effectiveAt ? 1 : a.seq - b.seq;
}

/**
 * Folds `events` (any order) into the identity's state at `now` (ISO instant).
 * Before its first event takes effect an identity is `pending`, showing the
 * attributes its first scheduled event will give it.
 */
export function foldTimeline(key: string, events: readonly TimelineEvent[], now: string): FoldResult {
  const live = events.filter((e) => e.state !== 'rescinded').sort(compareTimeline);
  const due = live.filter((e) => e.effectiveAt <= now);
  const future = live.filter((e) => e.effectiveAt > now);
  const state: MutableIdentity = {
    key,
    kind: 'employee',
    status: 'pending',
    source: '',
    attributes: {},
    startDate: null,
    endDate: null,
    owner: null,
    sponsor: null,
  };
  if (due.length === 0 && future[0]) applyChanges(state, future[0].changes);
  for (const event of due) {
    applyChanges(state, event.changes);
    // A record status with no identity status of its own (`pending`: the joiner's record before the start) lets the event's type decide.
    const newStatus = event.changes.status?.[1];
    const explicit = newStatus ? RECORD_TO_IDENTITY_STATUS[newStatus] : undefined;
    state.status = explicit ?? statusAfter(event.type, state.status);
  }
  // A planned end is known now: the next scheduled leaver's end date shows before it takes effect (as a joiner's does).
  const plannedEnd = state.status === 'left' ? undefined : future.find((e) => e.type === 'leaver')?.changes.end_date;
  if (plannedEnd) state.endDate = plannedEnd[1];
  return { identity: state, applied: due.map((e) => e.id), scheduled: future.map((e) => e.id) };
}

function statusAfter(type: TimelineEvent['type'], current: IdentityStatus): IdentityStatus {
  switch (type) {
    case 'joiner':
    case 'rehire':
      return 'active';
    case 'leaver':
      return 'left';
    case 'mover':
      return current;
  }
}

interface MutableIdentity {
  key: string;
  kind: IdentityKind;
  status: IdentityStatus;
  source: string;
  attributes: Record<string, AttributeValue>;
  startDate: string | null;
  endDate: string | null;
  owner: string | null;
  sponsor: string | null;
}

function applyChanges(state: MutableIdentity, changes: TimelineEvent['changes']): void {
  for (const [field, pair] of Object.entries(changes)) {
    const value = pair[1];
    switch (field) {
      case 'status':
        break;
      case 'kind':
        if (value && (IDENTITY_KINDS as readonly string[]).includes(value)) state.kind = value as IdentityKind;
        break;
      case 'source':
        if (value) state.source = value;
        break;
      case 'start_date':
        state.startDate = value;
        break;
      case 'end_date':
        state.endDate = value;
        break;
      case 'owner':
        state.owner = value;
        break;
      case 'sponsor':
        state.sponsor = value;
        break;
      default:
        if (value === null) delete state.attributes[field];
        else state.attributes[field] = value;
    }
  }
}
