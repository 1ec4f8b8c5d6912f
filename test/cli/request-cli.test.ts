/**
 * The request and approval commands as a user runs them: a request with its
 * stages, the approver's queue, a refused self-approval and the decisions,
 * all with --json.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { openStore } from '../../src/store/open-store.ts';
import { runCli } from '../support/run-cli.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'jml-request-cli-'));
const policy = writePolicyDir({ ...FAKE_WIKI_POLICY, 'approvals.yaml': 'approvals:\n  - { name: privileged, entitlements: ["*"], privileged: true, stages: [manager, system_owner] }\n' });
const jml = (...args: string[]) => runCli([...args, '--data', join(dir, 'data'), '--policy', policy], { env: { JML_IDENTITY: '' } });

before(async () => {
  const store = await openStore({ dataDir: join(dir, 'data') });
  await seedIdentities(store.db, [person('E0'), person('M1'), person('E1', { manager: 'M1' })]);
  await store.close();
});

test('a request is approved stage by stage from the command line, and nobody approves their own', { timeout: 120_000 }, async () => {
  const created = await jml('request', '--as', 'E1', '--entitlement', 'wiki:admins', '--justification', 'release duty', '--days', '5', '--json');
  assert.equal(created.code, 0, created.stderr);
  const { request, stages } = JSON.parse(created.stdout) as { request: { id: string; state: string }; stages: { name: string; approvers: string[] }[] };
  assert.deepEqual(stages.map((s) => [s.name, s.approvers]), [['manager', ['M1']], ['system_owner', ['E0']]]);

  const queue = JSON.parse((await jml('approvals', '--as', 'M1', '--json')).stdout) as { requestId: string }[];
  assert.deepEqual(queue.map((a) => a.requestId), [request.id]);

  const own = await jml('approve', request.id, '--as', 'E1', '--json');
  assert.notEqual(own.code, 0);
  assert.equal((JSON.parse(own.stdout) as { error: { code: string } }).error.code, 'forbidden');

  assert.equal(JSON.parse((await jml('approve', request.id, '--as', 'M1', '--json')).stdout).state, 'pending');
  const done = JSON.parse((await jml('approve', request.id, '--as', 'E0', '--comment', 'ok', '--json')).stdout) as { state: string; validTo: string };
  assert.equal(done.state, 'approved');
  assert.ok(Date.parse(done.validTo) - Date.now() > 4.9 * 86_400_000);

});

test('a request for an entitlement not in the catalogue is refused on the command line too', { timeout: 120_000 }, async () => {
  const refused = await jml('request', '--as', 'E1', '--entitlement', 'wiki:superusers', '--justification', 'because I can', '--json');
  assert.notEqual(refused.code, 0);
  const { error } = JSON.parse(refused.stdout) as { error: { code: string; message: string } };
  assert.equal(error.code, 'not_found');
  assert.match(error.message, /wiki:superusers/);
});
