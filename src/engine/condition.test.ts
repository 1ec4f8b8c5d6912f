import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Condition } from '../domain/policy.ts';
import { compileCondition } from './condition.ts';
import { person } from './engine-fixture.ts';

const ada = person('E1', {
  kind: 'contractor',
  startDate: '2026-01-10',
  endDate: '2026-07-01',
  attributes: { department: 'Engineering', location: 'Berlin', title: 'Senior Engineer' },
});
const context = { today: '2026-06-15' };

const table: [string, Condition, boolean][] = [
  ['equals', { equals: { department: 'Engineering' } }, true],
  ['equals is case-sensitive', { equals: { department: 'engineering' } }, false],
  ['equals with two fields needs both', { equals: { department: 'Engineering', location: 'Paris' } }, false],
  ['in', { in: { location: ['Berlin', 'Paris'] } }, true],
  ['kind', { kind: ['employee'] }, false],
  ['exists', { exists: 'title' }, true],
  ['exists on an empty field', { exists: 'cost_center' }, false],
  ['matches', { matches: { title: '^Senior ' } }, true],
  ['before', { before: { start_date: '2027-01-01' } }, true],
  ['before today', { before: { end_date: 'today' } }, false],
  ['after', { after: { start_date: '2026-01-10' } }, false],
  ['within_days inside', { within_days: { end_date: 30 } }, true],
  ['within_days outside', { within_days: { end_date: 10 } }, false],
  ['a missing date never compares', { after: { hire_date: '2000-01-01' } }, false],
  ['not', { not: { kind: ['contractor'] } }, false],
  ['all', { all: [{ kind: ['contractor'] }, { equals: { location: 'Berlin' } }] }, true],
  ['any', { any: [{ kind: ['employee'] }, { equals: { location: 'Paris' } }] }, false],
];

for (const [name, condition, expected] of table) {
  test(`condition ${name} is ${expected} for a senior contractor in Berlin`, () => {
    assert.equal(compileCondition(condition)(ada, context), expected);
  });
}
