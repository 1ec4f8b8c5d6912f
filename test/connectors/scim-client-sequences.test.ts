/**
 * The recorded provisioning-client sequences of test/fixtures/scim-inbound/
 * (Entra ID API-driven inbound, Okta, a Workday integration) are well-formed,
 * say what their client sends, and replay against a real SCIM provider: the
 * SCIMMY peer answers Okta's sequence exactly as Okta expects. jml's own
 * endpoint replays all three in test/api/scim-inbound-conformance.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatReplay, loadScimSequence, loadScimSequenceFile, replayScimSequence } from '../peers/scim-replay.ts';
import { startScimServer, type ScimServer } from '../peers/scim-server.ts';

const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe('recorded SCIM client sequences', () => {
  test('every fixture names, per step, a method, a path under the base URL and the status its client expects', () => {
    for (const name of ['entra-api-driven-bulk', 'okta-sequence', 'workday-sequence']) {
      const sequence = loadScimSequence(name);
      assert.ok(sequence.steps.length >= 3, `${name} has ${sequence.steps.length} steps`);
      for (const step of sequence.steps) assert.ok(step.path.startsWith('/') && step.expect.status >= 200, `${name}: ${step.name}`);
    }
  });

  test('the Entra fixture opens with one BulkRequest of 50 POST /Users with unique bulkIds, the enterprise extension and active as the strings "True"/"False"', () => {
    const bulk = loadScimSequence('entra-api-driven-bulk').steps[0]!;
    assert.equal(bulk.method, 'POST');
    const body = bulk.body as { schemas: string[]; Operations: { method: string; path: string; bulkId: string; data: Record<string, any> }[] };
    assert.deepEqual(body.schemas, ['urn:ietf:params:scim:api:messages:2.0:BulkRequest']);
    assert.equal(body.Operations.length, 50);
    assert.equal(new Set(body.Operations.map((o) => o.bulkId)).size, 50);
    assert.ok(body.Operations.every((o) => o.method === 'POST' && o.path === '/Users'));
    assert.ok(body.Operations.every((o) => o.data.active === 'True' || o.data.active === 'False'));
    assert.ok(body.Operations.some((o) => o.data.active === 'False'), 'no worker is sent inactive');
    assert.ok(body.Operations.every((o) => typeof o.data[ENTERPRISE_USER]?.employeeNumber === 'string' && o.data[ENTERPRISE_USER].employeeNumber === o.data.externalId));
    const managers = new Set(body.Operations.map((o) => o.data[ENTERPRISE_USER].manager?.value).filter(Boolean));
    const numbers = new Set(body.Operations.map((o) => o.data.externalId));
    assert.ok([...managers].every((m) => numbers.has(m)), 'a manager reference points outside the batch');
  });

  test('a fixture whose step lacks its expected status is refused with the file, step and field named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jml-scim-seq-'));
    try {
      const file = join(dir, 'broken.json');
      writeFileSync(file, JSON.stringify({ client: 'x', description: 'y', steps: [{ name: 'ok', method: 'GET', path: '/Users', expect: { status: 200 } }, { name: 'bad', method: 'GET', path: '/Users', expect: {} }] }));
      assert.throws(() => loadScimSequenceFile(file), (error: Error) => error.message.startsWith(`${file}: step 2, field expect.status:`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('against the SCIMMY peer', () => {
    let scim: ScimServer;
    before(async () => {
      scim = await startScimServer();
    });
    after(() => scim.stop());

    test('Okta\'s documented sequence (look up, create, read, PUT, PATCH deactivate) is answered as Okta expects at every step', async (t) => {
      await scim.state.reset();
      const sequence = loadScimSequence('okta-sequence');
      const steps = await replayScimSequence({ baseUrl: scim.url, token: scim.token, sequence });
      t.diagnostic(formatReplay(sequence.client, steps));
      assert.deepEqual(steps.filter((s) => !s.passed).map((s) => `${s.name}: ${s.message}`), []);
      const [stored] = await scim.state.users();
      assert.equal(stored?.active, false);
      assert.equal((stored?.name as { familyName?: string }).familyName, 'King');
    });

    test('replaying Okta\'s sequence on a provider that already has the user fails at the existence check and the create, saying what differed', async () => {
      await scim.state.reset();
      const sequence = loadScimSequence('okta-sequence');
      await replayScimSequence({ baseUrl: scim.url, token: scim.token, sequence });
      const again = await replayScimSequence({ baseUrl: scim.url, token: scim.token, sequence });
      const failed = again.filter((s) => !s.passed);
      assert.deepEqual(failed.map((s) => s.name).slice(0, 2), ['does the user exist? (no)', 'create the user']);
      assert.match(failed[0]!.message, /totalResults is 1, expected 0/);
      assert.match(failed[1]!.message, /status 409, expected 201/);
      assert.ok(failed.some((s) => /was not captured by an earlier step/.test(s.message)), 'steps after a failed capture say which variable is missing');
    });
  });
});
