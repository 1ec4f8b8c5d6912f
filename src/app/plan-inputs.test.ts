import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testBackends } from '../../test/support/backends.ts';
import type { Store } from '../store/open-store.ts';
import { loadIdentities } from './plan-inputs.ts';

/** Attribute values COPY's text format escapes or must carry unchanged: tabs, newlines, backslashes, a lone `\N`, quotes, letters outside ASCII. */
const AWKWARD = ['tab\there', 'line\nbreak\r\n', 'back\\slash \\N', '\\N', "it's \"quoted\"", 'Zürich ～ 😀', ''];

for (const backend of testBackends()) {
  describe(`loading identities (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      await store.db.insertInto('identities').values([
        ...AWKWARD.map((value, i) => ({
          key: `p${i}`, kind: 'employee', status: i % 2 === 0 ? 'active' : 'left', source: 'hr',
          attributes: JSON.stringify({ display_name: value, manager: null, [`field ${value}`]: 'x' }),
          start_date: i === 0 ? null : `2026-0${i}-1${i}`, end_date: i === 1 ? '2026-12-31' : null, owner: i === 2 ? 'p0' : null, sponsor: i === 3 ? 'p1' : null,
        })),
        { key: 'a-first-integration-with-a-long-key', kind: 'service', status: 'active', source: 'a-source-with-a-long-name', attributes: JSON.stringify({}), start_date: null, end_date: null, owner: 'p0', sponsor: 'p1-sponsor-with-a-long-key' },
      ]).execute();
    });
    after(() => store.close());

    test('everyone, read as COPY text, comes back in key order exactly as the row protocol reads them', async () => {
      const all = await loadIdentities(store.db);
      assert.deepEqual(all.map((i) => i.key), ['a-first-integration-with-a-long-key', ...AWKWARD.map((_, i) => `p${i}`)]);
      // The same identities by key go through the driver's rows.
      assert.deepEqual(all, await loadIdentities(store.db, all.map((i) => i.key)));
      assert.deepEqual(all.slice(1).map((i) => i.attributes.display_name), AWKWARD);
      assert.deepEqual(all[1], {
        key: 'p0', kind: 'employee', status: 'active', source: 'hr', attributes: { display_name: 'tab\there', manager: null, 'field tab\there': 'x' },
        startDate: null, endDate: null, owner: null, sponsor: null,
      });
      assert.deepEqual([all[2]!.startDate, all[2]!.endDate, all[3]!.owner, all[4]!.sponsor], ['2026-01-11', '2026-12-31', 'p0', 'p1']);
      // Long fields (kept apart from their row's text) read as written.
      assert.deepEqual([all[0]!.key, all[0]!.source, all[0]!.sponsor], ['a-first-integration-with-a-long-key', 'a-source-with-a-long-name', 'p1-sponsor-with-a-long-key']);
    });

    test('no keys asked for reads no one; an unknown key is skipped', async () => {
      assert.deepEqual(await loadIdentities(store.db, []), []);
      assert.deepEqual((await loadIdentities(store.db, ['p1', 'nobody'])).map((i) => i.key), ['p1']);
    });
  });
}
