import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FAKE_WIKI_POLICY, writePolicyDir } from '../../test/support/jml-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import { filesDigest, loadPolicy, policyDirDigest } from '../policy/index.ts';
import { createPolicyWatch } from './policy-watch.ts';

test('the directory digest matches the digest of the files a load read, and changes with any byte', async () => {
  const dir = writePolicyDir(FAKE_WIKI_POLICY);
  const digest = await policyDirDigest(dir);
  assert.equal(digest, filesDigest((await loadPolicy(dir)).files));
  appendFileSync(join(dir, 'rules.yaml'), '# a comment\n');
  assert.notEqual(await policyDirDigest(dir), digest);
});

for (const backend of testBackends()) {
  describe(`policy watch (${backend.name})`, () => {
    test('a watch reloads only when the content changed, records each new version once, and keeps the last good policy', async () => {
      const store = await backend.open();
      try {
        const dir = writePolicyDir(FAKE_WIKI_POLICY);
        const invalid: Error[] = [];
        const watch = createPolicyWatch({ dir, db: store.db, actor: 'w', onInvalid: (e) => void invalid.push(e) });
        const first = await watch.check();
        assert.equal((await watch.check()).changed, false);
        appendFileSync(join(dir, 'rules.yaml'), '# formatting only\n');
        assert.equal((await watch.check()).changed, false, 'same content, same policy');

        writeFileSync(join(dir, 'broken.yaml'), 'rules: [ { name: x } ]\n');
        assert.equal((await watch.check()).loaded.hash, first.loaded.hash);
        assert.equal((await watch.check()).loaded.hash, first.loaded.hash);
        assert.equal(invalid.length, 1, 'told once per broken state');

        writeFileSync(join(dir, 'broken.yaml'), 'roles:\n  - { name: extra, inducements: [{ entitlement: "wiki:admins" }] }\n');
        const next = await watch.check();
        assert.equal(next.changed, true);
        assert.notEqual(next.loaded.hash, first.loaded.hash);
        const loads = await store.db.selectFrom('audit_log').select('details').where('action', '=', 'policy.loaded').orderBy('seq').execute();
        assert.deepEqual(loads.map((l) => (l.details as { hash: string }).hash), [first.loaded.hash, next.loaded.hash]);
      } finally {
        await store.close();
      }
    });
  });
}
