/**
 * `jml reviews` as a user runs it: start a campaign defined in policy, see the
 * items waiting for you, decide (a privileged keep needs a comment), preview
 * and close, and export the evidence as CSV.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { openStore } from '../../src/store/open-store.ts';
import { runCli } from '../support/run-cli.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'jml-reviews-cli-'));
const policy = writePolicyDir({ ...FAKE_WIKI_POLICY, 'reviews.yaml': 'reviews:\n  - { name: quarterly, stages: [manager], no_response: keep }\n' });
const jml = (...args: string[]) => runCli([...args, '--data', join(dir, 'data'), '--policy', policy], { cwd: dir, env: { JML_IDENTITY: '' } });

before(async () => {
  const store = await openStore({ dataDir: join(dir, 'data') });
  await seedIdentities(store.db, [person('E1', { manager: 'M1' }), person('E2', { manager: 'M1' }), person('M1')]);
  const assignment = (id: string, key: string, entitlement: string, comment: string) => ({ id, identity_key: key, system: 'wiki', entitlement, reason_type: 'exception' as const, reason: JSON.stringify({ type: 'exception', exceptionId: id, justification: comment }), created_by: 'cli:alice' });
  await store.db.insertInto('assignments').values([assignment('X1', 'E1', 'admins', 'on call'), assignment('X2', 'E2', 'eng', '=cmd|calc')]).execute();
  await store.close();
});

test('jml reviews starts a campaign, takes decisions with their rules, closes it and exports formula-safe CSV evidence', { timeout: 180_000 }, async () => {
  const started = await jml('reviews', 'start', 'quarterly', '--json');
  assert.equal(started.code, 0, started.stderr);
  const { id, items } = JSON.parse(started.stdout) as { id: string; items: number };
  assert.equal(items, 2);

  const inbox = await jml('reviews', 'show', id, '--as', 'M1', '--json');
  const list = JSON.parse(inbox.stdout) as { id: string; identityKey: string; privileged: boolean }[];
  assert.deepEqual(list.map((i) => [i.identityKey, i.privileged]), [['E1', true], ['E2', false]]);
  const [admins, eng] = list;

  const uncommented = await jml('reviews', 'decide', id, 'keep', admins!.id, '--as', 'M1');
  assert.notEqual(uncommented.code, 0);
  assert.match(uncommented.stderr, /keeping privileged access needs a comment/);
  const kept = await jml('reviews', 'decide', id, 'keep', admins!.id, '--as', 'M1', '--comment', '=still on call');
  assert.equal(kept.code, 0, kept.stderr);
  const removed = await jml('reviews', 'decide', id, 'remove', eng!.id, '--as', 'M1');
  assert.equal(removed.code, 0, removed.stderr);

  const preview = await jml('reviews', 'close', id, '--preview');
  assert.match(preview.stdout, /2 items: 1 removal\(s\), of which 0 by no response/);
  const closed = await jml('reviews', 'close', id);
  assert.equal(closed.code, 0, closed.stderr);
  assert.match(closed.stdout, /closed: applying/);

  const csv = await jml('reviews', 'export', id);
  assert.equal(csv.code, 0, csv.stderr);
  const lines = csv.stdout.trim().split('\r\n');
  assert.equal(lines[0], 'campaign,snapshot_hash,item,identity,system,entitlement,privileged,recommendation,stage,reviewer,decision,until,decided_at,comment,audit_seq,outcome,outcome_by,removal,removal_detail,removal_task');
  assert.match(lines[1]!, /,E1,wiki,admins,true,keep,1,M1,keep,,[^,]+,'=still on call,\d+,keep,decision,,,$/);
  assert.match(lines[2]!, /,E2,wiki,eng,false,keep,1,M1,remove,,[^,]+,,\d+,remove,decision,planned,assignment ended; the next plan removes it,$/);
  const json = await jml('reviews', 'export', id, '--format', 'json');
  assert.equal((JSON.parse(json.stdout) as { campaign: { state: string } }).campaign.state, 'applying');
});
