/**
 * Every operation in the generated OpenAPI document, fed hostile path
 * parameters, queries and bodies (see fuzz-values.ts) as an admin, a plain
 * user, an admin's API token and nobody (the inbound SCIM operations as a
 * SCIM write token, a read token, an admin and nobody, judged by SCIM's error schema). No request may end in a 5xx, and
 * every refusal must carry the error schema. Real console services over a
 * real store, through Fastify's inject.
 *
 * Deterministic: the seed is printed; rerun a failure with JML_FUZZ_SEED=<seed>.
 * JML_FUZZ_REQUESTS sets the count on PGlite (default 10,000),
 * JML_FUZZ_REQUESTS_POSTGRES on PostgreSQL (default 2,000).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { createConsoleServices } from '../../src/api/console-services.ts';
import { createUser } from '../../src/api/auth/user-store.ts';
import { createScimToken, type ScimScope } from '../../src/app/inbound/scim-tokens.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { tempDir, testConfig } from '../support/hr-files.ts';
import { seedOrganisation, signIn, startApi } from './api-fixture.ts';
import { hostileString, hostileValue, malformedBody, mutateObject, plausibleValue, seededRandom, type JsonSchema, type Random } from './fuzz-values.ts';

const SEED = Number(process.env.JML_FUZZ_SEED ?? 20261205);
const REQUESTS: Readonly<Record<string, number>> = {
  pglite: Number(process.env.JML_FUZZ_REQUESTS ?? 10_000),
  postgres: Number(process.env.JML_FUZZ_REQUESTS_POSTGRES ?? 2_000),
};

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly parameters: readonly { readonly name: string; readonly in: 'path' | 'query'; readonly schema: JsonSchema }[];
  readonly body: JsonSchema | null;
}

/** Percent-encodings a URL can carry that no string can: a broken UTF-8 sequence, an encoded surrogate, a stray `%`. */
const RAW_URL_FRAGMENTS = ['%00', '%ED%A0%80', '%FF', '%', '%%', '%C0%AE%C0%AE', '..%2f..%2f', '%2e%2e', '..', '.', '%0d%0aSet-Cookie:x=1'];

function operationsOf(document: { paths: Record<string, Record<string, { parameters: Operation['parameters']; requestBody?: { content: Record<string, { schema: JsonSchema }> } }>> }): Operation[] {
  return Object.entries(document.paths).flatMap(([p, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path: p, parameters: op.parameters, body: op.requestBody?.content['application/json']?.schema ?? null })),
  );
}

function encode(value: unknown, rng: Random): string {
  if (rng.chance(0.1)) return rng.pick(RAW_URL_FRAGMENTS);
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? 'undefined';
  try {
    return encodeURIComponent(text);
  } catch {
    return rng.pick(RAW_URL_FRAGMENTS); // a lone surrogate has no encoding
  }
}

