/**
 * Snapshot diff: compares a source's validated records with what that source
 * said last time and turns the differences into effective-dated lifecycle
 * events. Pure: all state comes in, events and record updates come out.
 *
 * - A new key is a joiner, unless it correlates (email by default) with an
 *   identity jml knows: then a rehire of a left identity, or a conversion
 *   (a mover changing source and kind) of a live one — never a second identity.
 * - A changed record is a mover; status `terminated` or a key gone from a full
 *   snapshot is a leaver; an end date schedules a leaver on that date.
 * - A pending joiner whose record changes before the start date gets its
 *   joiner re-issued (the old one superseded), so a future start never fights
 *   a mover.
 * - A termination is never undone by a file: only `jml rescind` does that.
 */
import type { AttributeValue, IdentityKind, IdentityStatus } from '../domain/identity.ts';
import type { AttributeChanges, LifecycleEventType } from '../domain/lifecycle-event.ts';
import { endOfLastDay, startOfDay } from '../engine/org-calendar.ts';
import type { SourceRecord, SourceSnapshot } from './source-record.ts';

/** A record as stored between imports: canonical field → value. */
export type RecordData = Readonly<Record<string, AttributeValue>>;

export interface PreviousRecord {
  readonly identityKey: string;
  readonly data: RecordData;
  readonly present: boolean;
}

export interface ScheduledEventRef {
  readonly id: string;
  readonly type: LifecycleEventType;
  readonly effectiveDate: string;
}

export interface KnownIdentity {
  readonly key: string;
  /** Status at the import's evaluation instant. */
  readonly status: IdentityStatus;
  readonly source: string;
  readonly kind: IdentityKind;
  /** The identity's current fields as record data (for conversions and rehires). */
  readonly data: RecordData;
  /** Date of the leaver that took effect, for a left identity. */
  readonly leftOn: string | null;
  readonly scheduled: readonly ScheduledEventRef[];
}

export interface DiffInput {
  readonly source: string;
  readonly snapshot: SourceSnapshot;
  readonly previous: ReadonlyMap<string, PreviousRecord>;
  readonly identities: ReadonlyMap<string, KnownIdentity>;
  /** Lower-cased correlation value → identity key. */
  readonly correlation: ReadonlyMap<string, string>;
  readonly correlationAttribute: string;
  /** "Today" in the organisation's time zone (YYYY-MM-DD). */
  readonly asOf: string;
  readonly timezone: string;
}

export interface DetectedEvent {
  readonly type: LifecycleEventType;
  readonly identityKey: string;
  readonly recordKey: string;
  readonly effectiveDate: string;
  readonly effectiveAt: string;
  readonly changes: AttributeChanges;
}

export interface NewIdentity {
  readonly key: string;
  readonly kind: IdentityKind;
  readonly status: IdentityStatus;
  readonly data: RecordData;
}

export interface RecordUpdate {
  readonly recordKey: string;
  readonly identityKey: string;
  readonly data: RecordData;
  readonly present: boolean;
}

export interface DiffWarning {
  readonly row: number;
  readonly key: string;
  readonly message: string;
}

export interface DiffResult {
  readonly events: readonly DetectedEvent[];
  /** Scheduled events replaced by a new one (re-issued joiner, moved end date). */
  readonly superseded: readonly string[];
  readonly newIdentities: readonly NewIdentity[];
  readonly records: readonly RecordUpdate[];
  readonly warnings: readonly DiffWarning[];
  /** Keys seen for the first time that had already left: kept as history, no event. */
  readonly historical: readonly string[];
  /** Keys seen for the first time as pending (signed, not started): a joiner dated to the future start. */
  readonly pending: readonly string[];
  readonly unchanged: number;
}

/** A record flattened to canonical fields, the form stored and compared. */
export function recordData(record: SourceRecord, source: string): RecordData {
  return {
    ...record.attributes,
    kind: record.kind,
    status: record.status,
    source,
    start_date: record.startDate,
    end_date: record.endDate,
    owner: record.owner,
    sponsor: record.sponsor,
  };
}

