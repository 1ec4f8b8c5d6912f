import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isJmlError } from '../../domain/errors.ts';
import { ENTERPRISE_USER_SCHEMA } from '../../sources/scim-user-table.ts';
import { FILTER_LIMITS, indexedEquality, matchesScimFilter, parseScimFilter } from './scim-filter.ts';

const ada = {
  id: 'E1',
  externalId: 'E1',
  userName: 'Ada@Example.com',
  active: true,
  title: 'Engineer',
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  emails: [{ type: 'work', value: 'ada@example.com', primary: true }, { type: 'home', value: 'ada@home.test' }],
  [ENTERPRISE_USER_SCHEMA]: { department: 'Engineering', manager: { value: 'E0' } },
  meta: { lastModified: '2026-11-20T10:00:00.000Z' },
};

const cases: [string, boolean][] = [
  ['userName eq "ada@example.com"', true],
  ['USERNAME EQ "ADA@EXAMPLE.COM"', true],
  ['externalId eq "e1"', false],
  ['externalId eq "E1"', true],
  ['userName ne "bob@example.com"', true],
  ['title co "gine"', true],
  ['title sw "Eng"', true],
  ['title ew "eer"', true],
  ['nickName pr', false],
  ['title pr', true],
  ['meta.lastModified gt "2026-11-01T00:00:00Z"', true],
  ['meta.lastModified ge "2026-11-20T10:00:00.000Z"', true],
  ['meta.lastModified lt "2026-11-01T00:00:00Z"', false],
  ['meta.lastModified le "2026-11-20T10:00:00.000Z"', true],
  ['active eq true', true],
  ['active eq false', false],
  ['name.familyName eq "lovelace" and not (title eq "Manager")', true],
  ['title eq "Manager" or emails co "home.test"', true],
  ['emails[type eq "work" and value co "example"]', true],
  ['emails[type eq "other"]', false],
  ['emails.value ew "@home.test"', true],
  [`${ENTERPRISE_USER_SCHEMA}:department eq "engineering"`, true],
  [`${ENTERPRISE_USER_SCHEMA}:manager.value eq "E0"`, true],
  ['nickName eq null', true],
];

for (const [filter, expected] of cases) {
  test(`the filter ${filter} ${expected ? 'matches' : 'does not match'} Ada`, () => {
    assert.equal(matchesScimFilter(ada, parseScimFilter(filter)), expected);
  });
}

const refused: [string, RegExp][] = [
  ['userName eq', /comparison value is missing/],
  ['userName eq "unterminated', /unterminated string/],
  ['userName like "a"', /expected an operator/],
  ['(userName eq "a"', /expected "\)"/],
  ['userName eq "a" extra', /unexpected "extra"/],
  ['userName eq bare', /not a value/],
  ['a.b.c eq "x"', /not an attribute path/],
  ['userName eq "a" ; drop table', /unexpected character ";"/],
  [`${'not ('.repeat(FILTER_LIMITS.depth + 2)}userName pr${')'.repeat(FILTER_LIMITS.depth + 2)}`, /nested deeper than/],
  [Array.from({ length: FILTER_LIMITS.terms + 1 }, () => 'title pr').join(' or '), /more than 64 terms/],
  [`userName eq "${'a'.repeat(FILTER_LIMITS.length)}"`, /longer than 2048 characters/],
];

for (const [filter, message] of refused) {
  test(`a malformed or oversized filter is refused as invalidFilter: ${filter.slice(0, 40)}`, () => {
    assert.throws(() => parseScimFilter(filter), (e: unknown) => isJmlError(e, 'invalid_input') && e.details.scimType === 'invalidFilter' && message.test(e.message));
  });
}

test('a regular-expression character in a filter value is compared as text', () => {
  assert.equal(matchesScimFilter({ title: 'a.b' }, parseScimFilter('title co "."')), true);
  assert.equal(matchesScimFilter({ title: 'ab' }, parseScimFilter('title co ".*"')), false);
});

test('gt on a boolean is refused as an invalid filter', () => {
  assert.throws(() => matchesScimFilter(ada, parseScimFilter('active gt true')), /gt does not apply to a boolean/);
});

test('only a whole-filter equality on userName, externalId or id is answered by index', () => {
  assert.deepEqual(indexedEquality(parseScimFilter('userName eq "x"')), { attribute: 'userName', value: 'x' });
  assert.deepEqual(indexedEquality(parseScimFilter('urn:ietf:params:scim:schemas:core:2.0:User:externalId eq "E1"')), { attribute: 'externalId', value: 'E1' });
  assert.equal(indexedEquality(parseScimFilter('userName eq "x" and active eq true')), null);
  assert.equal(indexedEquality(parseScimFilter('title eq "x"')), null);
});
