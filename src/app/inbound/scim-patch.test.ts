import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isJmlError } from '../../domain/errors.ts';
import { ENTERPRISE_USER_SCHEMA } from '../../sources/scim-user-table.ts';
import { applyScimPatch } from './scim-patch.ts';

const user = {
  userName: 'ada@example.com',
  active: true,
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  emails: [{ type: 'work', value: 'ada@example.com', primary: true }],
  [ENTERPRISE_USER_SCHEMA]: { department: 'Engineering' },
};

test('Okta\'s replace without a path sets the attributes of its value object', () => {
  const next = applyScimPatch(user, [{ op: 'replace', value: { active: false } }]);
  assert.equal(next.active, false);
  assert.equal(user.active, true, 'the input is not changed');
});

test('Entra\'s capitalised ops with paths replace simple, sub- and extension attributes', () => {
  const next = applyScimPatch(user, [
    { op: 'Replace', path: 'active', value: 'False' },
    { op: 'Replace', path: 'name.familyName', value: 'Byron' },
    { op: 'Add', path: `${ENTERPRISE_USER_SCHEMA}:department`, value: 'Sales' },
    { op: 'Add', path: `${ENTERPRISE_USER_SCHEMA}:manager`, value: 'E0' },
  ]);
  assert.equal(next.active, 'False');
  assert.deepEqual(next.name, { givenName: 'Ada', familyName: 'Byron' });
  assert.deepEqual(next[ENTERPRISE_USER_SCHEMA], { department: 'Sales', manager: 'E0' });
});

test('a value-path replace changes the matching element, and adds one of that type when none matches', () => {
  const next = applyScimPatch(user, [
    { op: 'replace', path: 'emails[type eq "work"].value', value: 'ada@new.example' },
    { op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+49 1' },
  ]);
  assert.deepEqual(next.emails, [{ type: 'work', value: 'ada@new.example', primary: true }]);
  assert.deepEqual(next.phoneNumbers, [{ type: 'mobile', value: '+49 1' }]);
});

test('add to a multi-valued attribute appends; remove with a value filter removes only the matching values', () => {
  const added = applyScimPatch(user, [{ op: 'add', path: 'emails', value: [{ type: 'home', value: 'ada@home.test' }] }]);
  assert.equal((added.emails as unknown[]).length, 2);
  const removed = applyScimPatch(added, [{ op: 'remove', path: 'emails[type eq "home"]' }]);
  assert.deepEqual(removed.emails, user.emails);
});

test('remove of an attribute and of a sub-attribute', () => {
  const next = applyScimPatch(user, [{ op: 'remove', path: 'name.givenName' }, { op: 'remove', path: `${ENTERPRISE_USER_SCHEMA}:department` }]);
  assert.deepEqual(next.name, { familyName: 'Lovelace' });
  assert.deepEqual(next[ENTERPRISE_USER_SCHEMA], {});
});

test('attribute names in paths and value objects match case-insensitively', () => {
  const next = applyScimPatch(user, [{ op: 'replace', path: 'NAME.GIVENNAME', value: 'Augusta' }, { op: 'replace', value: { USERNAME: 'augusta@example.com' } }]);
  assert.equal((next.name as Record<string, unknown>).givenName, 'Augusta');
  assert.equal(next.userName, 'augusta@example.com');
});

test('a value object may carry extension paths and dotted names as keys', () => {
  const next = applyScimPatch(user, [{ op: 'replace', value: { [`${ENTERPRISE_USER_SCHEMA}:department`]: 'Legal', 'name.givenName': 'A.' } }]);
  assert.equal((next[ENTERPRISE_USER_SCHEMA] as Record<string, unknown>).department, 'Legal');
  assert.equal((next.name as Record<string, unknown>).givenName, 'A.');
});

const refusals: [string, object, string][] = [
  ['remove without a path', { op: 'remove' }, 'noTarget'],
  ['an unknown op', { op: 'move', path: 'title', value: 'x' }, 'invalidValue'],
  ['a change of id', { op: 'replace', path: 'id', value: 'x' }, 'mutability'],
  ['a malformed path', { op: 'replace', path: 'emails[type eq].value', value: 'x' }, 'invalidPath'],
  ['replace without a path whose value is not an object', { op: 'replace', value: 'x' }, 'invalidValue'],
  ['a value filter matching nothing that names no type', { op: 'replace', path: 'emails[value co "nobody"].type', value: 'x' }, 'noTarget'],
];
for (const [what, op, scimType] of refusals) {
  test(`PATCH refuses ${what} with scimType ${scimType}`, () => {
    assert.throws(() => applyScimPatch(user, [op as never]), (e: unknown) => isJmlError(e, 'invalid_input') && e.details.scimType === scimType);
  });
}
