/**
 * `jml users reset-password` as an operator runs it on the server: the
 * recovery path when the last admin's password is lost.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { createCredentialStore } from '../../src/api/auth/credential-store.ts';
import { authenticate, createUser } from '../../src/api/auth/user-store.ts';
import { openStore } from '../../src/store/open-store.ts';
import { runCli } from '../support/run-cli.ts';
import { FAKE_WIKI_POLICY, writePolicyDir } from '../support/jml-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'jml-users-cli-'));
const policy = writePolicyDir(FAKE_WIKI_POLICY);
const jml = (...args: string[]) => runCli([...args, '--data', join(dir, 'data'), '--policy', policy], { cwd: dir, env: { JML_IDENTITY: '' } });
let adminId = '';

before(async () => {
  const store = await openStore({ dataDir: join(dir, 'data') });
  const admin = await createUser(store.db, { username: 'admin', password: 'forgotten-password-1', roles: ['admin'] }, 'test');
  adminId = admin.id;
  await createCredentialStore({ db: store.db, now: () => new Date(), systemsOwnedBy: () => [] }).createSession(admin.id);
  await store.close();
});

test('jml users reset-password prints a one-time password once, ends the user’s sessions, forces a change at sign-in and is audited', { timeout: 120_000 }, async () => {
  const run = await jml('users', 'reset-password', 'Admin');
  assert.equal(run.code, 0, run.stderr);
  const password = run.stdout.match(/One-time password for admin: (\S+)/)?.[1];
  assert.ok(password && password.length === 20, run.stdout);

  const store = await openStore({ dataDir: join(dir, 'data') });
  try {
    const user = await authenticate(store.db, 'admin', password);
    assert.ok(user, 'the one-time password signs in');
    assert.equal(await authenticate(store.db, 'admin', 'forgotten-password-1'), null, 'the old one does not');
    const row = await store.db.selectFrom('console_users').select('password_change_required').where('id', '=', adminId).executeTakeFirstOrThrow();
    assert.equal(row.password_change_required, true);
    const live = await store.db.selectFrom('console_sessions').select('token_hash').where('user_id', '=', adminId).where('revoked_at', 'is', null).execute();
    assert.equal(live.length, 0, 'every session ended');
    const audit = await store.db.selectFrom('audit_log').selectAll().where('action', '=', 'user.password_reset').execute();
    assert.equal(audit.length, 1);
    assert.match(audit[0]!.actor, /^cli:/);
    assert.ok(!JSON.stringify(audit[0]).includes(password), 'the password is not in the audit trail');
  } finally {
    await store.close();
  }

  const unknown = await jml('users', 'reset-password', 'nobody', '--json');
  assert.notEqual(unknown.code, 0);
  assert.equal((JSON.parse(unknown.stdout) as { error: { code: string } }).error.code, 'not_found');
});

test('jml users reset-mfa removes a lone admin’s second factors at once; with a second admin it files a reset for them to confirm', { timeout: 120_000 }, async () => {
  let store = await openStore({ dataDir: join(dir, 'data') });
  const now = new Date().toISOString();
  await store.db.insertInto('mfa_recovery_codes').values({ user_id: adminId, code_hash: 'h', created_at: now }).execute();
  await store.db.insertInto('mfa_passkeys').values({ id: 'pk-1', user_id: adminId, credential_id: 'c1', public_key: Buffer.from('k'), counter: 0, transports: [], device_type: 'singleDevice', backed_up: false, name: 'key', created_at: now }).execute();
  await store.close();

  const alone = await jml('users', 'reset-mfa', 'admin');
  assert.equal(alone.code, 0, alone.stderr);
  assert.match(alone.stdout, /Sign-in methods of admin removed/);
  store = await openStore({ dataDir: join(dir, 'data') });
  try {
    assert.equal((await store.db.selectFrom('mfa_passkeys').select('id').execute()).length, 0);
    assert.equal((await store.db.selectFrom('mfa_recovery_codes').select('code_hash').execute()).length, 0);
    const audit = await store.db.selectFrom('audit_log').selectAll().where('action', '=', 'mfa.reset').execute();
    assert.equal(audit.length, 1);
    assert.match(audit[0]!.actor, /^cli:/);
    await createUser(store.db, { username: 'second', password: 'another-password-1', roles: ['admin'] }, 'test');
    await store.db.insertInto('mfa_passkeys').values({ id: 'pk-2', user_id: adminId, credential_id: 'c2', public_key: Buffer.from('k'), counter: 0, transports: [], device_type: 'singleDevice', backed_up: false, name: 'key', created_at: now }).execute();
  } finally {
    await store.close();
  }

  const pending = await jml('users', 'reset-mfa', 'admin', '--json');
  assert.equal(pending.code, 0, pending.stderr);
  assert.equal((JSON.parse(pending.stdout) as { status: string }).status, 'pending');
  store = await openStore({ dataDir: join(dir, 'data') });
  try {
    assert.equal((await store.db.selectFrom('mfa_passkeys').select('id').execute()).length, 1, 'nothing removed until another admin confirms');
    assert.equal((await store.db.selectFrom('mfa_resets').select('id').where('confirmed_at', 'is', null).execute()).length, 1);
  } finally {
    await store.close();
  }
});
