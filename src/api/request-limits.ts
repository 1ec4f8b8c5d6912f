/**
 * How much a client may send. Every string and list in a request schema is
 * bounded here, so no single field can make jml store — and later serve to
 * everyone who lists it — megabytes (a 15 MB display name once made a
 * person's page 47 MB). The body limit stops an oversized request before it
 * is parsed at all; the import route alone takes more.
 */
import { z } from 'zod';

/** Longest value, in characters, per kind of field. */
export const FIELD_LIMITS = {
  /** Identity keys, ids, system and entitlement names, usernames. */
  key: 200,
  /** Display names, titles, attribute names. */
  name: 256,
  /** One identity attribute value (the import's default cap too). */
  attribute: 1024,
  /** Free text: justifications, comments, evidence notes. */
  text: 4096,
  /** A password, so that hashing one takes bounded time. */
  password: 500,
} as const;

/** A calendar day written YYYY-MM-DD (ten characters, so bounded like every other string). */
export function calendarDay(): z.ZodString {
  return z.string().max(10).regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD');
}

/** A calendar month written YYYY-MM. */
export function calendarMonth(): z.ZodString {
  return z.string().max(7).regex(/^\d{4}-\d{2}$/, 'write the month as YYYY-MM');
}

/** Shortest password a console user may choose. */
export const MIN_PASSWORD_LENGTH = 12;

/** Most items in a list (or attributes in one edit) a client may send. */
export const MAX_ITEMS = 200;

/** Request body limit for every route but uploads (bytes). */
export const BODY_LIMIT = 1024 * 1024;

/** Request body limit of the import upload (bytes); the file content is capped a little below it. */
export const UPLOAD_BODY_LIMIT = 20 * 1024 * 1024;

/**
 * A string of at most the limit for its kind of field.
 * @example body: z.object({ justification: boundedString('text').min(3) })
 */
export function boundedString(kind: keyof typeof FIELD_LIMITS): z.ZodString {
  return z.string().max(FIELD_LIMITS[kind], `at most ${FIELD_LIMITS[kind]} characters`);
}

/**
 * A password a console user chooses: at least MIN_PASSWORD_LENGTH characters, at most the cap.
 * @example body: z.object({ newPassword: newPassword() })
 */
export function newPassword(): z.ZodString {
  return boundedString('password').min(MIN_PASSWORD_LENGTH, `at least ${MIN_PASSWORD_LENGTH} characters`);
}

/** A list of at most `max` items. */
export function boundedArray<T extends z.ZodType>(item: T, max: number = MAX_ITEMS): z.ZodArray<T> {
  return z.array(item).max(max, `at most ${max} items`);
}

/** A map of at most MAX_ITEMS entries whose keys are names and whose values are attribute values (or null to remove). */
export function boundedAttributes() {
  return z
    .record(boundedString('name').min(1), boundedString('attribute').nullable())
    .refine((value) => Object.keys(value).length <= MAX_ITEMS, `at most ${MAX_ITEMS} attributes`);
}
