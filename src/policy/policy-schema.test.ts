import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemSchema } from './policy-schema.ts';

const system = (type: string, extra: Record<string, unknown> = {}) => ({ name: 'sys', owner: 'E1', connector: { type, settings: {} }, ...extra });

test('a directory system scrambles passwords on disable and issues new ones on enable unless policy says keep', () => {
  for (const type of ['ldap', 'ad']) {
    assert.deepEqual(systemSchema.parse(system(type)).credentials, { onDisable: 'scramble', onEnable: 'new_secret' });
  }
  assert.deepEqual(systemSchema.parse(system('ldap', { credentials: { on_enable: 'keep' } })).credentials, { onDisable: 'scramble', onEnable: 'keep' });
  assert.deepEqual(systemSchema.parse(system('ad', { credentials: { on_disable: 'keep', on_enable: 'keep' } })).credentials, { onDisable: 'keep', onEnable: 'keep' });
});

test('a system whose passwords jml does not manage keeps them, and asking it to scramble is an error naming the field', () => {
  assert.deepEqual(systemSchema.parse(system('scim')).credentials, { onDisable: 'keep', onEnable: 'keep' });
  const result = systemSchema.safeParse(system('scim', { credentials: { on_disable: 'scramble' } }));
  assert.equal(result.success, false);
  assert.deepEqual(result.error?.issues.map((i) => [i.path.join('.'), i.message]), [['credentials', 'jml sets passwords only in ldap and ad systems, not scim; use keep or leave credentials out']]);
  assert.equal(systemSchema.safeParse(system('ldap', { credentials: { on_disable: 'shred' } })).success, false);
});
