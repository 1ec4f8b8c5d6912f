/**
 * The SCIM 2.0 conformance checks run by scim-conformance.ts. Each states the
 * expectation it holds a provider to and where that expectation comes from:
 * a MUST/SHALL of RFC 7643/7644, or a step of a test that Okta (its "SCIM 2.0
 * Spec Test") or Microsoft (the Entra ID SCIM validator and its documented
 * request shapes) publish for providers. The wording and code are jml's; the
 * expectations are theirs. Optional features (sorting, ETags, Bulk) are
 * checked only when the provider advertises them in ServiceProviderConfig,
 * otherwise they count as skipped.
 */
import {
  CORE_USER,
  ENTERPRISE_USER,
  brief,
  expect,
  expectError,
  expectStatus,
  field,
  hasSchema,
  resources,
  userById,
  type ConformanceCheck,
} from './scim-conformance-expect.ts';
import { QUERY_CHECKS } from './scim-conformance-query-checks.ts';
import { MODIFY_CHECKS } from './scim-conformance-modify-checks.ts';
import { ORACLE_CHECKS } from './scim-conformance-oracle-checks.ts';

const discovery: ConformanceCheck[] = [
  {
    id: 'service-provider-config',
    name: 'ServiceProviderConfig answers with every feature flag the schema requires',
    source: 'RFC 7643 §5, RFC 7644 §4',
    async run(context) {
      const answer = await context.request('GET', '/ServiceProviderConfig');
      expectStatus(answer, 200, 'GET /ServiceProviderConfig');
      expect(hasSchema(answer.json, 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'), 'schemas does not name the ServiceProviderConfig schema');
      for (const flag of ['patch', 'bulk', 'filter', 'changePassword', 'sort', 'etag']) {
        expect(typeof field(answer.json, `${flag}.supported`) === 'boolean', `${flag}.supported is not a boolean`);
      }
      expect(typeof field(answer.json, 'filter.maxResults') === 'number', 'filter.maxResults is not a number');
      expect(typeof field(answer.json, 'bulk.maxOperations') === 'number', 'bulk.maxOperations is not a number');
      expect(typeof field(answer.json, 'bulk.maxPayloadSize') === 'number', 'bulk.maxPayloadSize is not a number');
      expect(Array.isArray(field(answer.json, 'authenticationSchemes')), 'authenticationSchemes is not a list');
    },
  },
  {
    id: 'resource-types',
    name: 'ResourceTypes lists User at /Users with the core User schema',
    source: 'RFC 7643 §6, RFC 7644 §4',
    async run(context) {
      const answer = await context.request('GET', '/ResourceTypes');
      expectStatus(answer, 200, 'GET /ResourceTypes');
      const list = Array.isArray(answer.json) ? answer.json : resources(answer);
      const user = list.find((r) => field(r, 'name') === 'User');
      expect(user, `no resource type named User in ${brief(answer)}`);
      expect(field(user, 'endpoint') === '/Users', `User's endpoint is ${JSON.stringify(field(user, 'endpoint'))}, not "/Users"`);
      expect(field(user, 'schema') === CORE_USER, `User's schema is ${JSON.stringify(field(user, 'schema'))}`);
    },
  },
  {
    id: 'schemas',
    name: 'Schemas describes the core User schema and its userName attribute',
    source: 'RFC 7643 §7, RFC 7644 §4',
    async run(context) {
      const answer = await context.request('GET', '/Schemas');
      expectStatus(answer, 200, 'GET /Schemas');
      const list = Array.isArray(answer.json) ? answer.json : resources(answer);
      const user = list.find((s) => field(s, 'id') === CORE_USER);
      expect(user, `no schema with id ${CORE_USER}`);
      const attributes = field(user, 'attributes');
      expect(Array.isArray(attributes) && attributes.some((a) => field(a, 'name') === 'userName'), 'the User schema has no userName attribute');
      const one = await context.request('GET', `/Schemas/${CORE_USER}`);
      expectStatus(one, 200, `GET /Schemas/${CORE_USER}`);
      expect(field(one.json, 'id') === CORE_USER, `GET /Schemas/${CORE_USER} answered another schema`);
    },
  },
  {
    id: 'enterprise-extension',
    name: 'the enterprise User extension is advertised (HR sources send employeeNumber, department, manager in it)',
    source: 'RFC 7643 §4.3; sent by Entra ID API-driven inbound provisioning and Workday integrations',
    async run(context) {
      const types = await context.request('GET', '/ResourceTypes');
      const list = Array.isArray(types.json) ? types.json : resources(types);
      const user = list.find((r) => field(r, 'name') === 'User');
      const extensions = (field(user, 'schemaExtensions') ?? []) as unknown[];
      expect(extensions.some((e) => field(e, 'schema') === ENTERPRISE_USER), `the User resource type lists no ${ENTERPRISE_USER} extension`);
    },
  },
];

const authentication: ConformanceCheck[] = [
  {
    id: 'auth-required',
    name: 'a request without credentials is refused with 401',
    source: 'RFC 7644 §2, §3.12',
    async run(context) {
      expectStatus(await context.request('GET', '/Users', { authorization: null }), 401, 'GET /Users without Authorization');
    },
  },
  {
    id: 'auth-wrong-token',
    name: 'a request with a wrong bearer token is refused with 401',
    source: 'RFC 7644 §2, RFC 6750 §3.1',
    async run(context) {
      expectStatus(await context.request('GET', '/Users', { authorization: 'Bearer not-the-token' }), 401, 'GET /Users with a wrong token');
    },
  },
];

const create: ConformanceCheck[] = [
  {
    id: 'create-user',
    name: 'POST /Users creates a user: 201, an id, meta and the scim+json media type',
    source: 'RFC 7644 §3.3, §8.1; Okta SCIM 2.0 Spec Test "Create Okta user with realistic values"',
    async run(context) {
      const seed = context.seed();
      const answer = await context.request('POST', '/Users', { body: context.userBody(seed) });
      expectStatus(answer, 201, 'POST /Users');
      if (typeof answer.json?.id === 'string') await context.request('DELETE', `/Users/${encodeURIComponent(answer.json.id)}`);
      expect(typeof field(answer.json, 'id') === 'string' && field(answer.json, 'id'), 'the created user has no id');
      expect(String(field(answer.json, 'userName')).toLowerCase() === seed.userName.toLowerCase(), 'the created user does not carry the userName sent');
      expect(hasSchema(answer.json, CORE_USER), 'the created user does not name the core User schema');
      expect(field(answer.json, 'meta.resourceType') === 'User', 'meta.resourceType is not "User"');
      expect(typeof field(answer.json, 'meta.created') === 'string', 'meta.created is missing');
      expect(/^application\/scim\+json/i.test(answer.headers.get('content-type') ?? ''), `Content-Type is ${answer.headers.get('content-type')}, not application/scim+json`);
    },
  },
  {
    id: 'create-location',
    name: 'a created user\'s Location header and meta.location name the new resource',
    source: 'RFC 7644 §3.3 ("The URI of the created resource SHALL include, in the HTTP Location header …")',
    async run(context) {
      const seed = context.seed();
      const answer = await context.request('POST', '/Users', { body: context.userBody(seed) });
      expectStatus(answer, 201, 'POST /Users');
      const id = String(field(answer.json, 'id'));
      await context.request('DELETE', `/Users/${encodeURIComponent(id)}`);
      const location = answer.headers.get('location');
      expect(location, 'no Location header on 201');
      expect(location.endsWith(`/Users/${id}`), `Location ${location} does not end with /Users/${id}`);
      // meta.location may be written relative to the server; it must name the same resource.
      const metaLocation = field(answer.json, 'meta.location');
      expect(typeof metaLocation === 'string' && new URL(metaLocation, location).href === new URL(location).href, `meta.location ${JSON.stringify(metaLocation)} does not name ${location}`);
    },
  },
  {
    id: 'create-duplicate',
    name: 'creating a second user with the same userName is refused with 409 uniqueness',
    source: 'RFC 7644 §3.3; Okta SCIM 2.0 Spec Test "Expect failure when recreating user with same values"',
    async run(context) {
      const user = await context.createUser();
      const again = await context.request('POST', '/Users', { body: context.userBody({ ...context.seed(), userName: user.userName }) });
      if (again.status === 201 && typeof again.json?.id === 'string') await context.request('DELETE', `/Users/${encodeURIComponent(again.json.id)}`);
      await expectError(again, 409, 'POST /Users with a taken userName', 'uniqueness');
    },
  },
  {
    id: 'create-without-username',
    name: 'a user without the required userName is refused with 400',
    source: 'RFC 7643 §4.1.1 (userName REQUIRED), RFC 7644 §3.12',
    async run(context) {
      const body = context.userBody(context.seed());
      delete body.userName;
      const answer = await context.request('POST', '/Users', { body });
      if (answer.status === 201 && typeof answer.json?.id === 'string') await context.request('DELETE', `/Users/${encodeURIComponent(answer.json.id)}`);
      await expectError(answer, 400, 'POST /Users without userName');
    },
  },
  {
    id: 'create-ignores-client-id',
    name: 'an id sent by the client is ignored: the provider assigns its own',
    source: 'RFC 7643 §3.1 (id is readOnly, assigned by the service provider)',
    async run(context) {
      const answer = await context.request('POST', '/Users', { body: { ...context.userBody(context.seed()), id: 'client-chosen-id' } });
      if (typeof answer.json?.id === 'string') await context.request('DELETE', `/Users/${encodeURIComponent(answer.json.id)}`);
      expect(answer.status === 201 || answer.status === 400, `POST /Users with an id: expected 201 (id ignored) or 400, got ${brief(answer)}`);
      if (answer.status === 201) expect(field(answer.json, 'id') !== 'client-chosen-id', 'the provider kept the id the client chose');
    },
  },
];

const read: ConformanceCheck[] = [
  {
    id: 'get-user',
    name: 'GET /Users/{id} returns the user that was created',
    source: 'RFC 7644 §3.4.1; Okta SCIM 2.0 Spec Test "Verify that user was created"; Entra validator "Get User"',
    async run(context) {
      const user = await context.createUser();
      const fetched = await userById(context, user.id);
      expect(field(fetched, 'id') === user.id, 'GET answered another user');
      expect(field(fetched, 'userName') === user.userName, 'GET answered a different userName');
      expect(field(fetched, 'name.familyName') === field(user, 'name.familyName'), 'name.familyName did not round-trip');
    },
  },
  {
    id: 'get-unknown',
    name: 'GET of an id that does not exist answers 404 in the SCIM error format',
    source: 'RFC 7644 §3.12; Okta SCIM 2.0 Spec Test "Check status 404 with a random ID"',
    async run(context) {
      await expectError(await context.request('GET', '/Users/00000000-0000-4000-8000-000000000000'), 404, 'GET /Users/<random id>');
    },
  },
];

export const CONFORMANCE_CHECKS: readonly ConformanceCheck[] = [
  ...discovery,
  ...authentication,
  ...create,
  ...read,
  ...QUERY_CHECKS,
  ...MODIFY_CHECKS,
  ...ORACLE_CHECKS,
];
