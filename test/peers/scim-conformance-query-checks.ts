/**
 * Conformance checks of querying users (RFC 7644 §3.4.2): the list envelope,
 * filters as provisioning clients send them, paging, sorting and attribute
 * projection. Every filter is scoped to users this run created (their
 * userNames share the run's prefix), so other data on the provider never
 * changes a verdict.
 */
import { CheckSkipped, LIST_RESPONSE, expect, expectError, expectStatus, feature, field, hasSchema, literal, query, resources, type CheckContext, type ConformanceCheck } from './scim-conformance-expect.ts';

async function list(context: CheckContext, path: string, what: string) {
  const answer = await context.request('GET', path);
  expectStatus(answer, 200, what);
  expect(hasSchema(answer.json, LIST_RESPONSE), `${what}: the body does not name the ListResponse schema`);
  return answer;
}

/** Creates `count` users whose userNames start with a common, run-unique stem and returns the stem. */
async function createTagged(context: CheckContext, tag: string, count: number, overrides: (i: number) => Record<string, unknown> = () => ({})) {
  const users = [];
  for (let i = 0; i < count; i++) {
    const seed = context.seed(tag);
    users.push(await context.createUser(overrides(i), seed));
  }
  return { users, stem: `${context.prefix}-${tag}-` };
}

