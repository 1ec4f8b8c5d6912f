/**
 * `jml scim token …` and `jml scim release` as an operator runs them: a
 * secret printed once and never listed, rotation and revocation that take
 * effect, and the release of a push the mass-change guard held.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pushUsers } from '../../src/app/inbound/scim-push.ts';
import { resolveScimToken } from '../../src/app/inbound/scim-tokens.ts';
import { loadConfig } from '../../src/app/config.ts';
import { openStore } from '../../src/store/open-store.ts';
import { getIdentity } from '../../src/store/identity-store.ts';
import { runCli } from '../support/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'jml-scim-cli-'));
const configFile = join(dir, 'jml.config.yaml');
writeFileSync(configFile, 'sources:\n  entra:\n    type: scim\nmass_change:\n  minimum: 1\n  percent: 1\n');
const jml = (...args: string[]) => runCli([...args, '--data', join(dir, 'data')], { cwd: dir, env: { JML_IDENTITY: '', JML_CONFIG: configFile } });

test('a token is printed once, listed without its secret, and stops working when rotated or revoked', { timeout: 180_000 }, async () => {
  const created = await jml('scim', 'token', 'create', '--source', 'entra', '--name', 'entra-prod', '--json');
  assert.equal(created.code, 0, created.stderr);
  const { secret } = JSON.parse(created.stdout) as { secret: string };
  const listed = await jml('scim', 'token', 'list', '--source', 'entra');
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /entra-prod .* scim:write .* live/);
  assert.ok(!listed.stdout.includes(secret));
  const rotated = await jml('scim', 'token', 'rotate', '--source', 'entra', '--name', 'entra-prod');
  assert.equal(rotated.code, 0, rotated.stderr);
  const fresh = rotated.stdout.trim().split('\n').at(-1)!;
  assert.match(fresh, /^jml_scim_/);
  const refused = await jml('scim', 'token', 'create', '--source', 'hr', '--name', 'x');
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /source hr is of type hr/);
  const revoked = await jml('scim', 'token', 'revoke', '--source', 'entra', '--name', 'entra-prod');
  assert.equal(revoked.code, 0, revoked.stderr);
  const store = await openStore({ dataDir: join(dir, 'data') });
  try {
    assert.equal(await resolveScimToken(store.db, secret, new Date()), null, 'the rotated-away secret');
    assert.equal(await resolveScimToken(store.db, fresh, new Date()), null, 'the revoked one');
  } finally {
    await store.close();
  }
});

test('jml scim release applies a push the mass-change guard held, and is audited', { timeout: 180_000 }, async () => {
  const config = await loadConfig({ configFile, dataDir: join(dir, 'data') });
  const store = await openStore({ dataDir: join(dir, 'data') });
  const user = (id: string, active: boolean) => ({ id: null, resource: { userName: `${id}@example.com`, externalId: id, active, name: { givenName: 'A', familyName: id } }, onExisting: 'update' as const, ifMatch: null });
  const push = (users: ReturnType<typeof user>[]) => pushUsers({ db: store.db, config }, { source: 'entra', users, deletes: [], label: 'scim Bulk', dryRun: false, actor: 'scim:entra:test', trigger: 'test', now: new Date() });
  let held: string;
  try {
    await push(['U1', 'U2', 'U3'].map((id) => user(id, true)));
    const r = await push(['U1', 'U2'].map((id) => user(id, false)));
    assert.equal(r.status, 'held');
    held = r.importId;
  } finally {
    await store.close();
  }
  const run = await jml('scim', 'release', held);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /released .*: 0 joiner\(s\), 0 mover\(s\), 2 leaver\(s\)/);
  const again = await jml('scim', 'release', held);
  assert.equal(again.code, 5, 'a hold is released once');
  const after = await openStore({ dataDir: join(dir, 'data') });
  try {
    assert.equal((await getIdentity(after.db, 'U1'))!.status, 'left');
    const audit = await after.db.selectFrom('audit_log').select('action').where('action', '=', 'import.mass_change_released').execute();
    assert.equal(audit.length, 1);
  } finally {
    await after.close();
  }
});
