/**
 * The rule condition language, compiled to plain predicates once per policy.
 * Closed and declarative (see `Condition` in src/domain/policy.ts): no eval,
 * regular expressions are length-capped and see at most MAX_MATCH_INPUT characters.
 */
import type { Identity } from '../domain/identity.ts';
import type { Condition } from '../domain/policy.ts';
import { addDays } from './org-calendar.ts';

/** What a condition may look at besides the identity: the organisation's calendar date at `now`. */
export interface ConditionContext {
  /** YYYY-MM-DD in the organisation's time zone. */
  readonly today: string;
}

export type Predicate = (identity: Identity, context: ConditionContext) => boolean;

const MAX_MATCH_INPUT = 1024;

/** The value of a named identity field: `key`, `kind`, `status`, `source`, dates, `owner`, `sponsor`, or an attribute. */
export function identityField(identity: Identity, field: string): string | null {
  switch (field) {
    case 'key': return identity.key;
    case 'kind': return identity.kind;
    case 'status': return identity.status;
    case 'source': return identity.source;
    case 'start_date': return identity.startDate;
    case 'end_date': return identity.endDate;
    case 'owner': return identity.owner;
    case 'sponsor': return identity.sponsor;
    default: return identity.attributes[field] ?? null;
  }
}

function every<V>(map: Readonly<Record<string, V>>, test: (field: string, operand: V) => Predicate): Predicate {
  const predicates = Object.entries(map).map(([field, operand]) => test(field, operand));
  if (predicates.length === 1) return predicates[0]!;
  return (identity, context) => predicates.every((p) => p(identity, context));
}

function dateOf(identity: Identity, field: string): string | null {
  const value = identityField(identity, field);
  return value && value.length >= 10 ? value.slice(0, 10) : null;
}

function operandDate(operand: string, context: ConditionContext): string {
  return operand === 'today' ? context.today : operand;
}

/** Compiles a validated condition into a predicate. */
export function compileCondition(condition: Condition): Predicate {
  if ('equals' in condition) {
    return every(condition.equals, (field, value) => (identity) => identityField(identity, field) === value);
  }
  if ('in' in condition) {
    return every(condition.in, (field, values) => {
      const allowed = new Set(values);
      return (identity) => allowed.has(identityField(identity, field) ?? '\u0000');
    });
  }
  if ('kind' in condition) {
    const kinds = new Set<string>(condition.kind);
    return (identity) => kinds.has(identity.kind);
  }
  if ('exists' in condition) {
    const field = condition.exists;
    return (identity) => Boolean(identityField(identity, field));
  }
  if ('matches' in condition) {
    return every(condition.matches, (field, source) => {
      const pattern = new RegExp(source, 'u');
      return (identity) => {
        const value = identityField(identity, field);
        return value !== null && pattern.test(value.slice(0, MAX_MATCH_INPUT));
      };
    });
  }
  if ('before' in condition) {
    return every(condition.before, (field, operand) => (identity, context) => {
      const value = dateOf(identity, field);
      return value !== null && value < operandDate(operand, context);
    });
  }
  if ('after' in condition) {
    return every(condition.after, (field, operand) => (identity, context) => {
      const value = dateOf(identity, field);
      return value !== null && value > operandDate(operand, context);
    });
  }
  if ('within_days' in condition) {
    return every(condition.within_days, (field, days) => (identity, context) => {
      const value = dateOf(identity, field);
      return value !== null && value >= context.today && value <= addDays(context.today, days);
    });
  }
  if ('not' in condition) {
    const inner = compileCondition(condition.not);
    return (identity, context) => !inner(identity, context);
  }
  if ('all' in condition) {
    const inner = condition.all.map(compileCondition);
    return (identity, context) => inner.every((p) => p(identity, context));
  }
  const inner = condition.any.map(compileCondition);
  return (identity, context) => inner.some((p) => p(identity, context));
}

/** The identity fields a condition reads (`kind` for a kind test), in first-seen order. */
export function conditionFields(condition: Condition): string[] {
  const out = new Set<string>();
  const walk = (c: Condition): void => {
    if ('not' in c) walk(c.not);
    else if ('all' in c) c.all.forEach(walk);
    else if ('any' in c) c.any.forEach(walk);
    else if ('kind' in c) out.add('kind');
    else if ('exists' in c) out.add(c.exists);
    else for (const map of Object.values(c)) for (const field of Object.keys(map as object)) out.add(field);
  };
  walk(condition);
  return [...out];
}