/** old → new for every field whose value differs; `ignore` fields are left out. */
export function diffData(before: RecordData, after: RecordData, ignore: readonly string[] = []): Record<string, [AttributeValue, AttributeValue]> {
  const changes: Record<string, [AttributeValue, AttributeValue]> = {};
  // Fields of `before`, then those only in `after` (the order changes are listed in), without building a Set per record.
  for (const field of Object.keys(before)) {
    if (ignore.includes(field)) continue;
    const a = before[field] ?? null;
    const b = after[field] ?? null;
    if (a !== b) changes[field] = [a, b];
  }
  for (const field of Object.keys(after)) {
    if (Object.hasOwn(before, field) || ignore.includes(field)) continue;
    const b = after[field] ?? null;
    if (b !== null) changes[field] = [null, b];
  }
  return changes;
}

const LIVE: readonly IdentityStatus[] = ['pending', 'active', 'suspended'];

/**
 * A pre-hire's record turning active (or an active one still flagged pending)
 * is the joiner already scheduled taking effect, not a mover.
 */
function startsNow(before: AttributeValue | undefined, after: string): boolean {
  return (before === 'pending' && after === 'active') || (before === 'active' && after === 'pending');
}

export function diffSnapshot(input: DiffInput): DiffResult {
  const out = new DiffBuilder(input);
  const seen = new Set<string>();
  for (const record of input.snapshot.records) {
    seen.add(record.key);
    out.record(record);
  }
  if (input.snapshot.fullSnapshot !== false) {
    const invalid = new Set(input.snapshot.invalidKeys ?? []);
    for (const [recordKey, prev] of input.previous) {
      if (!seen.has(recordKey) && !invalid.has(recordKey) && prev.present) out.missing(recordKey, prev);
    }
  }
  return out.result();
}

class DiffBuilder {
  readonly events: DetectedEvent[] = [];
  readonly superseded: string[] = [];
  readonly newIdentities: NewIdentity[] = [];
  readonly records: RecordUpdate[] = [];
  readonly warnings: DiffWarning[] = [];
  readonly historical: string[] = [];
  readonly pending: string[] = [];
  unchanged = 0;
  readonly input: DiffInput;

  constructor(input: DiffInput) {
    this.input = input;
  }

  record(record: SourceRecord): void {
    const data = recordData(record, this.input.source);
    const prev = this.input.previous.get(record.key);
    if (prev) this.changed(record, data, prev);
    else this.firstSeen(record, data);
  }

  private firstSeen(record: SourceRecord, data: RecordData): void {
    const { correlation, correlationAttribute, identities } = this.input;
    const value = record.attributes[correlationAttribute];
    const linkedKey = value ? correlation.get(value.toLowerCase()) : undefined;
    const linked = linkedKey ? identities.get(linkedKey) : undefined;
    if (linked) {
      this.records.push({ recordKey: record.key, identityKey: linked.key, data, present: true });
      if (linked.status === 'left') {
        if (record.status !== 'terminated') this.rehire(record, data, linked);
      } else if (record.status !== 'terminated') {
        const changes = diffData(linked.data, data, ['status']);
        if (Object.keys(changes).length > 0) this.push('mover', linked.key, record.key, this.startOrToday(record), changes);
        this.scheduleEnd(record, linked, data.end_date ?? null, linked.data.end_date ?? null);
      }
      return;
    }
    const key = identities.has(record.key) ? `${this.input.source}:${record.key}` : record.key;
    this.records.push({ recordKey: record.key, identityKey: key, data, present: true });
    // A leaver ends access at midnight after the last working day: a first row whose last day is today is still a joiner.
    if (record.status === 'terminated' && (record.endDate ?? '') < this.input.asOf) {
      this.historical.push(key);
      this.newIdentities.push({ key, kind: record.kind, status: 'left', data });
      return;
    }
    this.newIdentities.push({ key, kind: record.kind, status: 'pending', data });
    // A row already marked terminated with a last day still to come: the person works until then; the leaver ends it.
    this.push('joiner', key, record.key, this.startOrToday(record), diffData({}, record.status === 'terminated' ? { ...data, status: 'active' } : data));
    if (record.status === 'pending') this.pendingJoiner(record);
    if (record.endDate) this.pushLeaver(key, record.key, record.endDate, { end_date: [null, record.endDate] });
  }

  /** A pre-hire: the joiner waits for the start date; a start already past is worth a word (the HR flag is stale). */
  private pendingJoiner(record: SourceRecord): void {
    if (record.startDate !== null && record.startDate > this.input.asOf) this.pending.push(record.key);
    else {
      this.warnings.push({ row: record.row, key: record.key, message: `${record.key} is pending (not started) but its start date ${record.startDate ?? '(none)'} is not in the future: the joiner takes effect now` });
    }
  }

