/**
 * The SQL translation of SCIM filters (src/app/inbound/scim-filter-sql.ts)
 * judged by the in-memory evaluator it replaces (scim-filter.ts, over the
 * resources GET answers): random filters over a random population must select
 * the same Users, in the same order and pages, on each backend. Seeded; rerun a
 * failure with JML_FUZZ_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { toScimUser } from '../../src/api/scim/scim-representation.ts';
import { matchesScimFilter, parseAttributePath, parseScimFilter } from '../../src/app/inbound/scim-filter.ts';
import { filterCondition } from '../../src/app/inbound/scim-filter-sql.ts';
import { storableResource, type StoredUser } from '../../src/app/inbound/scim-resource-store.ts';
import { findScimUsers } from '../../src/app/inbound/scim-user-query.ts';
import { sortResources } from '../../src/api/scim/scim-representation.ts';
import { ENTERPRISE_USER_SCHEMA } from '../../src/sources/scim-user-table.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { seededRandom, type Random } from './fuzz-values.ts';

const SEED = Number(process.env.JML_FUZZ_SEED ?? 20261206);
const FILTERS = 400;
const SOURCE = 'pushed';
const BASE = 'http://localhost/scim/v2';

const TITLES = ['Engineer', 'engineering Lead', 'a%b', 'a_b', 'a\\b', 'axb', 'ab', 'Sales', '', 42, true, ['x', 'Engineer']];
const NAMES = ['Ada', 'ada', 'Grace', 'Émile', 'O\'Brien', 'x_y', '50%'];
const NUMBERS = ['10', ' 7 ', '3.5', '-2', '1e2', 'x', '', 12, 0.5, '0x10'];

function person(i: number, rng: Random): Record<string, unknown> {
  const maybe = <T>(value: T): T | undefined => (rng.chance(0.8) ? value : undefined);
  const enterpriseKey = rng.chance(0.7) ? ENTERPRISE_USER_SCHEMA : ENTERPRISE_USER_SCHEMA.toLowerCase();
  const resource: Record<string, unknown> = {
    externalId: rng.chance(0.5) ? `E${i}` : `e${i}`,
    userName: `${rng.pick(NAMES)}.${i}@${rng.pick(['Example.com', 'example.COM', 'test.org'])}`,
    title: maybe(rng.pick(TITLES)),
    active: maybe(rng.pick([true, false, 'True', 'False', 'maybe', ' true '])),
    nickName: maybe(rng.pick(NUMBERS)),
    name: maybe(rng.chance(0.2) ? { GivenName: rng.pick(NAMES) } : { givenName: rng.pick(NAMES), familyName: maybe(rng.pick(NAMES)) }),
    emails: maybe(Array.from({ length: rng.int(4) }, (_, k) => ({ value: `${rng.pick(NAMES)}${k}@${rng.pick(['example.com', 'a%b.org'])}`, type: rng.pick(['work', 'home', 'Work']), primary: rng.pick([true, false, 'True']) }))),
    [enterpriseKey]: maybe({ department: maybe(rng.pick(['Eng', 'eng', 'Sales', 'R&D_1'])), employeeNumber: maybe(rng.pick(NUMBERS)), manager: maybe(rng.pick(['E1', 'e2', { value: 'E3' }, { value: '' }, ''])) }),
  };
  return storableResource(Object.fromEntries(Object.entries(resource).filter(([, v]) => v !== undefined)));
}

const STRING_PATHS = ['userName', 'USERNAME', 'externalId', 'id', 'title', 'name.givenName', 'name.familyName', 'emails', 'emails.value', 'emails.type', 'nickName', 'displayName', 'meta.version', 'meta.resourceType', 'meta.created', `${ENTERPRISE_USER_SCHEMA}:department`, `${ENTERPRISE_USER_SCHEMA}:manager`, `${ENTERPRISE_USER_SCHEMA}:manager.value`, 'urn:ietf:params:scim:schemas:core:2.0:User:userName'];
const BOOLEAN_PATHS = ['active', 'emails.primary', 'title'];
const NUMBER_PATHS = ['nickName', `${ENTERPRISE_USER_SCHEMA}:employeeNumber`, 'title', 'meta.version'];
const FRAGMENTS = ['a', 'A', 'e1', 'E1', 'ada', '@example.com', '%', '_', '\\', 'a%b', 'a_b', 'a\\b', 'eng', 'True', 'W/"2"', '2026-', '', 'User', 'Sales', '7', '10'];

function leaf(rng: Random): string {
  const kind = rng.int(10);
  if (kind === 0) return `${rng.pick([...STRING_PATHS, ...BOOLEAN_PATHS])} pr`;
  if (kind === 1) return `${rng.pick(BOOLEAN_PATHS)} ${rng.pick(['eq', 'ne'])} ${rng.pick(['true', 'false'])}`;
  if (kind === 2) return `${rng.pick(NUMBER_PATHS)} ${rng.pick(['eq', 'ne', 'gt', 'ge', 'lt', 'le'])} ${rng.pick(['7', '10', '3.5', '-2', '100', '0.5', '12'])}`;
  if (kind === 3) return `${rng.pick(STRING_PATHS)} ${rng.pick(['eq', 'ne'])} null`;
  if (kind === 4) return `emails[${leafIn(rng)}${rng.chance(0.5) ? ` ${rng.pick(['and', 'or'])} ${leafIn(rng)}` : ''}]`;
  return `${rng.pick(STRING_PATHS)} ${rng.pick(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'])} ${JSON.stringify(rng.pick(FRAGMENTS))}`;
}

function leafIn(rng: Random): string {
  if (rng.chance(0.2)) return `primary eq ${rng.pick(['true', 'false'])}`;
  return `${rng.pick(['value', 'type', 'VALUE'])} ${rng.pick(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt'])} ${JSON.stringify(rng.pick([...FRAGMENTS, 'work', 'Work']))}`;
}

function randomFilter(rng: Random, depth = 0): string {
  if (depth >= 3 || rng.chance(0.4)) return leaf(rng);
  const r = rng.int(4);
  if (r === 0) return `not (${randomFilter(rng, depth + 1)})`;
  if (r === 1) return `(${randomFilter(rng, depth + 1)})`;
  return `${randomFilter(rng, depth + 1)} ${r === 2 ? 'and' : 'or'} ${randomFilter(rng, depth + 1)}`;
}

for (const backend of testBackends()) {
  describe(`SCIM filters in SQL on ${backend.name}`, () => {
    let store: Store;
    let users: StoredUser[];
    const represent = (u: StoredUser) => toScimUser(u, `${BASE}/Users/${encodeURIComponent(u.id)}`);
    before(async () => {
      store = await backend.open();
      const rng = seededRandom(SEED);
      const rows = Array.from({ length: 120 }, (_, i) => ({
        source: SOURCE,
        id: rng.chance(0.5) ? `E${i}` : `e${i}`,
        resource: JSON.stringify(person(i, rng)),
        version: 1 + rng.int(3),
        present: rng.chance(0.95),
        created_at: new Date(Date.UTC(2026, 0, 1 + rng.int(300))).toISOString(),
        updated_at: new Date(Date.UTC(2026, 10, 1 + rng.int(20), rng.int(24))).toISOString(),
      }));
      await store.db.insertInto('scim_resources').values([...rows, { ...rows[0]!, source: 'other', id: 'X1' }]).execute();
      users = (await findScimUsers(store.db, SOURCE, { filter: null, sortBy: null, descending: false, startIndex: 1, count: 10_000 })).users as StoredUser[];
      assert.equal(users.length, rows.filter((r) => r.present).length);
    });
    after(async () => store.close());

    /** What GET /Users answers: SQL's page, or SQL's candidates finished in memory (as scim-user-routes.ts does). */
    const answer = async (filter: ReturnType<typeof parseScimFilter>, sortBy: string | null, descending: boolean, startIndex: number, count: number, deepPaths: boolean) => {
      const found = await findScimUsers(store.db, SOURCE, { filter, sortBy: sortBy ? parseAttributePath(sortBy) : null, descending, startIndex, count }, { deepPaths });
      if (found.kind === 'page') return { exact: true, total: found.total, ids: found.users.map((u) => u.id) };
      let all = found.users.map(represent).filter((r) => matchesScimFilter(r, filter));
      if (sortBy) all = sortResources(all, sortBy, descending ? 'descending' : 'ascending');
      return { exact: false, total: all.length, ids: all.slice(startIndex - 1, startIndex - 1 + count).map((r) => String(r.id)) };
    };

    for (const deepPaths of [true, false]) {
      // Deep paths in SQL cost PostgreSQL seconds per statement (see scim-filter-sql.ts): fewer of them there.
      const filters = deepPaths && backend.name === 'postgres' ? 40 : FILTERS;
      const rounds = deepPaths && backend.name === 'postgres' ? 10 : 60;
      test(`${filters} random filters select the same Users from SQL as the in-memory evaluator${deepPaths ? ', each decided by SQL alone when deep paths are translated too' : ', with deep paths (extensions, sub-attributes, value paths) finished in memory as served'} (seed ${SEED})`, async () => {
        const rng = seededRandom(SEED + 1);
        const mismatches: string[] = [];
        let matched = 0;
        let exact = 0;
        for (let n = 0; n < filters; n += 1) {
          const text = randomFilter(rng);
          const filter = parseScimFilter(text);
          const expected = users.filter((u) => matchesScimFilter(represent(u), filter)).map((u) => u.id);
          const got = await answer(filter, null, false, 1, 10_000, deepPaths);
          if (deepPaths) assert.ok(got.exact, `${text}: translated exactly`);
          if (got.exact) exact += 1;
          if (JSON.stringify(got.ids) !== JSON.stringify(expected) || got.total !== expected.length) mismatches.push(`${text}\n    SQL ${JSON.stringify(got.ids)}\n    memory ${JSON.stringify(expected)}`);
          if (expected.length > 0 && expected.length < users.length) matched += 1;
        }
        assert.deepEqual(mismatches.slice(0, 5), []);
        assert.ok(matched > filters / 4, `most filters select some but not all Users (${matched})`);
        if (!deepPaths) assert.ok(exact > filters / 5, `the flat filters are decided by SQL alone (${exact} of ${filters})`);
      });

      test(`sorted pages with startIndex and count, and totalResults, are the in-memory ones${deepPaths ? ' (deep paths in SQL)' : ''}`, async () => {
        const rng = seededRandom(SEED + 2);
        for (let n = 0; n < rounds; n += 1) {
          const text = randomFilter(rng);
          const filter = parseScimFilter(text);
          const sortBy = rng.pick(['userName', 'title', 'name.givenName', 'emails', 'emails.type', `${ENTERPRISE_USER_SCHEMA}:manager`, 'nickName', 'meta.lastModified', 'externalId']);
          const descending = rng.chance(0.5);
          const startIndex = 1 + rng.int(20);
          const count = rng.int(15);
          const all = sortResources(users.map(represent).filter((r) => matchesScimFilter(r, filter)), sortBy, descending ? 'descending' : 'ascending');
          const got = await answer(filter, sortBy, descending, startIndex, count, deepPaths);
          if (deepPaths) assert.ok(got.exact, `${text} sorted by ${sortBy}: translated exactly`);
          assert.equal(got.total, all.length, `${text}: totalResults`);
          assert.deepEqual(got.ids, all.slice(startIndex - 1, startIndex - 1 + count).map((r) => r.id), `${text} sorted by ${sortBy} ${descending ? 'descending' : 'ascending'} from ${startIndex}, ${count}`);
        }
      });
    }

    test('a filter value with %, _ and \\ is matched literally, not as a LIKE pattern', async () => {
      const titles = (await store.db.selectFrom('scim_resources').select(['id', 'resource']).where('source', '=', SOURCE).where('present', '=', true).execute());
      const withTitle = (t: string) => titles.filter((r) => r.resource.title === t).map((r) => r.id).sort();
      const ids = async (text: string) => ((await findScimUsers(store.db, SOURCE, { filter: parseScimFilter(text), sortBy: null, descending: false, startIndex: 1, count: 10_000 })).users.map((u) => u.id)).sort();
      assert.ok(withTitle('a%b').length > 0 && withTitle('a_b').length > 0 && withTitle('a\\b').length > 0 && withTitle('axb').length > 0, 'the population has each title');
      assert.deepEqual(await ids('title co "%"'), withTitle('a%b'));
      assert.deepEqual(await ids('title sw "a_"'), withTitle('a_b'));
      assert.deepEqual(await ids('title co "\\\\"'), withTitle('a\\b'));
      assert.deepEqual(await ids('title ew "%b"'), withTitle('a%b'));
      assert.deepEqual(await ids('title eq "a_b"'), withTitle('a_b'));
    });

    test('a filter on what only the response knows (schemas, meta.location) is finished in memory, narrowed by SQL where it can be', () => {
      assert.deepEqual(filterCondition(parseScimFilter('meta.location co "/Users/E1"')), { where: null, exact: false });
      assert.equal(filterCondition(parseScimFilter('emails[type eq "work"]')).exact, false, 'a value path is finished in memory unless deep paths are asked for');
      assert.equal(filterCondition(parseScimFilter('emails[type eq "work"]'), { deepPaths: true }).exact, true);
      const mixed = filterCondition(parseScimFilter('title eq "Sales" and schemas eq "urn:x"'));
      assert.equal(mixed.exact, false);
      assert.notEqual(mixed.where, null, 'the title part still narrows the rows read');
      assert.equal(filterCondition(parseScimFilter('title eq "Sales" or schemas eq "urn:x"')).where, null);
    });

    test('a boolean compared by order is refused as an invalid filter before anything is read', () => {
      assert.throws(() => filterCondition(parseScimFilter('active gt true')), /invalid filter: gt does not apply to a boolean/);
    });
  });
}
