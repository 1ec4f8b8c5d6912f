import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FAKE_WIKI_POLICY, writePolicyDir } from '../../test/support/jml-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import { createIdentityAccess, POLICY_TTL_MS } from './identity-access.ts';

for (const backend of testBackends()) {
  describe(`identity access (${backend.name})`, () => {
    test('the identity page keeps one loaded policy while its files are unchanged and explains with an edited one once the cache time has passed', async () => {
      const store = await backend.open();
      try {
        await store.db.insertInto('identities').values({ key: 'E1', kind: 'employee', status: 'active', source: 'hr', attributes: JSON.stringify({ department: 'Sales' }) } as never).execute();
        const dir = writePolicyDir(FAKE_WIKI_POLICY);
        let clock = Date.parse('2026-12-01T09:00:00Z');
        const access = createIdentityAccess({ db: store.db, config: { policy_dir: dir, timezone: 'UTC' }, now: () => new Date(clock) });
        const desired = async () => (await access.accessOf('E1'))!.desired.map((d) => `${d.system}:${d.entitlement}`);

        const first = await access.policy();
        assert.deepEqual(await desired(), ['wiki:staff']);
        clock += POLICY_TTL_MS + 1;
        assert.equal(await access.policy(), first, 'unchanged files: the same loaded policy, not a second parse');

        writeFileSync(join(dir, 'rules.yaml'), FAKE_WIKI_POLICY['rules.yaml']!.replace('equals: { department: Engineering }', 'equals: { department: Sales }'));
        assert.deepEqual(await desired(), ['wiki:staff'], 'within the cache time the page still explains with the policy it had');
        clock += POLICY_TTL_MS + 1;
        assert.deepEqual(await desired(), ['wiki:eng', 'wiki:staff']);
      } finally {
        await store.close();
      }
    });
  });
}