  private changed(record: SourceRecord, data: RecordData, previous: PreviousRecord): void {
    let prev = previous;
    const identity = this.input.identities.get(prev.identityKey);
    if (!identity) return;
    const wasTerminated = prev.data.status === 'terminated' || !prev.present;
    if (identity.status === 'left') {
      this.records.push({ recordKey: record.key, identityKey: identity.key, data, present: true });
      if (record.status === 'terminated') {
        this.withdrawStart(identity);
        return void this.leftMoverIfChanged(record, data, prev.data, identity);
      }
      const restarts = record.startDate !== null && record.startDate > (identity.leftOn ?? prev.data.end_date ?? '');
      if (restarts || !prev.present) return this.rehire(record, data, identity);
      // A row still showing the end date the person left on says they left: many HR systems keep such a row active.
      if (record.endDate !== null && record.endDate === (identity.leftOn ?? prev.data.end_date ?? null)) {
        if (!this.leftMoverIfChanged(record, data, prev.data, identity)) this.unchanged += 1;
        return;
      }
      this.records.pop();
      this.warnings.push({
        row: record.row,
        key: record.key,
        message: `${record.key} has left but is active in the file without a new start date; a termination is undone only with \`jml rescind ${identity.key}\``,
      });
      return;
    }
    if (wasTerminated && record.status !== 'terminated') {
      // The termination was rescinded in jml (or is still scheduled): the file catching up changes no status.
      this.records.push({ recordKey: record.key, identityKey: identity.key, data, present: true });
      const pendingLeaver = identity.scheduled.find((e) => e.type === 'leaver');
      if (pendingLeaver && !record.endDate) {
        this.warnings.push({
          row: record.row,
          key: record.key,
          message: `${record.key} is no longer terminated in the file, but its leaver on ${pendingLeaver.effectiveDate} stands until \`jml rescind ${identity.key}\``,
        });
      }
      if (!this.moverIfChanged(record, data, prev.data, identity, ['status', 'end_date'])) this.unchanged += 1;
      return;
    }
    this.records.push({ recordKey: record.key, identityKey: identity.key, data, present: true });
    if (startsNow(prev.data.status, record.status)) prev = { ...prev, data: { ...prev.data, status: record.status } };
    if (identity.status === 'pending' && this.reissueJoiner(record, data, prev.data, identity)) return;
    if (record.status === 'terminated') {
      const moved = this.moverIfChanged(record, data, prev.data, identity, ['status', 'end_date']);
      const endMoved = (prev.data.end_date ?? null) !== record.endDate;
      if (prev.data.status === 'terminated' && !endMoved) {
        if (!moved) this.unchanged += 1;
        return;
      }
      this.supersede(identity, 'leaver');
      if (identity.status === 'pending') this.withdrawStart(identity);
      const changes: Record<string, [AttributeValue, AttributeValue]> = { status: [prev.data.status ?? 'active', 'terminated'] };
      if (endMoved) changes.end_date = [prev.data.end_date ?? null, record.endDate];
      this.pushLeaver(identity.key, record.key, record.endDate ?? this.input.asOf, changes, !record.endDate);
      return;
    }
    const moved = this.moverIfChanged(record, data, prev.data, identity, ['end_date']);
    const endChanged = this.scheduleEnd(record, identity, data.end_date ?? null, prev.data.end_date ?? null);
    if (!moved && !endChanged) this.unchanged += 1;
  }

  /** A pending identity's record changed before its start: re-issue the joiner with the new data. */
  private reissueJoiner(record: SourceRecord, data: RecordData, before: RecordData, identity: KnownIdentity): boolean {
    const joiner = identity.scheduled.find((e) => e.type === 'joiner' || e.type === 'rehire');
    if (!joiner || record.status === 'terminated') return false;
    const changes = diffData(before, data);
    if (Object.keys(changes).length === 0) {
      this.unchanged += 1;
      return true;
    }
    this.superseded.push(joiner.id);
    this.push(joiner.type, identity.key, record.key, this.startOrToday(record), diffData({}, data));
    if ('end_date' in changes) {
      this.supersede(identity, 'leaver');
      if (record.endDate) this.pushLeaver(identity.key, record.key, record.endDate, { end_date: [before.end_date ?? null, record.endDate] });
    }
    return true;
  }

