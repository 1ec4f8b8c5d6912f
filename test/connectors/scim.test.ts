/**
 * The SCIM connector against a real SCIM 2.0 service provider (SCIMMY behind
 * Express, test/peers/scim-server.ts) over HTTP on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Change, ChangeKind } from '../../src/domain/change.ts';
import { isJmlError } from '../../src/domain/errors.ts';
import { describeConformance, walkAll } from '../../src/connectors/conformance/conformance-suite.ts';
import { createScimConnector } from '../../src/connectors/scim/index.ts';
import { createConnectorRegistry } from '../../src/connectors/registry.ts';
import { inspect } from 'node:util';
import { randomBytes } from 'node:crypto';
import { createKeyring, getSecret, masterKey, putSecret } from '../../src/connectors/secrets/index.ts';
import { openStore } from '../../src/store/open-store.ts';
import { Secret } from '../../src/connectors/secrets/secret.ts';
import { startScimServer, type ScimServer } from '../peers/scim-server.ts';
import { changeLines, departmentPolicy, employee, planAndApply } from '../support/department-groups.ts';

const SYSTEM = 'saas';

// One server for the conformance suite: its identity keys are unique per run.
let shared: ScimServer | null = null;
async function sharedServer(): Promise<ScimServer> {
  shared ??= await startScimServer();
  return shared;
}

// The test server speaks plain http on loopback: allowed only because the settings say so.
function connectorFor(server: ScimServer, settings: Record<string, unknown> = {}) {
  return createScimConnector({ baseUrl: server.url, allowInsecureHttp: true, ...settings }, { system: SYSTEM, token: new Secret(server.token), warn: () => undefined });
}

async function ensureGroup(server: ScimServer, name: string): Promise<void> {
  const headers = { authorization: `Bearer ${server.token}`, 'content-type': 'application/scim+json' };
  const body = JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: name });
  const res = await fetch(`${server.url}/Groups`, { method: 'POST', headers, body });
  assert.ok(res.status === 201 || res.status === 409, `seeding group ${name}: ${res.status}`);
}

describeConformance('scim', async () => {
  const server = await sharedServer();
  return {
    connector: connectorFor(server),
    system: SYSTEM,
    seedEntitlement: async (name) => {
      await ensureGroup(server, name);
      return name;
    },
    accountAttributes: (identityKey) => ({ userName: `${identityKey}@example.test`, display_name: `Person ${identityKey}`, first_name: 'Ada', last_name: identityKey }),
    attributeUpdate: { title: 'Staff Engineer' },
    // A port nothing listens on: 127.0.0.1:9 (discard) is refused at once.
    unreachable: async () => createScimConnector({ baseUrl: 'http://127.0.0.1:9/scim/v2', timeoutMs: 2000, allowInsecureHttp: true }, { system: SYSTEM, token: new Secret('x'), warn: () => undefined }),
  };
});

const change = (kind: ChangeKind, identityKey: string, extra: Partial<Change> = {}): Change => ({
  id: `${kind}:${identityKey}:${extra.entitlement ?? ''}`,
  kind,
  identityKey,
  system: SYSTEM,
  reason: 'scim test',
  dependsOn: [],
  ...extra,
});

describe('scim connector against a real SCIM server', () => {
  let server: ScimServer;
  before(async () => {
    server = await startScimServer({ token: 'scim-test-token-0123456789' });
  });
  after(async () => {
    await server.stop();
    await shared?.stop();
  });
  beforeEach(() => server.state.reset());

  test('a userName built to widen the look-up filter matches nothing and creates exactly one user with that literal name', async () => {
    const scim = connectorFor(server);
    assert.equal((await scim.apply!(change('create_account', 'E1', { attributes: { userName: 'alice' } }))).status, 'done');
    const payload = 'x" or userName pr or "';
    const create = change('create_account', 'E2', { attributes: { userName: payload } });
    const first = await scim.apply!(create);
    assert.equal(first.status, 'done', JSON.stringify(first));
    assert.equal((await scim.apply!(create)).status, 'done');
    const users = await server.state.users();
    assert.deepEqual(users.map((u) => u.userName).sort(), ['alice', payload].sort());
    const back = await scim.readBack(create);
    assert.equal(back.holds, true);
    assert.equal(users.find((u) => u.userName === payload)?.id, back.accountId);
    // The look-ups that went over the wire carried the escaped value, never a bare quote.
    const lookups = (await server.state.requests()).filter((r) => r.path.includes('filter=userName') && !r.path.includes('alice'));
    assert.ok(lookups.length >= 1);
    for (const r of lookups) assert.ok(decodeURIComponent(r.path.replaceAll('+', ' ')).includes('"x\\" or userName pr or \\""'), r.path);
  });

  test('an identity key built to widen the correlation filter finds no one else\'s account', async () => {
    const scim = connectorFor(server);
    await scim.apply!(change('create_account', 'E1', { attributes: { userName: 'bob' } }));
    const sneaky = 'E9" or externalId pr or "';
    assert.equal((await scim.readBack(change('create_account', sneaky))).holds, false);
    assert.equal((await scim.readBack(change('disable_account', sneaky))).detail, 'no account exists to be enabled');
  });

  test('a 429 with Retry-After is waited out before the one retry, measured at the server', async () => {
    const scim = connectorFor(server);
    await server.state.inject({ tooManyRequests: { count: 1, retryAfterSeconds: 1 } });
    const outcome = await scim.apply!(change('create_account', 'E3', { attributes: { userName: 'carol' } }));
    assert.equal(outcome.status, 'done');
    const log = await server.state.requests();
    const throttled = log.findIndex((r) => r.status === 429);
    assert.ok(throttled >= 0);
    const gap = log[throttled + 1]!.at - log[throttled]!.at;
    assert.ok(gap >= 1000, `the retry came ${gap} ms after the 429; Retry-After asked for 1000`);
    assert.equal((await server.state.users()).length, 1);
  });

  test('a Retry-After longer than the inline bound goes back to the engine as a retryable failure with retryAfterMs', async () => {
    const scim = connectorFor(server, { maxInlineRetryMs: 500 });
    await server.state.inject({ tooManyRequests: { count: 5, retryAfterSeconds: 30 } });
    const started = Date.now();
    const outcome = await scim.apply!(change('create_account', 'E4', { attributes: { userName: 'dave' } }));
    assert.deepEqual({ ...outcome, message: undefined }, { status: 'failed', retryable: true, retryAfterMs: 30_000, message: undefined });
    assert.ok(Date.now() - started < 5000, 'the connector did not wait 30 s itself');
    assert.equal((await server.state.requests()).length, 1, 'one request, no loop');
  });

  test('503 is retryable for apply and list, and with a short Retry-After it is retried once', async () => {
    const scim = connectorFor(server);
    await server.state.inject({ unavailable: { count: 1 } });
    const outcome = await scim.apply!(change('create_account', 'E5', { attributes: { userName: 'erin' } }));
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.status === 'failed' && outcome.retryable, true);
    await server.state.inject({ unavailable: { count: 1 } });
    await assert.rejects(scim.list('accounts', null), (e) => isJmlError(e, 'connector') && e.retryable);
    await server.state.inject({ unavailable: { count: 1, retryAfterSeconds: 0 } });
    assert.equal((await scim.list('accounts', null)).items.length, 0);
  });

  test('a provider slower than the timeout fails retryably instead of hanging', async () => {
    const scim = connectorFor(server, { timeoutMs: 200 });
    await server.state.inject({ delayMs: 1000 });
    const started = Date.now();
    await assert.rejects(scim.list('accounts', null, 10), (e) => isJmlError(e, 'connector') && e.retryable && /200 ms/.test(e.message));
    assert.ok(Date.now() - started < 900);
    await assert.rejects(scim.apply!(change('create_account', 'E6', { attributes: { userName: 'frank' } })), (e) => isJmlError(e, 'connector') && e.retryable);
  });

  test('a refused token is terminal and named by validate()', async () => {
    const scim = createScimConnector({ baseUrl: server.url, allowInsecureHttp: true }, { system: SYSTEM, token: new Secret('wrong-token-value'), warn: () => undefined });
    const v = await scim.validate();
    assert.equal(v.ok, false);
    assert.match(v.problems[0]!, /refused \(401\)/);
    const outcome = await scim.apply!(change('create_account', 'E7', { attributes: { userName: 'gina' } }));
    assert.equal(outcome.status === 'failed' && outcome.retryable, false);
    assert.ok(!JSON.stringify(outcome).includes('wrong-token-value'));
  });

  test('list() walks more than one page at the provider\'s default page size', async () => {
    const scim = connectorFor(server);
    for (let i = 0; i < 45; i++) await scim.apply!(change('create_account', `P${i}`, { attributes: { userName: `page${i}` } }));
    const ids = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<typeof scim.list<'accounts'>>> = await scim.list('accounts', cursor);
      pages++;
      for (const a of page.items) ids.add(a.accountId);
      cursor = page.nextCursor;
    } while (cursor !== null && pages < 10);
    assert.equal(pages, 3, '45 users at SCIMMY\'s default 20 per page');
    assert.equal(ids.size, 45);
  });

  test('grants page through groups and members without repeats, even splitting a group across pages', async () => {
    const scim = connectorFor(server);
    await ensureGroup(server, 'big');
    await ensureGroup(server, 'small');
    for (let i = 0; i < 5; i++) {
      await scim.apply!(change('create_account', `G${i}`, { attributes: { userName: `g${i}` } }));
      await scim.apply!(change('add_grant', `G${i}`, { entitlement: 'big' }));
    }
    await scim.apply!(change('add_grant', 'G0', { entitlement: 'small' }));
    await scim.apply!(change('add_grant', 'G0', { entitlement: 'small' }));
    const walk = await walkAll(scim, 'grants', 2);
    assert.equal(walk.items.length, 6);
    assert.equal(new Set(walk.items.map((g) => `${g.accountId} ${g.entitlement}`)).size, 6);
  });

  test('a disabled user shows active=false when read back with GET, and enabling flips it back', async () => {
    const scim = connectorFor(server);
    await scim.apply!(change('create_account', 'L1', { attributes: { userName: 'leaver' } }));
    assert.equal((await scim.apply!(change('disable_account', 'L1'))).status, 'done');
    const [user] = await server.state.users();
    const res = await fetch(`${server.url}/Users/${user!.id}`, { headers: { authorization: `Bearer ${server.token}` } });
    assert.equal(((await res.json()) as { active: boolean }).active, false);
    assert.equal((await scim.readBack(change('disable_account', 'L1'))).holds, true);
    await scim.apply!(change('enable_account', 'L1'));
    assert.equal((await server.state.users())[0]!.active, true);
  });

  test('a userName held by an account of another identity is a terminal conflict, not an adoption', async () => {
    const scim = connectorFor(server);
    await scim.apply!(change('create_account', 'A1', { attributes: { userName: 'shared' } }));
    const outcome = await scim.apply!(change('create_account', 'A2', { attributes: { userName: 'SHARED' } }));
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.status === 'failed' && outcome.retryable, false);
    assert.equal((await server.state.users()).length, 1);
  });

  test('update_attributes replaces and removes attributes by PATCH', async () => {
    const scim = connectorFor(server);
    await scim.apply!(change('create_account', 'U1', { attributes: { userName: 'ursula', title: 'Analyst', email: 'u@example.test' } }));
    const update = change('update_attributes', 'U1', { attributes: { title: null, last_name: 'Smith', email: 'ursula@example.test' } });
    assert.equal((await scim.readBack(update)).holds, false);
    assert.equal((await scim.apply!(update)).status, 'done');
    assert.equal((await scim.readBack(update)).holds, true);
    const [account] = (await scim.list('accounts', null)).items;
    assert.equal(account?.attributes.title, undefined);
    assert.equal(account?.attributes['name.familyName'], 'Smith');
    assert.equal(account?.attributes.email, 'ursula@example.test');
    assert.equal(account?.attributes.externalId, 'U1');
  });

  test('a cursor from another list kind is refused', async () => {
    const scim = connectorFor(server);
    for (let i = 0; i < 3; i++) await scim.apply!(change('create_account', `C${i}`, { attributes: { userName: `c${i}` } }));
    const page = await scim.list('accounts', null, 1);
    assert.ok(page.nextCursor);
    await assert.rejects(scim.list('grants', page.nextCursor, 1), (e) => isJmlError(e, 'invalid_input'));
  });

  test('the registry builds a scim connector from policy settings, and the token never prints', async () => {
    const registry = createConnectorRegistry();
    const scim = await registry.create({ type: 'scim', settings: { baseUrl: server.url, token: server.token, allowInsecureHttp: true } }, { system: SYSTEM });
    assert.deepEqual(await scim.validate(), { ok: true, problems: [] });
    assert.ok(!inspect(scim, { depth: 8 }).includes(server.token));
    assert.ok(!JSON.stringify((scim as unknown as { settings: unknown }).settings).includes(server.token));
    await assert.rejects(registry.create({ type: 'scim', settings: { baseUrl: server.url } }, { system: SYSTEM }), (e) => isJmlError(e, 'invalid_input') && /bearer token/.test(e.message));
    await assert.rejects(registry.create({ type: 'scim', settings: { baseUrl: 'ftp://x', token: 't' } }, { system: SYSTEM }), (e) => isJmlError(e, 'invalid_input') && /base_url/.test(e.message));
  });

  test('plain http is refused before the token is sent, on loopback too, unless the system allows it', async () => {
    for (const baseUrl of ['http://scim.example.test/scim/v2', server.url]) {
      const seen: string[] = [];
      const scim = createScimConnector({ baseUrl }, { system: SYSTEM, token: new Secret('t0ken-value'), fetch: async (url) => void seen.push(String(url)) as never });
      const v = await scim.validate();
      assert.equal(v.ok, false, baseUrl);
      assert.match(v.problems[0]!, /plain http.*allow_insecure_http/);
      await assert.rejects(scim.list('accounts', null), (e) => isJmlError(e, 'connector') && !e.retryable && /in clear/.test(e.message));
      const outcome = await scim.apply!(change('create_account', 'H1', { attributes: { userName: 'h' } }));
      assert.equal(outcome.status === 'failed' && outcome.retryable, false);
      assert.deepEqual(seen, [], 'no request left the process');
    }
  });

  test('a system allowed plain http gets one loud warning per process, naming it and the host, without the token', async () => {
    const warnings: string[] = [];
    const system = `warned-${randomBytes(4).toString('hex')}`;
    for (let i = 0; i < 3; i++) createScimConnector({ baseUrl: server.url, allowInsecureHttp: true }, { system, token: new Secret(server.token), warn: (m) => warnings.push(m) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, new RegExp(`^WARNING: scim system ${system} sends its bearer token over plain http to ${new URL(server.url).host}`));
    assert.ok(!warnings[0]!.includes(server.token));
  });

  test('a token from the secret store reaches the SCIM host it was entered for, and is cleared when the system URL moves', async () => {
    const store = await openStore({ dataDir: 'memory://' });
    try {
      const ring = createKeyring(masterKey(randomBytes(32)));
      await putSecret(store.db, ring, SYSTEM, 'token', server.token, server.url);
      const token = await getSecret(store.db, ring, SYSTEM, 'token', server.url);
      const scim = createScimConnector({ baseUrl: server.url, allowInsecureHttp: true }, { system: SYSTEM, token, warn: () => undefined });
      assert.deepEqual(await scim.validate(), { ok: true, problems: [] });
      const moved = server.url.replace('127.0.0.1', 'localhost');
      await assert.rejects(getSecret(store.db, ring, SYSTEM, 'token', moved), (e) => isJmlError(e, 'forbidden') && /entered again/.test(e.message));
      await assert.rejects(getSecret(store.db, ring, SYSTEM, 'token', server.url), (e) => isJmlError(e, 'not_found'));
    } finally {
      await store.close();
    }
  });

  test('an identity in a new department gets the group jml creates with POST /Groups, and the server shows the membership', async () => {
    const scim = connectorFor(server);
    const policy = departmentPolicy(SYSTEM, 'scim', { name: '{key|lower}@example.test', attributes: {} }, { account: 'externalId', identity: 'key' });
    const rnd = employee('DG1', 'R&D, Europe');
    const sales = employee('DG2', 'Sales+Ops');
    const first = await planAndApply(scim, 'scim', policy, [rnd, sales, employee('DG3', null)]);
    assert.deepEqual(changeLines(first, 'DG1'), ['create_group dept-r&d, europe', 'create_account', 'add_grant dept-r&d, europe']);
    assert.deepEqual(changeLines(first, 'DG3'), []);

    // Ask the server itself, as any SCIM client would.
    const read = async (path: string) => {
      const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${server.token}` } });
      assert.equal(res.status, 200, path);
      return (await res.json()) as { Resources: { id: string; displayName?: string; members?: { value: string }[] }[] };
    };
    const userId = async (key: string) => (await read(`/Users?filter=${encodeURIComponent(`externalId eq "${key}"`)}`)).Resources[0]?.id;
    const group = async (name: string) => (await read(`/Groups?filter=${encodeURIComponent(`displayName eq ${JSON.stringify(name)}`)}`)).Resources;
    const [rndGroup, ...more] = await group('dept-r&d, europe');
    assert.equal(more.length, 0);
    assert.deepEqual(rndGroup?.members?.map((m) => m.value), [await userId('DG1')]);
    assert.deepEqual((await group('dept-sales+ops'))[0]?.members?.map((m) => m.value), [await userId('DG2')]);
    assert.deepEqual((await server.state.groups()).map((g) => g.displayName).sort(), ['dept-r&d, europe', 'dept-sales+ops'], 'no group named "dept-"');

    const again = await planAndApply(scim, 'scim', policy, [rnd, sales]);
    assert.deepEqual(again.changes, [], 'right after apply the plan is empty');
  });
});
