/**
 * Nothing a client sends is unbounded: every string and list in every route's
 * request schema has a maximum (checked over the schemas themselves, so a new
 * route without one fails here), an over-long field is a 400 with the error
 * schema naming it on every kind of route, and a body over the limit is
 * refused before it is parsed (413) — except the import upload, which may be
 * larger.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { BODY_LIMIT, FIELD_LIMITS } from '../../src/api/request-limits.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { seedOrganisation, startApi, type RoleUser } from './api-fixture.ts';
import { SCIM_LIMITS } from '../../src/api/scim/scim-discovery.ts';
import { startScimEndpoint, type ScimEndpoint } from '../support/scim-endpoint.ts';

type Json = Record<string, unknown>;

/** Paths inside a JSON Schema where a string has no maxLength or a list no maxItems. */
function unbounded(schema: Json, at: string): string[] {
  const out: string[] = [];
  const walk = (s: Json, path: string): void => {
    if (s.type === 'string' && s.enum === undefined && s.const === undefined && s.maxLength === undefined) out.push(path);
    if (s.type === 'array') {
      if (s.maxItems === undefined) out.push(`${path}[]`);
      if (s.items) walk(s.items as Json, `${path}[]`);
    }
    for (const [name, child] of Object.entries((s.properties ?? {}) as Record<string, Json>)) walk(child, `${path}.${name}`);
    if (typeof s.additionalProperties === 'object' && Object.keys(s.additionalProperties as Json).length > 0) walk(s.additionalProperties as Json, `${path}.*`);
    if (s.propertyNames) walk(s.propertyNames as Json, `${path}.<name>`);
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const) for (const [i, branch] of ((s[key] ?? []) as Json[]).entries()) walk(branch, `${path}|${i}`);
  };
  walk(schema, at);
  return out;
}