  /**
   * A left person's row changed (a correction, not a return). Someone first seen as history (left, no leaver on the
   * timeline) gets a mover carrying every field, the status too: with no earlier event to fold, the change alone would
   * make them pending.
   */
  private leftMoverIfChanged(record: SourceRecord, data: RecordData, before: RecordData, identity: KnownIdentity): boolean {
    if (identity.leftOn !== null) return this.moverIfChanged(record, data, before, identity, ['status']);
    if (Object.keys(diffData(before, data, ['status'])).length === 0) return false;
    // Left whatever the row's status says (some HR systems keep a leaver's row active with the end date shown).
    this.push('mover', identity.key, record.key, this.input.asOf, diffData({}, { ...data, status: 'terminated' }));
    return true;
  }

  private rehire(record: SourceRecord, data: RecordData, identity: KnownIdentity): void {
    // Left without a leaver: first seen as history, so its timeline is empty and the rehire must carry every field.
    const before = identity.leftOn === null ? {} : identity.data;
    const changes = { ...diffData(before, data, ['status']), status: ['terminated', record.status] as [AttributeValue, AttributeValue] };
    this.push('rehire', identity.key, record.key, this.startOrToday(record), changes);
    if (record.endDate && record.endDate >= (record.startDate ?? this.input.asOf)) {
      this.pushLeaver(identity.key, record.key, record.endDate, { end_date: [null, record.endDate] });
    }
  }

  /** An end date set or moved on a live identity schedules (or re-schedules) its leaver. */
  private scheduleEnd(record: SourceRecord, identity: KnownIdentity, end: AttributeValue, before: AttributeValue): boolean {
    if (end === before) return false;
    this.supersede(identity, 'leaver');
    if (end) this.pushLeaver(identity.key, record.key, end, { end_date: [before, end] });
    return true;
  }

  private moverIfChanged(record: SourceRecord, data: RecordData, before: RecordData, identity: KnownIdentity, ignore: readonly string[]): boolean {
    const changes = diffData(before, data, ignore);
    if (Object.keys(changes).length === 0) return false;
    this.push('mover', identity.key, record.key, this.input.asOf, changes);
    return true;
  }

  missing(recordKey: string, prev: PreviousRecord): void {
    const identity = this.input.identities.get(prev.identityKey);
    this.records.push({ recordKey, identityKey: prev.identityKey, data: prev.data, present: false });
    if (!identity || identity.source !== this.input.source) return;
    this.withdrawStart(identity);
    if (!LIVE.includes(identity.status)) return;
    this.supersede(identity, 'leaver');
    this.pushLeaver(identity.key, recordKey, this.input.asOf, { status: [prev.data.status ?? 'active', 'terminated'] }, true);
  }

  /**
   * A hire or rehire not yet started that is withdrawn (gone from the file, or
   * terminated in it) must not start later: its scheduled joiner or rehire is
   * superseded, else it would take effect after the leaver.
   */
  private withdrawStart(identity: KnownIdentity): void {
    this.supersede(identity, 'joiner');
    this.supersede(identity, 'rehire');
  }

  private supersede(identity: KnownIdentity, type: LifecycleEventType): void {
    for (const e of identity.scheduled) if (e.type === type && !this.superseded.includes(e.id)) this.superseded.push(e.id);
  }

  private startOrToday(record: SourceRecord): string {
    return record.startDate && record.startDate > this.input.asOf ? record.startDate : (record.startDate ?? this.input.asOf);
  }

  private push(type: LifecycleEventType, identityKey: string, recordKey: string, effectiveDate: string, changes: AttributeChanges): void {
    this.events.push({ type, identityKey, recordKey, effectiveDate, effectiveAt: startOfDay(effectiveDate, this.input.timezone), changes });
  }

  /** A leaver dated by a last working day ends access at midnight after it; an undated one ends it at once. */
  private pushLeaver(identityKey: string, recordKey: string, lastDay: string, changes: AttributeChanges, immediate = false): void {
    // A leaver ends a live identity: without a recorded status before it, that status was active (never "nothing").
    const status = changes.status ?? ['active', 'terminated'];
    const effectiveAt = immediate ? startOfDay(lastDay, this.input.timezone) : endOfLastDay(lastDay, this.input.timezone);
    this.events.push({ type: 'leaver', identityKey, recordKey, effectiveDate: lastDay, effectiveAt, changes: { ...changes, status } });
  }

  result(): DiffResult {
    return {
      events: this.events,
      superseded: this.superseded,
      newIdentities: this.newIdentities,
      records: this.records,
      warnings: this.warnings,
      historical: this.historical,
      pending: this.pending,
      unchanged: this.unchanged,
    };
  }
}
