/**
 * Conformance checks of changing users: PUT (RFC 7644 §3.5.1), PATCH in the
 * shapes RFC 7644 §3.5.2 defines and the ones Okta and Entra ID are
 * documented to send, DELETE (§3.6), ETags (§3.14) and Bulk (§3.7). Each
 * check reads the user back: an answer of 200 alone proves nothing.
 */
import {
  BULK_REQUEST,
  BULK_RESPONSE,
  CheckSkipped,
  ENTERPRISE_USER,
  expect,
  expectError,
  expectStatus,
  feature,
  field,
  hasSchema,
  patch,
  userById,
  type ConformanceCheck,
} from './scim-conformance-expect.ts';

const MISSING_ID = '00000000-0000-4000-8000-000000000000';

export const MODIFY_CHECKS: readonly ConformanceCheck[] = [
  {
    id: 'put-replaces',
    name: 'PUT replaces the user\'s attributes and keeps its id',
    source: 'RFC 7644 §3.5.1',
    async run(context) {
      const user = await context.createUser();
      const body = { ...context.userBody({ ...context.seed(), userName: user.userName, externalId: String(user.externalId) }), name: { givenName: 'Ada', familyName: 'Replaced' }, displayName: 'Ada Replaced' };
      const answer = await context.request('PUT', `/Users/${encodeURIComponent(user.id)}`, { body: { ...body, id: user.id } });
      expectStatus(answer, 200, 'PUT /Users/{id}');
      const after = await userById(context, user.id);
      expect(field(after, 'id') === user.id, 'PUT changed the id');
      expect(field(after, 'name.familyName') === 'Replaced' && field(after, 'displayName') === 'Ada Replaced', `the new values were not stored: ${JSON.stringify(field(after, 'name'))}`);
    },
  },
  {
    id: 'put-unknown',
    name: 'PUT of an id that does not exist answers 404',
    source: 'RFC 7644 §3.5.1, §3.12',
    async run(context) {
      const body = { ...context.userBody(context.seed()), id: MISSING_ID };
      await expectError(await context.request('PUT', `/Users/${MISSING_ID}`, { body }), 404, 'PUT /Users/<random id>');
    },
  },
  {
    id: 'patch-replace-path',
    name: 'PATCH replace with path "active" deactivates the user',
    source: 'RFC 7644 §3.5.2.3',
    async run(context) {
      const user = await context.createUser();
      const after = await patch(context, user.id, [{ op: 'replace', path: 'active', value: false }]);
      expect(field(after, 'active') === false, `active is ${JSON.stringify(field(after, 'active'))} after the PATCH`);
    },
  },
  {
    id: 'patch-okta-no-path',
    name: 'PATCH replace with no path and a value object (Okta\'s deactivation) deactivates the user',
    source: 'RFC 7644 §3.5.2.3; Okta SCIM 2.0 provisioning guide (deactivate user)',
    async run(context) {
      const user = await context.createUser();
      const after = await patch(context, user.id, [{ op: 'replace', value: { active: false } }]);
      expect(field(after, 'active') === false, `active is ${JSON.stringify(field(after, 'active'))} after the PATCH`);
    },
  },
  {
    id: 'patch-entra-capitalised-op',
    name: 'PATCH op names are accepted case-insensitively ("Replace", as Entra ID sends them)',
    source: 'Entra ID SCIM implementation guide ("Disable User" request); RFC 7644 §3.5.2',
    async run(context) {
      const user = await context.createUser();
      const after = await patch(context, user.id, [{ op: 'Replace', path: 'active', value: false }]);
      expect(field(after, 'active') === false, `active is ${JSON.stringify(field(after, 'active'))} after {"op":"Replace"}`);
    },
  },
  {
    id: 'patch-entra-string-boolean',
    name: 'PATCH accepts active as the string "False", as Entra ID sends it',
    source: 'Microsoft Entra "Known issues … SCIM 2.0 protocol compliance" (boolean values sent as strings)',
    async run(context) {
      const user = await context.createUser();
      const after = await patch(context, user.id, [{ op: 'Replace', path: 'active', value: 'False' }]);
      expect(field(after, 'active') === false, `active is ${JSON.stringify(field(after, 'active'))} after {"value":"False"}`);
    },
  },
  {
    id: 'patch-value-path',
    name: 'PATCH replace on emails[type eq "work"].value changes only that email',
    source: 'RFC 7644 §3.5.2.3 (valuePath); Entra validator "Update User [Multi-valued properties]"',
    async run(context) {
      const user = await context.createUser();
      const after = await patch(context, user.id, [{ op: 'replace', path: 'emails[type eq "work"].value', value: `changed-${user.externalId}@mail.example.test` }]);
      const emails = (field(after, 'emails') ?? []) as unknown[];
      expect(emails.length === 1 && field(emails[0], 'value') === `changed-${user.externalId}@mail.example.test`, `emails after the PATCH: ${JSON.stringify(emails)}`);
    },
  },
  {
    id: 'patch-add',
    name: 'PATCH add sets an attribute the user did not have',
    source: 'RFC 7644 §3.5.2.1',
    async run(context) {
      const user = await context.createUser();
      const after = await patch(context, user.id, [{ op: 'add', path: 'title', value: 'Staff Engineer' }]);
      expect(field(after, 'title') === 'Staff Engineer', `title is ${JSON.stringify(field(after, 'title'))}`);
    },
  },
  {
    id: 'patch-remove',
    name: 'PATCH remove clears an attribute',
    source: 'RFC 7644 §3.5.2.2',
    async run(context) {
      const user = await context.createUser({ title: 'Staff Engineer' });
      const after = await patch(context, user.id, [{ op: 'remove', path: 'title' }]);
      expect(field(after, 'title') === undefined || field(after, 'title') === null, `title is still ${JSON.stringify(field(after, 'title'))}`);
    },
  },
  {
    id: 'patch-remove-without-path',
    name: 'PATCH remove without a path is refused with 400 noTarget',
    source: 'RFC 7644 §3.5.2.2 ("If \'path\' is unspecified, the operation fails with … 400 and a \'scimType\' error code of \'noTarget\'")',
    async run(context) {
      const user = await context.createUser();
      const answer = await context.request('PATCH', `/Users/${encodeURIComponent(user.id)}`, {
        body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'remove' }] },
      });
      await expectError(answer, 400, 'PATCH remove with no path', 'noTarget');
    },
  },
  {
    id: 'delete',
    name: 'DELETE answers 204 and the user is gone (404) afterwards',
    source: 'RFC 7644 §3.6; Entra validator "Delete User"',
    async run(context) {
      const user = await context.createUser();
      expectStatus(await context.request('DELETE', `/Users/${encodeURIComponent(user.id)}`), 204, 'DELETE /Users/{id}');
      await expectError(await context.request('GET', `/Users/${encodeURIComponent(user.id)}`), 404, 'GET after DELETE');
    },
  },
  {
    id: 'delete-unknown',
    name: 'DELETE of an id that does not exist answers 404',
    source: 'RFC 7644 §3.6, §3.12',
    async run(context) {
      await expectError(await context.request('DELETE', `/Users/${MISSING_ID}`), 404, 'DELETE /Users/<random id>');
    },
  },
  {
    id: 'etag',
    name: 'a user carries an ETag equal to meta.version; a stale If-Match is refused with 412, the current one accepted',
    source: 'RFC 7644 §3.14 (when etag.supported)',
    async run(context) {
      await feature(context, 'etag');
      const user = await context.createUser();
      const first = await context.request('GET', `/Users/${encodeURIComponent(user.id)}`);
      const etag = first.headers.get('etag');
      expect(etag, 'GET /Users/{id} has no ETag header');
      expect(field(first.json, 'meta.version') === etag, `meta.version ${JSON.stringify(field(first.json, 'meta.version'))} differs from ETag ${etag}`);
      await patch(context, user.id, [{ op: 'replace', path: 'displayName', value: 'Changed Once' }]);
      const stale = await context.request('PATCH', `/Users/${encodeURIComponent(user.id)}`, {
        headers: { 'if-match': etag },
        body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: 'Lost Update' }] },
      });
      await expectError(stale, 412, 'PATCH with a stale If-Match');
      expect(field(await userById(context, user.id), 'displayName') === 'Changed Once', 'the refused PATCH changed the user');
      const current = (await context.request('GET', `/Users/${encodeURIComponent(user.id)}`)).headers.get('etag');
      const fresh = await context.request('PATCH', `/Users/${encodeURIComponent(user.id)}`, {
        headers: { 'if-match': current ?? '' },
        body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: 'Changed Twice' }] },
      });
      expectStatus(fresh, [200, 204], 'PATCH with the current ETag in If-Match');
    },
  },
  {
    id: 'bulk',
    name: 'Bulk creates users and answers each operation with its bulkId, status 201 and location',
    source: 'RFC 7644 §3.7 (when bulk.supported)',
    async run(context) {
      await feature(context, 'bulk');
      const seeds = [context.seed('bulk'), context.seed('bulk')];
      const answer = await context.request('POST', '/Bulk', {
        body: { schemas: [BULK_REQUEST], Operations: seeds.map((seed, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: context.userBody(seed) })) },
      });
      expectStatus(answer, 200, 'POST /Bulk');
      const results = (field(answer.json, 'Operations') ?? []) as unknown[];
      for (const result of results) {
        const location = String(field(result, 'location') ?? '');
        if (location) await context.request('DELETE', `/Users/${encodeURIComponent(location.split('/').pop()!)}`);
      }
      expect(hasSchema(answer.json, BULK_RESPONSE), 'the body does not name the BulkResponse schema');
      expect(results.length === 2, `expected 2 operation results, got ${results.length}`);
      for (const [i, result] of results.entries()) {
        expect(field(result, 'bulkId') === `b${i}`, `result ${i} has bulkId ${JSON.stringify(field(result, 'bulkId'))}`);
        expect(String(field(result, 'status')) === '201', `result ${i} has status ${JSON.stringify(field(result, 'status'))}`);
        expect(typeof field(result, 'location') === 'string', `result ${i} has no location`);
      }
    },
  },
  {
    id: 'bulk-cross-reference',
    name: 'a later Bulk operation refers to a user created earlier in the same request by "bulkId:"',
    source: 'RFC 7644 §3.7.2 (when bulk.supported)',
    async run(context) {
      await feature(context, 'bulk');
      const manager = context.userBody(context.seed('bulk'));
      const report = context.userBody(context.seed('bulk'));
      report.schemas = [...((report.schemas as string[]) ?? []), ENTERPRISE_USER];
      report[ENTERPRISE_USER] = { ...(report[ENTERPRISE_USER] as object), manager: { value: 'bulkId:mgr' } };
      const answer = await context.request('POST', '/Bulk', {
        body: { schemas: [BULK_REQUEST], Operations: [{ method: 'POST', path: '/Users', bulkId: 'mgr', data: manager }, { method: 'POST', path: '/Users', bulkId: 'rpt', data: report }] },
      });
      const results = (field(answer.json, 'Operations') ?? []) as unknown[];
      const ids = results.map((r) => String(field(r, 'location') ?? '').split('/').pop()!).filter(Boolean);
      try {
        expectStatus(answer, 200, 'POST /Bulk');
        expect(ids.length === 2, `expected two created users, got ${JSON.stringify(results).slice(0, 300)}`);
        const created = await userById(context, ids[1]!);
        const managerId = field(created, `${ENTERPRISE_USER}.manager.value`);
        expect(managerId === ids[0], `manager.value is ${JSON.stringify(managerId)}, expected the id of the user created as bulkId "mgr" (${ids[0]})`);
      } finally {
        for (const id of ids) await context.request('DELETE', `/Users/${encodeURIComponent(id)}`);
      }
    },
  },
  {
    id: 'bulk-too-many-operations',
    name: 'a Bulk request with more operations than bulk.maxOperations is refused with 413 and creates nobody',
    source: 'RFC 7644 §3.7.4 (when bulk.supported)',
    async run(context) {
      await feature(context, 'bulk');
      const max = field(await context.serviceProviderConfig(), 'bulk.maxOperations');
      if (typeof max !== 'number' || max > 1000) throw new CheckSkipped(`bulk.maxOperations is ${JSON.stringify(max)}: not probed beyond 1000`);
      const seeds = Array.from({ length: max + 1 }, () => context.seed('over'));
      const answer = await context.request('POST', '/Bulk', {
        body: { schemas: [BULK_REQUEST], Operations: seeds.map((seed, i) => ({ method: 'POST', path: '/Users', bulkId: `o${i}`, data: context.userBody(seed) })) },
      });
      for (const result of (field(answer.json, 'Operations') ?? []) as unknown[]) {
        const location = String(field(result, 'location') ?? '');
        if (location) await context.request('DELETE', `/Users/${encodeURIComponent(location.split('/').pop()!)}`);
      }
      await expectError(answer, 413, `POST /Bulk with ${max + 1} operations (maxOperations ${max})`);
    },
  },
  {
    id: 'bulk-payload-too-large',
    name: 'a Bulk request larger than bulk.maxPayloadSize is refused with 413',
    source: 'RFC 7644 §3.7.4 (when bulk.supported)',
    async run(context) {
      await feature(context, 'bulk');
      const max = field(await context.serviceProviderConfig(), 'bulk.maxPayloadSize');
      if (typeof max !== 'number' || max > 16 * 1024 * 1024) throw new CheckSkipped(`bulk.maxPayloadSize is ${JSON.stringify(max)}: not probed beyond 16 MiB`);
      const data = { ...context.userBody(context.seed('big')), displayName: 'x'.repeat(max + 1) };
      const answer = await context.request('POST', '/Bulk', { body: { schemas: [BULK_REQUEST], Operations: [{ method: 'POST', path: '/Users', bulkId: 'big', data }] } });
      for (const result of (field(answer.json, 'Operations') ?? []) as unknown[]) {
        const location = String(field(result, 'location') ?? '');
        if (location) await context.request('DELETE', `/Users/${encodeURIComponent(location.split('/').pop()!)}`);
      }
      expectStatus(answer, 413, `POST /Bulk of ${max + 1}+ bytes (maxPayloadSize ${max})`);
    },
  },
  {
    id: 'bulk-fail-on-errors',
    name: 'Bulk with failOnErrors 1 stops after the first failed operation',
    source: 'RFC 7644 §3.7.3 (when bulk.supported)',
    async run(context) {
      await feature(context, 'bulk');
      const invalid = context.userBody(context.seed('bulk'));
      delete invalid.userName;
      const valid = context.userBody(context.seed('bulk'));
      const answer = await context.request('POST', '/Bulk', {
        body: { schemas: [BULK_REQUEST], failOnErrors: 1, Operations: [{ method: 'POST', path: '/Users', bulkId: 'bad', data: invalid }, { method: 'POST', path: '/Users', bulkId: 'good', data: valid }] },
      });
      const results = (field(answer.json, 'Operations') ?? []) as unknown[];
      const created = results.find((r) => field(r, 'bulkId') === 'good' && String(field(r, 'status')) === '201');
      if (created) await context.request('DELETE', `/Users/${encodeURIComponent(String(field(created, 'location')).split('/').pop()!)}`);
      expectStatus(answer, 200, 'POST /Bulk with failOnErrors 1');
      expect(results.length === 1 && String(field(results[0], 'status')).startsWith('4'), `expected one failed result and no further processing, got ${JSON.stringify(results).slice(0, 300)}`);
    },
  },
];
