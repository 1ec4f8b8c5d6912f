/**
 * `jml asset checkout|checkin|audit|audits-due|cadence` and `jml licences` as
 * a user runs them, one process per command against one data directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { openStore } from '../../src/store/open-store.ts';
import { runCli } from '../support/run-cli.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'jml-assets-cli-'));
const policy = writePolicyDir(FAKE_WIKI_POLICY);
const jml = (...args: string[]) => runCli([...args, '--data', join(dir, 'data'), '--policy', policy], { cwd: dir, env: { JML_IDENTITY: '', JML_ACTOR: 'it-bob' } });

before(async () => {
  const store = await openStore({ dataDir: join(dir, 'data') });
  await seedIdentities(store.db, [person('E1'), person('E2'), person('L1', {}, { status: 'left' })]);
  await store.db.insertInto('assets').values([
    { tag: 'LAP-1', serial: 'S-1', kind: 'laptop', status: 'in_stock', location: 'Store' },
    { tag: 'KEY-1', serial: 'S-2', kind: 'security_key', status: 'in_stock', location: 'Store' },
  ]).execute();
  await store.close();
});

test('IT checks an asset out and in, sets a category\'s audit cadence and records an audit, from the command line', { timeout: 180_000 }, async () => {
  const leaver = await jml('asset', 'checkout', 'LAP-1', '--to', 'L1');
  assert.notEqual(leaver.code, 0);
  assert.match(leaver.stderr, /L1 has left/);

  const out = await jml('asset', 'checkout', 'LAP-1', '--to', 'E1', '--location', 'Berlin', '--json');
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(((o) => [o.status, o.holder, o.acceptedAt, o.location])(JSON.parse(out.stdout)), ['assigned', 'E1', null, 'Berlin']);
  const twice = await jml('assets', 'checkout', 'LAP-1', '--to', 'E2');
  assert.match(twice.stderr, /LAP-1 is assigned \(held by E1\): check it in first/);

  assert.equal((await jml('asset', 'cadence', 'laptop', '90')).code, 0);
  const due = JSON.parse((await jml('asset', 'audits-due', '--json')).stdout) as { tag: string; state: string }[];
  assert.deepEqual(due.map((d) => `${d.tag}:${d.state}`), ['LAP-1:overdue'], 'a laptop never audited in a category with a cadence is overdue');
  const audited = await jml('asset', 'audit', 'LAP-1', '--location', 'Berlin office');
  assert.equal(audited.code, 0, audited.stderr);
  assert.match(audited.stdout, /LAP-1 audited at Berlin office; next audit \d{4}-\d{2}-\d{2}\./);
  assert.match((await jml('asset', 'audits-due')).stdout, /no audit due\./);
  assert.match((await jml('asset', 'cadence', 'laptop', 'often')).stderr, /<days> often: a whole number of days/);

  writeFileSync(join(dir, 'more.csv'), 'tag,serial,kind,description,holder,location,status\nPHN-9,S-9,phone,Pixel,,Store,in_stock\n');
  const imported = await jml('assets', 'import', join(dir, 'more.csv'), '--json');
  assert.deepEqual(JSON.parse(imported.stdout), { created: 1, updated: 0, unchanged: 0 }, '--json after a subcommand is honoured');

  const back = await jml('asset', 'checkin', 'LAP-1', '--to', 'in_repair', '--note', 'cracked screen', '--json');
  assert.deepEqual(((o) => [o.status, o.holder])(JSON.parse(back.stdout)), ['in_repair', null]);
  assert.match((await jml('asset', 'checkin', 'LAP-1', '--to', 'lost')).stderr, /--to lost: use in_stock, in_repair or retired/);
});

test('IT adds a licence, assigns its seats to accounts and is refused one more, from the command line', { timeout: 180_000 }, async () => {
  assert.equal((await jml('licences', 'add', 'wiki-pro', '--seats', '1', '--system', 'wiki')).code, 0);
  const assigned = await jml('licences', 'assign', 'wiki-pro', '--identity', 'E1', '--system', 'wiki', '--account', 'wiki-E1', '--json');
  assert.equal(assigned.code, 0, assigned.stderr);
  assert.equal(JSON.parse(assigned.stdout).accountId, 'wiki-E1');
  const full = await jml('licences', 'assign', 'wiki-pro', '--identity', 'E2', '--system', 'wiki', '--account', 'wiki-E2');
  assert.notEqual(full.code, 0);
  assert.match(full.stderr, /wiki-pro: all 1 seats are in use/);
  const [licence] = JSON.parse((await jml('licences', '--json')).stdout) as { inUse: number; free: number; held: { id: string; accountId: string }[] }[];
  assert.deepEqual([licence!.inUse, licence!.free, licence!.held.map((h) => h.accountId)], [1, 0, ['wiki-E1']]);
  assert.equal((await jml('licences', 'reclaim', 'wiki-pro', licence!.held[0]!.id, '--reason', 'left the team')).code, 0);
  assert.match((await jml('licences')).stdout, /wiki-pro +wiki +1 +0 +1 +-/);
});