export const QUERY_CHECKS: readonly ConformanceCheck[] = [
  {
    id: 'list-envelope',
    name: 'GET /Users?count=1&startIndex=1 answers a ListResponse with totalResults, itemsPerPage, startIndex and at most one resource',
    source: 'RFC 7644 §3.4.2, §3.4.2.4; Okta SCIM 2.0 Spec Test "Test Users endpoint"',
    async run(context) {
      await context.createUser();
      const answer = await list(context, '/Users?count=1&startIndex=1', 'GET /Users?count=1&startIndex=1');
      for (const name of ['totalResults', 'itemsPerPage', 'startIndex']) expect(typeof field(answer.json, name) === 'number', `${name} is not a number`);
      const page = resources(answer);
      expect(page.length === 1, `expected exactly one resource on a page of count=1 (at least one user exists), got ${page.length}`);
      expect(typeof field(page[0], 'id') === 'string', 'the listed user has no id');
    },
  },
  {
    id: 'filter-username-eq',
    name: 'filter userName eq finds exactly the user with that userName',
    source: 'RFC 7644 §3.4.2.2; Okta SCIM 2.0 Spec Test; Entra validator "Get User by query"',
    async run(context) {
      const user = await context.createUser();
      await context.createUser();
      const answer = await list(context, query(`userName eq ${literal(user.userName)}`), 'GET /Users?filter=userName eq');
      expect(field(answer.json, 'totalResults') === 1, `totalResults is ${field(answer.json, 'totalResults')}, expected 1`);
      expect(field(resources(answer)[0], 'id') === user.id, 'the filter answered another user');
    },
  },
  {
    id: 'filter-no-match',
    name: 'a filter that matches nobody answers 200 with totalResults 0, not 404',
    source: 'RFC 7644 §3.4.2; Okta SCIM 2.0 Spec Test "Make sure random user doesn\'t exist"; Entra validator "Get User by query - Zero results"',
    async run(context) {
      const answer = await list(context, query(`userName eq ${literal(`${context.prefix}-nobody@example.test`)}`), 'GET /Users?filter=userName eq <unknown>');
      expect(field(answer.json, 'totalResults') === 0, `totalResults is ${field(answer.json, 'totalResults')}, expected 0`);
      expect(resources(answer).length === 0, 'Resources is not empty');
    },
  },
  {
    id: 'filter-username-case-insensitive',
    name: 'userName matches case-insensitively in a filter',
    source: 'RFC 7643 §4.1.1 (userName caseExact false), RFC 7644 §3.4.2.2; Okta SCIM 2.0 Spec Test "Username Case Sensitivity Check"',
    async run(context) {
      const user = await context.createUser();
      const answer = await list(context, query(`userName eq ${literal(String(user.userName).toUpperCase())}`), 'GET /Users?filter=userName eq <upper case>');
      expect(field(answer.json, 'totalResults') === 1, `totalResults is ${field(answer.json, 'totalResults')} for the upper-cased userName, expected 1`);
    },
  },
  {
    id: 'filter-externalid-eq',
    name: 'filter externalId eq finds the user by the client\'s own key',
    source: 'RFC 7643 §3.1, RFC 7644 §3.4.2.2; matching key of Entra ID API-driven inbound provisioning',
    async run(context) {
      const user = await context.createUser();
      const answer = await list(context, query(`externalId eq ${literal(String(user.externalId))}`), 'GET /Users?filter=externalId eq');
      expect(field(answer.json, 'totalResults') === 1 && field(resources(answer)[0], 'id') === user.id, `externalId eq did not find exactly the user: ${answer.text.slice(0, 200)}`);
    },
  },
  {
    id: 'filter-logical',
    name: 'filters combine with and, or, not, sw and pr',
    source: 'RFC 7644 §3.4.2.2',
    async run(context) {
      const { users, stem } = await createTagged(context, 'logic', 3, (i) => ({ active: i !== 2 }));
      const cases: Array<[string, number]> = [
        [`userName sw ${literal(stem)} and active eq true`, 2],
        [`userName eq ${literal(users[0]!.userName)} or userName eq ${literal(users[2]!.userName)}`, 2],
        [`userName sw ${literal(stem)} and not (active eq true)`, 1],
        [`userName sw ${literal(stem)} and externalId pr`, 3],
      ];
      for (const [filter, expected] of cases) {
        const answer = await list(context, query(filter), `filter ${filter}`);
        expect(field(answer.json, 'totalResults') === expected, `filter ${filter}: totalResults ${field(answer.json, 'totalResults')}, expected ${expected}`);
      }
    },
  },
  {
    id: 'filter-value-path',
    name: 'a value-path filter on emails selects by a sub-attribute',
    source: 'RFC 7644 §3.4.2.2 (valuePath)',
    async run(context) {
      const { users, stem } = await createTagged(context, 'vpath', 2);
      const email = field(users[0], 'emails')?.[0]?.value as string;
      const filter = `userName sw ${literal(stem)} and emails[type eq "work" and value eq ${literal(email)}]`;
      const answer = await list(context, query(filter), 'value-path filter');
      expect(field(answer.json, 'totalResults') === 1 && field(resources(answer)[0], 'id') === users[0]!.id, `expected only ${users[0]!.userName}: ${answer.text.slice(0, 200)}`);
    },
  },
  {
    id: 'filter-invalid',
    name: 'a malformed filter is refused with 400 invalidFilter',
    source: 'RFC 7644 §3.4.2.2, §3.12',
    async run(context) {
      await expectError(await context.request('GET', query('userName eq')), 400, 'GET /Users?filter=userName eq (no value)', 'invalidFilter');
    },
  },
  {
    id: 'paging',
    name: 'startIndex and count page through a filtered result',
    source: 'RFC 7644 §3.4.2.4',
    async run(context) {
      const { stem } = await createTagged(context, 'page', 3);
      const first = await list(context, query(`userName sw ${literal(stem)}`, '&startIndex=1&count=2'), 'first page');
      expect(field(first.json, 'totalResults') === 3, `totalResults ${field(first.json, 'totalResults')}, expected 3`);
      expect(resources(first).length === 2 && field(first.json, 'itemsPerPage') === 2, `first page holds ${resources(first).length} (itemsPerPage ${field(first.json, 'itemsPerPage')}), expected 2`);
      const second = await list(context, query(`userName sw ${literal(stem)}`, '&startIndex=3&count=2'), 'second page');
      expect(resources(second).length === 1 && field(second.json, 'startIndex') === 3, `second page holds ${resources(second).length} from startIndex ${field(second.json, 'startIndex')}, expected 1 from 3`);
      const ids = new Set([...resources(first), ...resources(second)].map((r) => field(r, 'id')));
      expect(ids.size === 3, 'the two pages overlap');
    },
  },
  {
    id: 'sort',
    name: 'sortBy=userName&sortOrder=descending orders the result',
    source: 'RFC 7644 §3.4.2.3 (when sort.supported)',
    async run(context) {
      await feature(context, 'sort');
      const { stem } = await createTagged(context, 'sort', 3);
      const answer = await list(context, query(`userName sw ${literal(stem)}`, '&sortBy=userName&sortOrder=descending'), 'sorted list');
      const names = resources(answer).map((r) => String(field(r, 'userName')));
      const sorted = [...names].sort().reverse();
      expect(names.length === 3 && names.every((n, i) => n === sorted[i]), `userNames not in descending order: ${names.join(', ')}`);
    },
  },
  {
    id: 'attributes-projection',
    name: 'attributes=userName returns id and userName and leaves the rest out',
    source: 'RFC 7644 §3.4.2.5, §3.9 (id is always returned)',
    async run(context) {
      const user = await context.createUser();
      const answer = await list(context, query(`userName eq ${literal(user.userName)}`, '&attributes=userName'), 'attributes=userName');
      const found = resources(answer)[0];
      expect(found, 'the user was not listed');
      expect(field(found, 'id') === user.id && field(found, 'userName') === user.userName, 'id or userName missing from the projection');
      expect(field(found, 'emails') === undefined && field(found, 'name') === undefined, `attributes not asked for were returned: ${JSON.stringify(found).slice(0, 200)}`);
    },
  },
  {
    id: 'excluded-attributes',
    name: 'excludedAttributes=emails leaves emails out and keeps the rest',
    source: 'RFC 7644 §3.4.2.5',
    async run(context) {
      const user = await context.createUser();
      const answer = await context.request('GET', `/Users/${encodeURIComponent(user.id)}?excludedAttributes=emails`);
      expectStatus(answer, 200, 'GET /Users/{id}?excludedAttributes=emails');
      expect(field(answer.json, 'emails') === undefined, 'emails was returned although excluded');
      expect(field(answer.json, 'userName') === user.userName, 'userName is missing');
    },
  },
  {
    id: 'search-post',
    name: 'POST /Users/.search runs the same query as GET',
    source: 'RFC 7644 §3.4.3 (MAY: counted as skipped when the endpoint is absent)',
    async run(context) {
      const user = await context.createUser();
      const answer = await context.request('POST', '/Users/.search', {
        body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: `userName eq ${literal(user.userName)}`, startIndex: 1, count: 10 },
      });
      if ([404, 405, 501].includes(answer.status)) throw new CheckSkipped(`POST /Users/.search is not offered (${answer.status})`);
      expectStatus(answer, 200, 'POST /Users/.search');
      expect(field(answer.json, 'totalResults') === 1, `totalResults ${field(answer.json, 'totalResults')}, expected 1`);
    },
  },
];
