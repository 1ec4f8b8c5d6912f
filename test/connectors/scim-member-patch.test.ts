/**
 * The SCIM connector's member PATCHes folded per group, and its bound on
 * requests in flight, against the real test SCIM server.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { asUrgentCall } from '../../src/connectors/call-slots.ts';
import { createScimConnector } from '../../src/connectors/scim/index.ts';
import { memberOperations } from '../../src/connectors/scim/scim-member-patch.ts';
import { Secret } from '../../src/connectors/secrets/secret.ts';
import type { Change, ChangeKind } from '../../src/domain/change.ts';
import { startScimServer, type ScimServer } from '../peers/scim-server.ts';

const SYSTEM = 'saas';
const GROUP = 'staff';

const change = (kind: ChangeKind, identityKey: string, extra: Partial<Change> = {}): Change => ({
  id: `${kind}:${identityKey}`, kind, identityKey, system: SYSTEM, reason: 'member patch test', dependsOn: [], ...extra,
});

describe('scim member PATCHes and requests in flight', () => {
  let server: ScimServer;
  before(async () => {
    server = await startScimServer();
  });
  after(() => server.stop());
  beforeEach(async () => {
    await server.state.reset();
    const res = await fetch(`${server.url}/Groups`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: GROUP }),
    });
    assert.equal(res.status, 201);
  });

  const connectorFor = (settings: Record<string, unknown> = {}, fetchImpl: typeof fetch = fetch) =>
    createScimConnector({ baseUrl: server.url, allowInsecureHttp: true, ...settings }, { system: SYSTEM, token: new Secret(server.token), warn: () => undefined, fetch: fetchImpl });

  async function createUsers(keys: readonly string[]): Promise<void> {
    const scim = connectorFor();
    for (const key of keys) {
      const outcome = await scim.apply!(change('create_account', key, { attributes: { userName: `${key}@example.test` } }));
      assert.equal(outcome.status, 'done');
    }
  }
  const memberKeys = async () => {
    const [group] = (await server.state.groups()).filter((g) => g.displayName === GROUP);
    const ids = new Set(((group!.members as { value: string }[] | undefined) ?? []).map((m) => m.value));
    return (await server.state.users()).filter((u) => ids.has(u.id)).map((u) => String(u.externalId)).sort();
  };
  const groupPatches = async () => (await server.state.requests()).filter((r) => r.method === 'PATCH' && r.path.includes('/Groups/'));

  test('member adds to one group that wait behind an earlier PATCH go as one PATCH, and each is confirmed by its own read-back', async () => {
    const keys = ['E1', 'E2', 'E3', 'E4', 'E5', 'E6'];
    await createUsers(keys);
    const before = (await groupPatches()).length;
    const scim = connectorFor({ maxInFlight: 1 });
    const grants = keys.map((k) => change('add_grant', k, { entitlement: GROUP }));
    const outcomes = await Promise.all(grants.map((g) => scim.apply!(g)));
    assert.deepEqual(outcomes.map((o) => o.status), keys.map(() => 'done'));
    assert.deepEqual(await memberKeys(), keys);
    for (const g of grants) assert.equal((await scim.readBack(g)).holds, true, g.identityKey);
    const patches = (await groupPatches()).length - before;
    assert.ok(patches < keys.length, `${patches} PATCHes for ${keys.length} member adds`);
  });

  test('when a folded PATCH fails, each change in it is sent alone and gets its own outcome', async () => {
    const keys = ['E1', 'E2', 'E3', 'E4'];
    await createUsers(keys);
    // The provider refuses the first PATCH that carries more than one member change.
    let refused = 0;
    const refusingFolded: typeof fetch = async (input, init) => {
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { Operations?: { value?: unknown[] }[] }) : null;
      const folded = init?.method === 'PATCH' && (body?.Operations?.length ?? 0) + (body?.Operations?.[0]?.value?.length ?? 1) - 1 > 1;
      if (folded && refused++ === 0) return new Response(JSON.stringify({ status: '500', detail: 'folded refused' }), { status: 500 });
      return fetch(input, init);
    };
    const scim = connectorFor({ maxInFlight: 1 }, refusingFolded);
    const outcomes = await Promise.all(keys.map((k) => scim.apply!(change('add_grant', k, { entitlement: GROUP }))));
    assert.equal(refused, 1, 'one folded PATCH was refused');
    assert.deepEqual(outcomes.map((o) => o.status), keys.map(() => 'done'));
    assert.deepEqual(await memberKeys(), keys);
  });

  test('adds and removes fold in the order they came, an account added twice once', () => {
    assert.deepEqual(
      memberOperations([
        { operation: 'add', accountId: 'a' },
        { operation: 'add', accountId: 'b' },
        { operation: 'add', accountId: 'a' },
        { operation: 'remove', accountId: 'c"d' },
        { operation: 'add', accountId: 'e' },
      ]),
      [
        { op: 'add', path: 'members', value: [{ value: 'a' }, { value: 'b' }] },
        { op: 'remove', path: 'members[value eq "c\\"d"]' },
        { op: 'add', path: 'members', value: [{ value: 'e' }] },
      ],
    );
  });

  test('no more requests than max_in_flight are unanswered at once, and the ones waiting all run', async () => {
    const keys = ['E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'E7', 'E8'];
    await createUsers(keys);
    let open = 0;
    let most = 0;
    const counting: typeof fetch = async (input, init) => {
      most = Math.max(most, ++open);
      try {
        return await fetch(input, init);
      } finally {
        open--;
      }
    };
    await server.state.inject({ delayMs: 30 });
    try {
      const scim = connectorFor({ maxInFlight: 2 }, counting);
      const reads = await Promise.all(keys.map((k) => scim.readBack(change('enable_account', k))));
      assert.deepEqual(reads.map((r) => r.holds), keys.map(() => true));
      assert.equal(most, 2);
    } finally {
      await server.state.inject({ delayMs: 0 });
    }
  });

  test("a leaver's call waiting for a slot is sent before calls that waited longer", async () => {
    const keys = ['E1', 'E2', 'E3', 'E4', 'E5'];
    await createUsers(keys);
    const sent: string[] = [];
    const recording: typeof fetch = async (input, init) => {
      sent.push(decodeURIComponent(String(input)));
      return fetch(input, init);
    };
    await server.state.inject({ delayMs: 30 });
    try {
      const scim = connectorFor({ maxInFlight: 1 }, recording);
      const joiners = keys.slice(0, 4).map((k) => scim.readBack(change('enable_account', k)));
      const leaver = asUrgentCall(() => scim.readBack(change('disable_account', 'E5')));
      await Promise.all([...joiners, leaver]);
      assert.match(sent[1]!, /E5/, `sent in order: ${sent.map((s) => s.match(/E\d/)?.[0]).join(', ')}`);
    } finally {
      await server.state.inject({ delayMs: 0 });
    }
  });
});
