import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapCredential, type CredentialEntry } from './credential-mapper.ts';

function entry(kind: string): CredentialEntry {
  return {
    file: 'hr.csv',
    values: { system: 'github', kind, name: 'deploy-key', created: '2025-01-10' },
    rowOf: () => 2,
    columnOf: (part) => part,
    formatOf: () => 'iso',
  };
}

test('a credential kind that only Object.prototype knows ("constructor", "toString") is an unknown kind, named by row and column', () => {
  for (const kind of ['constructor', 'toString', '__proto__']) {
    const result = mapCredential(entry(kind), 'UTC');
    assert.ok('errors' in result, `${kind} was accepted as a credential kind`);
    assert.deepEqual(result.errors.map((e) => [e.file, e.row, e.column]), [['hr.csv', 2, 'kind']]);
    assert.match(result.errors[0]!.message, new RegExp(`unknown credential kind "${kind}"`));
  }
});

test('the kind aliases still map: cert is a certificate', () => {
  const result = mapCredential(entry('cert'), 'UTC');
  assert.ok('credential' in result);
  assert.equal(result.credential.kind, 'certificate');
});
