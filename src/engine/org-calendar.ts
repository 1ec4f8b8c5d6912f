/**
 * The organisation's calendar, the one place jml does date arithmetic:
 * calendar dates in the organisation's time zone, and the instants they begin.
 * A start date takes effect at 00:00 that day; an end date is the last day
 * worked, so access ends at 00:00 the day after — both in the organisation's
 * zone, never the server's (DESIGN.md safety rule 4).
 */
import { DateTime } from 'luxon';

// An import asks for the same few hundred dates 100,000 times; luxon takes ~10 µs per answer.
// Zone rules do not change while a process runs, so answers are kept (bounded, pure).
const startCache = new Map<string, string>();
const addDaysCache = new Map<string, string>();
const START_CACHE_LIMIT = 50_000;

/** The instant (UTC ISO 8601) at which calendar date `date` begins in `timeZone`. */
export function startOfDay(date: string, timeZone: string): string {
  const cacheKey = `${timeZone} ${date}`;
  const cached = startCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const dt = DateTime.fromISO(date, { zone: timeZone }).startOf('day');
  if (!dt.isValid) throw new Error(`invalid calendar date ${date} in ${timeZone}`);
  const instant = dt.toUTC().toISO({ suppressMilliseconds: false })!;
  if (startCache.size >= START_CACHE_LIMIT) startCache.clear();
  startCache.set(cacheKey, instant);
  return instant;
}

/** The instant at which access ends for someone whose last day is `date`. */
export function endOfLastDay(date: string, timeZone: string): string {
  return startOfDay(addDays(date, 1), timeZone);
}

/** `date` plus `days` calendar days (YYYY-MM-DD arithmetic, no zone involved). */
export function addDays(date: string, days: number): string {
  // A plan asks for each leaver's end date plus each system's retention: a few values, many times.
  const cacheKey = days === 1 ? date : `${date}${days < 0 ? '' : '+'}${days}`;
  const cached = addDaysCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const dt = DateTime.fromISO(date, { zone: 'UTC' }).plus({ days });
  if (!dt.isValid) throw new Error(`invalid calendar date ${date}`);
  const next = dt.toISODate()!;
  if (addDaysCache.size >= START_CACHE_LIMIT) addDaysCache.clear();
  addDaysCache.set(cacheKey, next);
  return next;
}

/** The calendar date of `instant` in `timeZone`. */
export function dateIn(instant: string | Date, timeZone: string): string {
  const dt = instant instanceof Date ? DateTime.fromJSDate(instant) : DateTime.fromISO(instant);
  return dt.setZone(timeZone).toISODate()!;
}

/** The last millisecond of `date` in `timeZone`: "as of" that day, everything dated on it has happened. */
export function lastInstantOf(date: string, timeZone: string): string {
  return new Date(Date.parse(startOfDay(addDays(date, 1), timeZone)) - 1).toISOString();
}

/** `date` plus `months` calendar months; the 31st becomes the last day of a shorter month. */
export function addMonths(date: string, months: number): string {
  const dt = DateTime.fromISO(date, { zone: 'UTC' }).plus({ months });
  if (!dt.isValid) throw new Error(`invalid calendar date ${date}`);
  return dt.toISODate()!;
}