function queryOf(op: Operation, rng: Random): string {
  const query = op.parameters.filter((p) => p.in === 'query');
  const parts: string[] = [];
  const hostileAt = query.length > 0 && rng.chance(0.8) ? rng.int(query.length) : -1;
  query.forEach((p, i) => {
    if (i !== hostileAt && !rng.chance(0.5)) return;
    const value = i === hostileAt ? (p.name === 'cursor' ? rng.pick([hostileString(rng), 'not-a-cursor', '2026-13-01', '-1', 'MjAyNi0wMS0wMQ==', '\u0000']) : hostileValue(rng)) : plausibleValue(p.schema, rng);
    for (const v of Array.isArray(value) && rng.chance(0.5) ? value : [value]) parts.push(`${p.name}=${encode(v, rng)}`);
    if (rng.chance(0.05)) parts.push(`${p.name}=${encode(plausibleValue(p.schema, rng), rng)}`);
  });
  if (rng.chance(0.1)) parts.push(`${encode(hostileString(rng).slice(0, 50), rng)}=${encode(hostileValue(rng), rng)}`);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

for (const backend of testBackends()) {
  test(`no generated request to any route gets a 5xx, and every refusal has the error schema (${backend.name})`, { timeout: 30 * 60_000 }, async () => {
    const store: Store = await backend.open();
    const config = { ...testConfig({ timezone: 'Europe/Berlin', sources: { pushed: { type: 'scim' } } }), data_dir: tempDir(), policy_dir: path.resolve(import.meta.dirname, '../../policy') };
    await seedOrganisation(store);
    const { app, sessions } = await startApi(store, { services: createConsoleServices({ db: store.db, backend: store.backend, config, now: () => new Date() }) });
    try {
      const admin = { cookie: sessions.admin.cookie, 'x-csrf-token': sessions.admin.csrf };
      const token = (await app.inject({ method: 'POST', url: '/api/me/tokens', headers: admin, payload: { name: 'fuzz', scopes: ['read', 'write'] } })).json() as { token: string };
      // Things the fuzzer may hit by id (so it gets past "not found"), kept apart from the principals it signs in as.
      const victimToken = (await app.inject({ method: 'POST', url: '/api/me/tokens', headers: admin, payload: { name: 'victim', scopes: ['read'] } })).json() as { id: string };
      await createUser(store.db, { username: 'victim', password: 'victim-password-1', roles: [] }, 'test');
      const victim = await signIn(app, 'victim', 'victim-password-1');
      const victimUser = ((await app.inject({ method: 'GET', url: '/api/users', headers: admin })).json() as { items: { id: string; username: string }[] }).items.find((u) => u.username === 'victim')!;
      const plan = (await app.inject({ method: 'POST', url: '/api/plans', headers: admin, payload: {} })).json() as { id: string };
      const knownIds = [victimToken.id, victimUser.id, plan.id, 'bob', 'mgr-b', 'own-1', 'ceo'];

      const principals = [
        { name: 'admin', weight: 5, headers: admin },
        { name: 'user', weight: 2, headers: { cookie: sessions.user.cookie, 'x-csrf-token': sessions.user.csrf } },
        { name: 'victim', weight: 1, headers: { cookie: victim.cookie, 'x-csrf-token': victim.csrf } },
        { name: 'admin-token', weight: 1, headers: { authorization: `Bearer ${token.token}` } },
        { name: 'anonymous', weight: 2, headers: {} },
      ];
      const weighted = principals.flatMap((p) => Array<typeof p>(p.weight).fill(p));
      // The inbound SCIM routes (/scim/v2) answer SCIM tokens, and refuse in SCIM's error schema (RFC 7644 §3.12).
      const scimToken = async (scopes: ScimScope[]) => (await createScimToken(store.db, config, { source: 'pushed', name: scopes.join('-').replace(/:/g, '_'), scopes, expiresAt: null, actor: 'test', now: new Date() })).secret;
      const scimPrincipals = [
        { name: 'scim-writer', weight: 4, headers: { authorization: `Bearer ${await scimToken(['scim:write'])}` } },
        { name: 'scim-reader', weight: 2, headers: { authorization: `Bearer ${await scimToken(['scim:read'])}` } },
        { name: 'admin', weight: 1, headers: admin },
        { name: 'anonymous', weight: 1, headers: {} },
      ];
      const scimWeighted = scimPrincipals.flatMap((p) => Array<typeof p>(p.weight).fill(p));
      const operations = operationsOf((await app.inject({ method: 'GET', url: '/api/openapi.json' })).json());
      const total = REQUESTS[backend.name]!;
      const rng = seededRandom(SEED);
      process.stdout.write(`openapi fuzz (${backend.name}): seed ${SEED} (JML_FUZZ_SEED), ${total} requests over ${operations.length} operations\n`);

      const failures = new Map<string, string>();
      const statuses = new Map<number, number>();
      const spent = new Map<string, number>();
      const started = performance.now();
      for (let n = 0; n < total; n++) {
        const op = operations[n % operations.length]!;
        const scim = op.path.startsWith('/scim/v2/');
        let principal = rng.pick(scim ? scimWeighted : weighted);
        // Signing out would end the session the rest of the run uses; an API token has no session to end.
        if (op.path === '/api/auth/sign-out' && principal.name !== 'anonymous') principal = principals[3]!;
        const url = op.path.replace(/\{(\w+)\}/g, () => (rng.chance(0.35) ? encodeURIComponent(rng.pick(knownIds)) : encode(rng.chance(0.3) ? plausibleValue({}, rng) : hostileValue(rng), rng))) + queryOf(op, rng);
        let payload: string | undefined;
        let contentType = 'application/json';
        if (op.body && rng.chance(0.85)) {
          const plausible = plausibleValue(op.body, rng) as Record<string, unknown>;
          payload = JSON.stringify(rng.chance(0.15) ? plausible : mutateObject(plausible, op.body, rng));
        } else if (op.method !== 'GET' && rng.chance(0.5)) {
          ({ payload, contentType } = malformedBody(rng));
        }
        const sent = performance.now();
        const res = await app.inject({ method: op.method as 'GET', url, headers: { ...principal.headers, ...(payload !== undefined ? { 'content-type': contentType } : {}) }, ...(payload !== undefined ? { payload } : {}) });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        spent.set(`${op.method} ${op.path}`, (spent.get(`${op.method} ${op.path}`) ?? 0) + performance.now() - sent);
        const input = `${op.method} ${url.slice(0, 300)} as ${principal.name}${payload !== undefined ? ` body ${payload.slice(0, 300)}` : ''}`;
        if (res.statusCode >= 500) {
          failures.set(`${op.method} ${op.path} ${res.statusCode} ${res.body.slice(0, 120)}`, `#${n} ${input}\n    → ${res.statusCode} ${res.body.slice(0, 500)}`);
        } else if (res.statusCode >= 400) {
          const body = (() => {
            try {
              return res.json() as { error?: { code?: unknown; message?: unknown; requestId?: unknown }; schemas?: unknown; status?: unknown; detail?: unknown };
            } catch {
              return {};
            }
          })();
          if (scim) {
            if (!Array.isArray(body.schemas) || body.schemas[0] !== 'urn:ietf:params:scim:api:messages:2.0:Error' || body.status !== String(res.statusCode) || typeof body.detail !== 'string') {
              failures.set(`${op.method} ${op.path} ${res.statusCode} schema`, `#${n} ${input}\n    → ${res.statusCode} without SCIM's error schema: ${res.body.slice(0, 300)}`);
            }
          } else if (typeof body.error?.code !== 'string' || typeof body.error.message !== 'string' || body.error.requestId !== res.headers['x-request-id']) {
            failures.set(`${op.method} ${op.path} ${res.statusCode} schema`, `#${n} ${input}\n    → ${res.statusCode} without the error schema: ${res.body.slice(0, 300)}`);
          }
        }
      }
      const seconds = (performance.now() - started) / 1000;
      const byStatus = [...statuses.entries()].sort(([a], [b]) => a - b).map(([s, c]) => `${s}×${c}`).join(' ');
      const slowest = [...spent.entries()].sort(([, a], [, b]) => b - a).slice(0, 4).map(([op, ms]) => `${op} ${(ms / 1000).toFixed(1)} s`).join(', ');
      process.stdout.write(`openapi fuzz (${backend.name}): ${total} requests in ${seconds.toFixed(1)} s; statuses ${byStatus}; most time: ${slowest}\n`);
      assert.deepEqual([...failures.values()], [], `seed ${SEED}: ${failures.size} distinct failures`);
    } finally {
      await app.close();
      await store.close();
    }
  });
}
