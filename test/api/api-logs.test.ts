/**
 * The server's log as an operator reads it: JSON lines, an unexpected error
 * logged with its request id and stack, and no secret or searched-for name
 * anywhere in it, whatever the requests carried.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApiServer } from '../../src/api/api-server.ts';
import { createApiMetrics } from '../../src/api/api-metrics.ts';
import { createUser } from '../../src/api/auth/user-store.ts';
import type { PlanPort } from '../../src/api/api-deps.ts';
import { testBackends } from '../support/backends.ts';
import { PASSWORD_ONLY, seedOrganisation } from './api-fixture.ts';

const PASSWORD = 'Secret-Password-For-Logs-123';
const WRONG_PASSWORD = 'Wrong-Secret-Password-456';

test('a 500 is logged with its request id and stack, and no password, cookie, token or searched-for name is ever logged', async () => {
  const store = await testBackends()[0]!.open();
  const lines: string[] = [];
  const failingPlans = { list: async () => Promise.reject(new Error('boom: the planner fell over')) } as unknown as PlanPort;
  const app = await buildApiServer(
    { db: store.db, backend: store.backend, now: () => new Date(), systemsOwnedBy: () => [], services: { plans: failingPlans }, metrics: createApiMetrics(), webDir: null, oidc: null, signInLimit: 1000, mfa: PASSWORD_ONLY },
    { logger: { level: 'info', stream: { write: (line) => lines.push(line) } } },
  );
  try {
    await seedOrganisation(store);
    await createUser(store.db, { username: 'root', password: PASSWORD, roles: ['admin'] }, 'test');
    const wrong = await app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { username: 'root', password: WRONG_PASSWORD } });
    assert.equal(wrong.statusCode, 401);
    const signedIn = await app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { username: 'root', password: PASSWORD } });
    assert.equal(signedIn.statusCode, 200);
    const session = signedIn.cookies.find((c) => c.name === 'jml_session')!.value;
    const csrf = (signedIn.json() as { csrfToken: string }).csrfToken;
    const headers = { cookie: `jml_session=${session}`, 'x-csrf-token': csrf };
    const token = (await app.inject({ method: 'POST', url: '/api/me/tokens', headers, payload: { name: 'ci', scopes: ['read'] } })).json() as { token: string };
    assert.equal((await app.inject({ method: 'GET', url: '/api/people?q=Ermintrude', headers: { authorization: `Bearer ${token.token}` } })).statusCode, 200);

    const failed = await app.inject({ method: 'GET', url: '/api/plans', headers });
    assert.equal(failed.statusCode, 500);
    const requestId = failed.headers['x-request-id'];

    const entries = lines.map((line) => JSON.parse(line) as { level: number; reqId?: string; msg: string; err?: { message: string; stack: string }; req?: { path: string } });
    const logged = entries.find((e) => e.level === 50 && e.reqId === requestId);
    assert.ok(logged, `no error line with request id ${String(requestId)} in:\n${lines.join('')}`);
    assert.match(logged.err!.message, /boom: the planner fell over/);
    assert.match(logged.err!.stack, /at /);
    assert.ok(entries.some((e) => e.reqId === requestId && e.req?.path === '/api/plans'), 'the request itself is logged under the same id');
    assert.ok(entries.filter((e) => e.msg === 'request completed').every((e) => typeof e.reqId === 'string'));

    const text = lines.join('');
    for (const secret of [PASSWORD, WRONG_PASSWORD, session, csrf, token.token, 'Ermintrude']) assert.ok(!text.includes(secret), `the log holds ${secret.slice(0, 6)}…`);
  } finally {
    await app.close();
    await store.close();
  }
});
