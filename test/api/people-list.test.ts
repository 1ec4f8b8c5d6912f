/**
 * The people list on every backend: pages by key (prepared statements for
 * everyone, filtered or not; built per request with a search, by name or in a
 * caller's own scope), and its total, counted
 * once for the pages turned within its life, recounted behind the pages once
 * it is three quarters old, never older than two seconds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LIST_TOTAL_TTL_MS, RECOUNT_AFTER } from '../../src/api/list-totals.ts';
import { readChangeMark } from '../../src/store/change-mark.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { person, seedIdentities } from '../support/jml-fixture.ts';
import { seedOrganisation, startApi } from './api-fixture.ts';

for (const backend of testBackends()) {
  describe(`people list (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;
    // A clock that moves only when the test moves it.
    let clock = Date.now();
    const total = async (url = '/api/people?limit=2') => {
      const res = await api.app.inject({ method: 'GET', url, headers: { cookie: api.sessions.admin.cookie } });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { total: number }).total;
    };

    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      api = await startApi(store, { now: () => new Date(clock) });
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });

    test('a person added shows in the total after a recount that no page waited for, and never later than the total’s life', async () => {
      const first = await total();
      await seedIdentities(store.db, [person('new-1')]);
      assert.equal(await total(), first, 'a fresh total is reused: nothing counted again');
      clock += LIST_TOTAL_TTL_MS * RECOUNT_AFTER + 1;
      assert.equal(await total(), first, 'the page that starts a recount gets the total there is');
      let seen = first;
      for (let i = 0; i < 100 && seen === first; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        seen = await total();
      }
      assert.equal(seen, first + 1, 'the recount replaced the total while it was still fresh');
      await seedIdentities(store.db, [person('new-2')]);
      clock += LIST_TOTAL_TTL_MS + 1;
      assert.equal(await total(), first + 2, 'a total past its life is counted again before the page answers');
    });

    test('the change mark behind the total stands still while nothing is written, and moves when a write commits or rolls back', async () => {
      const first = await readChangeMark(store.db);
      assert.equal(await readChangeMark(store.db), first, 'reads alone leave it as it was');
      await seedIdentities(store.db, [person('mark-1')]);
      const written = await readChangeMark(store.db);
      assert.notEqual(written, first);
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await seedIdentities(trx, [person('mark-2')]);
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      assert.notEqual(await readChangeMark(store.db), written);
    });

    test('paging by key gives, for every combination of filters and with a search, exactly the matching people once each, in key order', async () => {
      // Besides the organisation: someone of another kind, status and department, so each filter leaves someone out.
      await seedIdentities(store.db, [
        person('zz-con', { first_name: 'Zed', department: 'ops', manager: 'mgr-a' }, { kind: 'contractor' }),
        person('zz-left', { first_name: 'Zoe', department: 'eng', manager: 'mgr-a' }, { status: 'left' }),
      ]);
      const walk = async (filter: string) => {
        const keys: string[] = [];
        let cursor: string | null = null;
        do {
          const url: string = `/api/people?limit=2${filter}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
          const res = await api.app.inject({ method: 'GET', url, headers: { cookie: api.sessions.admin.cookie } });
          assert.equal(res.statusCode, 200, res.body);
          const body = res.json() as { items: { key: string }[]; nextCursor: string | null };
          keys.push(...body.items.map((i) => i.key));
          cursor = body.nextCursor;
        } while (cursor && keys.length < 1_000);
        return keys;
      };
      const rows = await store.db.selectFrom('identities').select(['key', 'kind', 'status', 'attributes']).orderBy('key').execute();
      const people = rows.map((r) => ({ key: r.key, kind: r.kind, status: r.status, department: r.attributes.department, manager: r.attributes.manager }));
      const cases: Record<string, string>[] = [
        {},
        { kind: 'employee' },
        { status: 'active' },
        { department: 'eng' },
        { manager: 'mgr-a' },
        { status: 'active', department: 'eng' },
        { kind: 'contractor', manager: 'mgr-a' },
        { status: 'active', kind: 'employee', department: 'eng', manager: 'mgr-a' },
        // Exact, case included: nobody.
        { department: 'Eng' },
      ];
      for (const filters of cases) {
        const expected = people.filter((p) => Object.entries(filters).every(([f, v]) => (p as Record<string, unknown>)[f] === v)).map((p) => p.key);
        const query = Object.entries(filters).map(([f, v]) => `&${f}=${encodeURIComponent(v)}`).join('');
        assert.deepEqual(await walk(query), expected, `filters ${query || '(none)'}`);
        if (Object.keys(filters).length > 0 && filters.department !== 'Eng') assert.ok(expected.length > 0 && expected.length < people.length, `filters ${query} leave someone out`);
      }
      // A search is built per request and pages the same way (everyone's email ends in example.test).
      assert.deepEqual(await walk('&q=test&department=eng'), people.filter((p) => p.department === 'eng').map((p) => p.key));
    });

    test('a row shows the same summary as the identity page, unfiltered, filtered and by name (read field by field on PostgreSQL)', async () => {
      await seedIdentities(store.db, [
        person('sum-1', { display_name: 'Grace H.', department: 'Summaries', title: 'Admiral', manager: 'sum-2' }, { startDate: '2020-02-03', endDate: '2030-04-05' }),
        person('sum-2', { first_name: 'Alan', last_name: '', email: null, department: 'Summaries' }),
      ]);
      const get = async (url: string) => (await api.app.inject({ method: 'GET', url, headers: { cookie: api.sessions.admin.cookie } })).json() as { items: Record<string, unknown>[] };
      const pageSummary = async (key: string) => {
        const { identity } = (await get(`/api/people/${key}`)) as unknown as { identity: Record<string, unknown> };
        return Object.fromEntries(['key', 'displayName', 'kind', 'status', 'email', 'department', 'title', 'manager', 'startDate', 'endDate'].map((f) => [f, identity[f]]));
      };
      const expected = [await pageSummary('sum-1'), await pageSummary('sum-2')];
      assert.deepEqual(expected.map((e) => [e.displayName, e.email, e.title, e.manager, e.endDate]), [['Grace H.', 'sum-1@example.test', 'Admiral', 'sum-2', '2030-04-05'], ['Alan', null, null, null, null]]);
      assert.deepEqual((await get('/api/people?limit=2&cursor=sum-0')).items, expected, 'everyone by key (the prepared statement)');
      assert.deepEqual((await get('/api/people?limit=5&department=Summaries')).items, expected, 'filtered (a prepared statement too)');
      assert.deepEqual((await get('/api/people?limit=5&department=Summaries&q=a')).items, expected, 'searched (built per request)');
      assert.deepEqual((await get('/api/people?limit=5&department=Summaries&sort=name')).items, [expected[1], expected[0]], 'by name');
    });

    test('a filter has a total of its own, counted when first asked', async () => {
      assert.equal(await total('/api/people?limit=2&q=mgr'), 2);
    });
  });
}
