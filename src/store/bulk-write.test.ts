import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testBackends } from '../../test/support/backends.ts';
import { bulkInsert } from './bulk-write.ts';

for (const backend of testBackends()) {
  test(`a text[] column goes in with its row, empty arrays and awkward strings intact, across chunks (${backend.name})`, async () => {
    const store = await backend.open();
    try {
      await store.db.insertInto('review_campaigns').values({ id: 'rc', review: 'r', definition: '{}', state: 'open', snapshot_hash: 'h', started_at: new Date().toISOString(), started_by: 't', due_at: new Date().toISOString() }).execute();
      const reviewers = [[], ['M1'], ['a,b', 'say "hi"', '{braces}', 'NULL', ''], ['M1', 'M2']];
      const rows = reviewers.map((r, i) => ({ id: `i${i}`, campaign_id: 'rc', identity_key: `E${i}`, system: 's', entitlement: null, privileged: false, context: { n: i }, reviewers: r }));
      await bulkInsert(store.db, 'review_items', { id: 'text', campaign_id: 'text', identity_key: 'text', system: 'text', entitlement: 'text', privileged: 'boolean', context: 'jsonb', reviewers: 'text[]' }, rows, { chunkSize: 3 });
      const back = await store.db.selectFrom('review_items').select(['id', 'reviewers', 'context']).orderBy('id').execute();
      assert.deepEqual(back.map((r) => [r.id, r.reviewers, r.context]), rows.map((r) => [r.id, r.reviewers, r.context]));
    } finally {
      await store.close();
    }
  });
}
