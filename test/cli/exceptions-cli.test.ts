/**
 * `jml exceptions` and `jml exceptions review` as a user runs them: each
 * exception in force with its review state, the warning window from the
 * configuration, and a review recorded by someone other than the holder.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { openStore } from '../../src/store/open-store.ts';
import { runCli } from '../support/run-cli.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'jml-exceptions-cli-'));
const policy = writePolicyDir(FAKE_WIKI_POLICY);
const jml = (...args: string[]) => runCli([...args, '--data', join(dir, 'data'), '--policy', policy], { cwd: dir, env: { JML_IDENTITY: '' } });
const DAY = 86_400_000;

before(async () => {
  const store = await openStore({ dataDir: join(dir, 'data') });
  await seedIdentities(store.db, [person('E1', { manager: 'M1' }), person('M1')]);
  const approvedAt = new Date(Date.now() - 100 * DAY).toISOString();
  const row = (id: string, validTo: number) => ({
    id, kind: 'exception' as const, requester: 'E1', identity_key: 'E1', role: null, entitlements: JSON.stringify([{ system: 'wiki', entitlement: 'admins' }]),
    justification: 'migration', duration_days: null, state: 'approved' as const, created_at: approvedAt, decided_at: approvedAt, valid_to: new Date(Date.now() + validTo * DAY).toISOString(),
  });
  // X-SOON ends in 10 days; X-LONG was approved 100 days ago and is past its 90-day review.
  await store.db.insertInto('access_requests').values([row('X-SOON', 10), row('X-LONG', 300)]).execute();
  await store.close();
});

test('jml exceptions shows each exception’s review state, and a review by someone else moves its next review', { timeout: 120_000 }, async () => {
  const listed = await jml('exceptions', '--json');
  assert.equal(listed.code, 0, listed.stderr);
  const states = (out: string) => (JSON.parse(out) as { id: string; reviewState: string }[]).map((x) => `${x.id}:${x.reviewState}`);
  assert.deepEqual(states(listed.stdout), ['X-SOON:review_overdue', 'X-LONG:review_overdue']);

  const own = await jml('exceptions', 'review', 'X-LONG', '--as', 'E1', '--json');
  assert.notEqual(own.code, 0);
  assert.equal((JSON.parse(own.stdout) as { error: { code: string } }).error.code, 'forbidden');
  const reviewed = await jml('exceptions', 'review', 'X-SOON', '--as', 'M1');
  assert.equal(reviewed.code, 0, reviewed.stderr);
  assert.match(reviewed.stdout, /X-SOON .*\(10 days left; ENDING SOON\)/);

  writeFileSync(join(dir, 'jml.config.yaml'), 'exceptions: { warn_days: 7 }\n');
  const text = await jml('exceptions');
  assert.match(text.stdout, /^ID +IDENTITY +ACCESS +LEFT +REVIEW +JUSTIFICATION$/m, 'the list has column headers');
  assert.match(text.stdout, /X-SOON .* 10 days +review due \d{4}-\d\d-\d\d/, 'outside a 7-day warning window');
  assert.match(text.stdout, /X-LONG .* 300 days +REVIEW OVERDUE since/);
});
