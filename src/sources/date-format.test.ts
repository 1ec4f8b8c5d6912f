import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSupportedDateFormat, parseCalendarDate, parseInstant } from './date-format.ts';

const calendarDates: readonly [value: string, format: string, timezone: string, expected: string | null][] = [
  ['2022-01-10', 'iso', 'Europe/Berlin', '2022-01-10'],
  ['01/10/2022', 'MM/DD/YYYY', 'Europe/Berlin', '2022-01-10'],
  ['01/10/2022', 'DD/MM/YYYY', 'Europe/Berlin', '2022-10-01'],
  ['1/5/2022', 'MM/DD/YYYY', 'Europe/Berlin', '2022-01-05'],
  ['10.01.2022', 'DD.MM.YYYY', 'Europe/Berlin', '2022-01-10'],
  ['01/10/2022 23:30', 'MM/DD/YYYY HH:mm', 'Europe/Berlin', '2022-01-10'],
  ['01/10/2022 11:30 PM', 'MM/DD/YYYY hh:mm A', 'Europe/Berlin', '2022-01-10'],
  // 23:30 UTC is already the next day in Berlin and still the same day in New York.
  ['2022-01-10T23:30:00Z', 'iso', 'Europe/Berlin', '2022-01-11'],
  ['2022-01-10T23:30:00Z', 'iso', 'America/New_York', '2022-01-10'],
  ['2022-01-10T01:00:00+05:00', 'iso', 'Europe/London', '2022-01-09'],
  ['2022-01-10 09:00:00', 'iso', 'Asia/Tokyo', '2022-01-10'],
  ['01/10/2022 23:30 Z', 'MM/DD/YYYY HH:mm Z', 'Europe/Berlin', '2022-01-11'],
  ['10.01.2022 23:30 +0000', 'DD.MM.YYYY HH:mm Z', 'Asia/Tokyo', '2022-01-11'],
  ['10.01.2022 08:00 America/Los_Angeles', 'DD.MM.YYYY HH:mm Z', 'UTC', '2022-01-10'],
  ['10.01.2022 20:00 America/Los_Angeles', 'DD.MM.YYYY HH:mm Z', 'UTC', '2022-01-11'],
  ['2022-13-01', 'iso', 'UTC', null],
  ['2022-02-30', 'iso', 'UTC', null],
  ['2022-W01', 'iso', 'UTC', null],
  ['13/01/2022', 'MM/DD/YYYY', 'UTC', null],
  ['2022-01-10', 'MM/DD/YYYY', 'UTC', null],
  ['01/10/2022 23:30', 'MM/DD/YYYY HH:mm Z', 'UTC', null],
  ['', 'iso', 'UTC', null],
];

for (const [value, format, timezone, expected] of calendarDates) {
  test(`"${value}" under ${format} in ${timezone} is ${expected ?? 'invalid'}`, () => {
    assert.equal(parseCalendarDate(value, format, timezone), expected);
  });
}

test('a date without a time becomes an instant at midnight in the organisation time zone', () => {
  assert.equal(parseInstant('2025-01-10', 'iso', 'Europe/Berlin'), '2025-01-09T23:00:00Z');
  assert.equal(parseInstant('2025-07-10', 'iso', 'Europe/Berlin'), '2025-07-09T22:00:00Z');
  assert.equal(parseInstant('2025-01-10T08:15:00Z', 'iso', 'Europe/Berlin'), '2025-01-10T08:15:00Z');
  assert.equal(parseInstant('10.01.2025', 'DD.MM.YYYY', 'UTC'), '2025-01-10T00:00:00Z');
  assert.equal(parseInstant('yesterday', 'iso', 'UTC'), null);
});

test('only formats with one year, month and day, and a trailing zone, are supported', () => {
  for (const ok of ['iso', 'MM/DD/YYYY', 'DD.MM.YYYY', 'DD/MM/YYYY', 'YYYY-MM-DD', 'MM/DD/YYYY HH:mm', 'YYYY-MM-DDTHH:mm:ssZ', 'DD.MM.YYYY HH:mm Z']) {
    assert.ok(isSupportedDateFormat(ok), ok);
  }
  for (const bad of ['', 'MM/DD', 'YYYY/YYYY/MM/DD', 'Z MM/DD/YYYY', 'mm/dd/yyyy', 'DD.MM.YY']) {
    assert.ok(!isSupportedDateFormat(bad), bad);
  }
});