for (const backend of testBackends()) {
  describe(`request size limits (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;
    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      api = await startApi(store);
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });

    const send = async (who: RoleUser, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: Json | string) => {
      const s = api.sessions[who];
      const headers = { cookie: s.cookie, 'x-csrf-token': s.csrf, ...(typeof payload === 'string' ? { 'content-type': 'application/json' } : {}) };
      const res = await api.app.inject({ method, url, headers, ...(payload !== undefined ? { payload } : {}) });
      return { status: res.statusCode, body: res.json() as { error?: { code: string; message: string; requestId: string; details?: { problems?: { path: string }[] } } } };
    };

    test('every string and list in every route’s params, query and body has a maximum, inbound SCIM routes included', () => {
      const scimRoutes = api.app.scimRoutes.map((r) => ({ ...r, url: `/scim/v2${r.url}` }));
      assert.ok(scimRoutes.some((r) => r.url === '/scim/v2/Bulk' && r.body), 'the SCIM routes are walked too');
      const missing = [...api.app.routes, ...scimRoutes].flatMap((route: { method: string; url: string; params?: z.ZodType; query?: z.ZodType; body?: z.ZodType }) =>
        (['params', 'query', 'body'] as const).flatMap((where) => {
          const schema = route[where];
          return schema ? unbounded(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json, `${route.method} ${route.url} ${where}`) : [];
        }),
      );
      assert.deepEqual(missing, []);
    });

    const long = (n: number) => 'x'.repeat(n + 1);
    const cases: readonly { kind: string; who: RoleUser; method: 'GET' | 'POST' | 'PATCH'; url: string; payload?: Json; field: string }[] = [
      { kind: 'path parameter', who: 'admin', method: 'GET', url: `/api/people/${long(FIELD_LIMITS.key)}`, field: 'params.key' },
      { kind: 'query parameter', who: 'admin', method: 'GET', url: `/api/people?q=${long(FIELD_LIMITS.name)}`, field: 'query.q' },
      { kind: 'query parameter (audit)', who: 'admin', method: 'GET', url: `/api/audit?subject=${long(FIELD_LIMITS.key)}`, field: 'query.subject' },
      { kind: 'attribute edit', who: 'user', method: 'PATCH', url: '/api/people/alice', payload: { attributes: { display_name: long(FIELD_LIMITS.attribute) } }, field: 'body.attributes.display_name' },
      { kind: 'reference in an edit', who: 'admin', method: 'PATCH', url: '/api/people/alice', payload: { owner: long(FIELD_LIMITS.key) }, field: 'body.owner' },
      { kind: 'free text', who: 'user', method: 'POST', url: '/api/access-requests', payload: { system: 'vpn', entitlement: 'full', justification: long(FIELD_LIMITS.text) }, field: 'body.justification' },
      { kind: 'decision comment', who: 'manager', method: 'POST', url: '/api/approvals/req-1/decision', payload: { decision: 'approve', comment: long(FIELD_LIMITS.text) }, field: 'body.comment' },
      { kind: 'list', who: 'admin', method: 'POST', url: '/api/plans', payload: { identityKeys: Array.from({ length: 1001 }, (_, i) => `E${i}`) }, field: 'body.identityKeys' },
      { kind: 'token name', who: 'user', method: 'POST', url: '/api/me/tokens', payload: { name: long(100), scopes: ['read'] }, field: 'body.name' },
    ];
    for (const c of cases) {
      test(`an over-long ${c.kind} is refused with 400 and the error schema naming ${c.field}`, async () => {
        const res = await send(c.who, c.method, c.url, c.payload);
        assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
        assert.equal(res.body.error?.code, 'invalid_input');
        assert.ok(res.body.error?.requestId);
        assert.ok(res.body.error?.details?.problems?.some((p) => p.path === c.field), JSON.stringify(res.body.error).slice(0, 300));
      });
    }

    test('a path parameter too long for the router is refused with 414 and the error schema', async () => {
      const res = await send('admin', 'GET', `/api/people/${'x'.repeat(5000)}`);
      assert.equal(res.status, 414);
      assert.equal(res.body.error?.code, 'invalid_input');
      assert.ok(res.body.error?.requestId);
    });

    test('too many attributes in one edit are refused', async () => {
      const attributes = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`a${i}`, 'v']));
      const res = await send('admin', 'PATCH', '/api/people/alice', { attributes });
      assert.equal(res.status, 400);
      assert.match(res.body.error!.message, /at most 200 attributes/);
    });

    test('a 15 MB display name is refused before the body is parsed (413), and nothing is stored', async () => {
      const res = await send('user', 'PATCH', '/api/people/alice', JSON.stringify({ attributes: { display_name: 'x'.repeat(15 * 1024 * 1024) } }));
      assert.equal(res.status, 413);
      assert.equal(res.body.error?.code, 'invalid_input');
      const row = await store.db.selectFrom('identities').select('attributes').where('key', '=', 'alice').executeTakeFirstOrThrow();
      assert.equal(row.attributes.display_name, undefined);
    });

    test('an import upload may be larger than the body limit of other routes', async () => {
      const content = `id,first_name\n${'E1,Ada\n'.repeat(Math.ceil((BODY_LIMIT * 2) / 7))}`;
      const res = await send('hr', 'POST', '/api/imports', { source: 'hr', fileName: 'big.csv', content, dryRun: true });
      assert.notEqual(res.status, 413);
      assert.equal(res.status, 404, 'past the size check: this server has no import port wired');
    });
  });
}

for (const backend of testBackends()) {
  describe(`request size limits of inbound SCIM (${backend.name})`, () => {
    let store: Store;
    let scim: ScimEndpoint;
    before(async () => {
      store = await backend.open();
      scim = await startScimEndpoint({ store });
    });
    after(async () => {
      await scim.close();
      await store.close();
    });

    const send = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => {
      const res = await scim.app.inject({ method, url: `/scim/v2${url}`, headers: { authorization: `Bearer ${scim.token}`, 'content-type': 'application/scim+json' }, ...(payload !== undefined ? { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) } : {}) });
      return { status: res.statusCode, body: res.json() as { schemas: string[]; status: string; scimType?: string; detail: string } };
    };
    const long = (n: number) => 'x'.repeat(n + 1);
    const user = { userName: 'ada@example.test', externalId: 'A1' };
    const cases: readonly { kind: string; method: 'GET' | 'POST' | 'PUT'; url: string; payload?: unknown; field: string }[] = [
      { kind: 'filter', method: 'GET', url: `/Users?filter=${long(FIELD_LIMITS.text)}`, field: 'query.filter' },
      { kind: 'sortBy', method: 'GET', url: `/Users?sortBy=${long(FIELD_LIMITS.name)}`, field: 'query.sortBy' },
      { kind: 'User id in the path', method: 'PUT', url: `/Users/${long(FIELD_LIMITS.key)}`, payload: user, field: 'params.id' },
      { kind: 'attribute name in a User', method: 'POST', url: '/Users', payload: { ...user, [long(FIELD_LIMITS.name)]: 'v' }, field: 'body' },
      { kind: 'search filter', method: 'POST', url: '/Users/.search', payload: { filter: long(FIELD_LIMITS.text) }, field: 'body.filter' },
      { kind: 'Bulk operation path', method: 'POST', url: '/Bulk', payload: { Operations: [{ method: 'POST', path: long(FIELD_LIMITS.text), data: user }] }, field: 'body.Operations.0.path' },
      { kind: 'Bulk bulkId', method: 'POST', url: '/Bulk', payload: { Operations: [{ method: 'POST', bulkId: long(FIELD_LIMITS.key), path: '/Users', data: user }] }, field: 'body.Operations.0.bulkId' },
    ];
    for (const c of cases) {
      test(`an over-long ${c.kind} is refused with 400 in SCIM's error schema naming ${c.field}, and nothing is stored`, async () => {
        const res = await send(c.method, c.url, c.payload);
        assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
        assert.deepEqual(res.body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
        assert.ok(res.body.detail.includes(c.field), res.body.detail.slice(0, 300));
        assert.equal((await store.db.selectFrom('scim_resources').select('id').execute()).length, 0);
      });
    }

    test('a Bulk with more operations than advertised is 413 tooMany before its body is validated', async () => {
      const res = await send('POST', '/Bulk', { Operations: Array.from({ length: SCIM_LIMITS.maxOperations + 1 }, () => ({ method: 'POST', path: '/Users', data: user })) });
      assert.equal(res.status, 413);
      assert.equal(res.body.scimType, 'tooMany');
    });

    test('a SCIM body over the payload limit is refused with 413 before it is parsed', async () => {
      const res = await send('POST', '/Users', JSON.stringify({ ...user, displayName: 'x'.repeat(SCIM_LIMITS.maxPayloadSize) }));
      assert.equal(res.status, 413);
      assert.deepEqual(res.body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
    });
  });
}
