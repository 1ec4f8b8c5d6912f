/**
 * Inputs that once ended in a 500, each answered now with a 4xx in the error
 * schema (code, message, request id) and nothing changed: NUL characters and
 * lone surrogates anywhere (even before sign-in), URLs the router cannot
 * decode, cursors not from the list, an identity key that names nobody, a
 * file name that names a directory, an empty change.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createConsoleServices } from '../../src/api/console-services.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { tempDir, testConfig } from '../support/hr-files.ts';
import { seedOrganisation, startApi } from './api-fixture.ts';

for (const backend of testBackends()) {
  describe(`hostile input (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;
    let admin: Record<string, string>;

    /** Sends the request and returns the error body, failing unless the status is the one expected and the body has the error schema. */
    async function refused(status: number, request: { method: 'GET' | 'POST' | 'PATCH'; url: string; payload?: string | object; headers?: Record<string, string> }) {
      const res = await api.app.inject({ ...request, headers: { 'content-type': 'application/json', ...(request.headers ?? admin) } });
      assert.equal(res.statusCode, status, `${request.method} ${request.url}: ${res.body}`);
      const body = res.json() as { error: { code: string; message: string; requestId: string } };
      assert.equal(typeof body.error.code, 'string');
      assert.equal(typeof body.error.message, 'string');
      assert.equal(body.error.requestId, res.headers['x-request-id']);
      return body.error;
    }

    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      const config = { ...testConfig({ timezone: 'Europe/Berlin' }), data_dir: tempDir(), policy_dir: path.resolve(import.meta.dirname, '../../policy') };
      api = await startApi(store, { services: createConsoleServices({ db: store.db, backend: store.backend, config, now: () => new Date() }) });
      admin = { cookie: api.sessions.admin.cookie, 'x-csrf-token': api.sessions.admin.csrf };
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });

    test('a NUL character or a lone surrogate in an unauthenticated sign-in is refused as invalid input', async () => {
      for (const [username, password] of [['root\u0000', 'x'], ['root', 'pass\u0000word'], ['\ud800', 'x'], ['root', 'x\udfff']]) {
        const error = await refused(400, { method: 'POST', url: '/api/auth/sign-in', payload: JSON.stringify({ username, password }), headers: {} });
        assert.equal(error.code, 'invalid_input');
        assert.match(error.message, /body\.(username|password) (contains a NUL character|is not well-formed Unicode)/);
      }
    });

    test('a NUL character or lone surrogate in a value, an object key or a query is refused, and the identity is unchanged', async () => {
      const before = await store.db.selectFrom('identities').select('attributes').where('key', '=', 'alice').executeTakeFirstOrThrow();
      await refused(400, { method: 'PATCH', url: '/api/people/alice', payload: '{"attributes":{"phone":"\\u0000"}}' });
      await refused(400, { method: 'PATCH', url: '/api/people/alice', payload: '{"attributes":{"phone":"\\ud83d"}}' });
      const key = await refused(400, { method: 'PATCH', url: '/api/people/alice', payload: '{"attributes":{"ph\\u0000one":"1"}}' });
      assert.match(key.message, /key contains a NUL character/);
      await refused(400, { method: 'GET', url: '/api/people?q=%00' });
      await refused(400, { method: 'GET', url: '/api/people/alice%00' });
      const after = await store.db.selectFrom('identities').select('attributes').where('key', '=', 'alice').executeTakeFirstOrThrow();
      assert.deepEqual(after, before);
    });

    test('a date attribute the database cannot read as a date is invalid input, not a 500', async () => {
      for (const [name, value] of [['start_date', 'not-a-date'], ['end_date', '2026-02-30'], ['start_date', '2026-13-01']] as const) {
        const error = await refused(400, { method: 'PATCH', url: '/api/people/bob', payload: { attributes: { [name]: value } } });
        assert.equal(error.code, 'invalid_input');
      }
    });

    test('a URL the router cannot decode, or a path parameter longer than any key, is answered in the error schema', async () => {
      for (const url of ['/api/people/%FF', '/api/people/%', '/api/plans/%ED%A0%80/apply']) assert.equal((await refused(400, { method: 'GET', url })).code, 'invalid_input');
      await refused(414, { method: 'GET', url: `/api/people/${'x'.repeat(5000)}` });
      await refused(400, { method: 'GET', url: `/api/people/${'x'.repeat(500)}` });
    });

    test('a cursor that did not come from the list is invalid input', async () => {
      for (const cursor of ['admin', '-1', '1e3', '9'.repeat(30)]) assert.match((await refused(400, { method: 'GET', url: `/api/audit?cursor=${cursor}` })).message, /query\.cursor not a cursor from this list/);
      for (const cursor of ['not-a-date', '2026-13-01T00:00:00Z', '12']) assert.match((await refused(400, { method: 'GET', url: `/api/imports?cursor=${cursor}` })).message, /query\.cursor not a cursor from this list/);
      const page = await api.app.inject({ method: 'GET', url: '/api/audit?limit=1', headers: admin });
      const next = (page.json() as { nextCursor: string }).nextCursor;
      assert.equal((await api.app.inject({ method: 'GET', url: `/api/audit?limit=1&cursor=${next}`, headers: admin })).statusCode, 200, 'a real cursor still pages');
    });

    test('a console user linked to an identity that does not exist is refused naming identityKey, and no user is created', async () => {
      for (const identityKey of ['nobody', '']) {
        const error = await refused(400, { method: 'POST', url: '/api/users', payload: { username: `linked-${identityKey}`, password: 'a-long-password-1', identityKey } });
        assert.match(error.message, /^identityKey: there is no identity/);
      }
      assert.equal(await store.db.selectFrom('console_users').select('id').where('username', 'like', 'linked-%').executeTakeFirst(), undefined);
    });

    test('an import whose file name is "." or ".." is read like any other upload', async () => {
      for (const fileName of ['.', '..', '../..']) {
        const res = await api.app.inject({ method: 'POST', url: '/api/imports', headers: admin, payload: { source: 'hr', fileName, content: 'employee_id\n', dryRun: true } });
        assert.ok(res.statusCode < 500, `${fileName}: ${res.statusCode} ${res.body}`);
      }
    });

    test('a change to a console user that changes nothing is refused', async () => {
      const id = (await store.db.selectFrom('console_users').select('id').where('username', '=', 'alice').executeTakeFirstOrThrow()).id;
      assert.match((await refused(400, { method: 'PATCH', url: `/api/users/${id}`, payload: {} })).message, /give roles, status or identityKey/);
    });
  });
}
