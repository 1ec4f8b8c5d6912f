import type { AttributeValue } from './identity.ts';

export const LIFECYCLE_EVENT_TYPES = ['joiner', 'mover', 'leaver', 'rehire'] as const;
export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number];

/** old → new for each changed attribute; old is null for a joiner. */
export type AttributeChanges = Readonly<Record<string, readonly [AttributeValue, AttributeValue]>>;

/**
 * A joiner, mover, leaver or rehire on an identity's timeline.
 * `effectiveDate` is the calendar date in the organisation's time zone;
 * `effectiveAt` the instant it takes effect (UTC ISO 8601), derived from it.
 * Events fold in (effectiveAt, sequence) order, so a late mover cannot undo a
 * leaver dated after it.
 */
export interface LifecycleEvent {
  readonly id: string;
  readonly type: LifecycleEventType;
  readonly identityKey: string;
  readonly source: string;
  readonly recordKey: string;
  readonly effectiveDate: string;
  readonly effectiveAt: string;
  readonly detectedAt: string;
  readonly changes: AttributeChanges;
  /** scheduled: in the future; applied: folded into the identity; rescinded: cancelled by an audited command. */
  readonly state: 'scheduled' | 'applied' | 'rescinded';
}
