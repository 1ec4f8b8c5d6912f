/**
 * `jml system test <name>` against a real OpenLDAP and SCIM server, as a person
 * setting up a system runs it: each failure a set-up usually has — nothing
 * listening, a wrong password or token, an OU that does not exist, a CA that
 * does not match — gets its own exit code and a reason, and a working system
 * reports what it holds, who answered and over which TLS session.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { freePort } from '../peers/peer-process.ts';
import { startScimServer, type ScimServer } from '../peers/scim-server.ts';
import { makeTestTls } from '../peers/tls.ts';
import { writePolicyDir } from '../support/jml-fixture.ts';
import { addDirectoryGroups, addScimGroup } from '../support/peer-systems.ts';
import { runCli } from '../support/run-cli.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';

describe('jml system test', { skip: openLdapSkipReason() }, () => {
  let ldap: OpenLdapPeer;
  let scim: ScimServer;
  const dir = mkdtempSync(join(tmpdir(), 'jml-system-test-'));
  let policy = '';
  let env: Record<string, string> = {};

  before(async () => {
    [ldap, scim] = await Promise.all([startOpenLdap(), startScimServer()]);
    await addDirectoryGroups(ldap, ['staff', 'eng']);
    await addScimGroup(scim, 'app-users');
    writeFileSync(join(dir, 'ca.pem'), ldap.caPem);
    writeFileSync(join(dir, 'other-ca.pem'), makeTestTls(join(dir, 'other-tls')).caPem);
    const closed = await freePort();
    const directory = (name: string, extra: Record<string, string>) => {
      const s = { url: ldap.url, ca_file: join(dir, 'ca.pem'), bind_dn: ldap.bindDn, base_dn: ldap.baseDn, users_ou: ldap.usersOu, groups_ou: ldap.groupsOu, bind_password_env: 'LDAP_PASSWORD', ...extra };
      return `  - name: ${name}\n    connector: { type: ldap, settings: ${JSON.stringify(s)} }\n    owner: E1\n`;
    };
    policy = writePolicyDir({
      'systems.yaml': `systems:
${directory('directory', {})}${directory('wrong-password', { bind_password_env: 'WRONG_PASSWORD' })}${directory('wrong-ou', { users_ou: `ou=staff,${ldap.baseDn}` })}${directory('nothing-listening', { url: `ldap://127.0.0.1:${closed}` })}${directory('other-ca', { ca_file: join(dir, 'other-ca.pem') })}  - name: app
    connector: { type: scim, settings: { base_url: "${scim.url}", allow_insecure_http: true, token_env: SCIM_TOKEN } }
    owner: E1
  - name: app-bad-token
    connector: { type: scim, settings: { base_url: "${scim.url}", allow_insecure_http: true, token_env: WRONG_PASSWORD } }
    owner: E1
  - name: app-wrong-path
    connector: { type: scim, settings: { base_url: "${scim.url.replace('/scim/v2', '/nowhere')}", allow_insecure_http: true, token_env: SCIM_TOKEN } }
    owner: E1
  - name: paper
    connector: { type: manual }
    owner: E1
  - name: sandbox
    connector: { type: simulated }
    owner: E1
`,
      'entitlements.yaml': 'entitlements:\n  - { system: paper, name: binder }\n  - { system: sandbox, name: testers }\n',
      'rules.yaml': 'rules: []\n',
    }, join(dir, 'policy'));
    env = { LDAP_PASSWORD: ldap.password, SCIM_TOKEN: scim.token, WRONG_PASSWORD: 'not-the-password' };
  });
  after(async () => {
    await Promise.all([ldap?.stop(), scim?.stop()]);
  });

  const systemTest = (name: string, json = false) =>
    runCli(['--data', join(dir, 'data'), '--policy', policy, 'system', 'test', name, ...(json ? ['--json'] : [])], { cwd: dir, env });

  test('a working OpenLDAP reports its accounts, groups, the server and the TLS session, and exits 0', async () => {
    const run = await systemTest('directory');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^directory \(ldap\): ok$/m);
    assert.match(run.stdout, /structuralObjectClass: OpenLDAProotDSE/);
    assert.match(run.stdout, /namingContexts: dc=example,dc=org/);
    assert.match(run.stdout, /tls: +TLSv1\.[23] \S+; certificate \S+, issued by /);
    assert.match(run.stdout, /groups +2: (staff, eng|eng, staff)/);
    assert.match(run.stdout, /accounts +0/);
    const json = JSON.parse((await systemTest('directory', true)).stdout);
    assert.equal(json.ok, true);
    assert.equal(json.groups.count, 2);
    assert.equal(json.server.tls.protocol.startsWith('TLSv1.'), true);
  });

  test('a refused bind password exits with the credentials code and says the credentials were invalid', async () => {
    const run = await systemTest('wrong-password');
    assert.equal(run.code, EXIT.systemCredentials, run.stdout + run.stderr);
    assert.match(run.stdout, /FAILED — credentials/);
    assert.match(run.stderr, /invalid credentials \(49\)/);
    assert.doesNotMatch(run.stdout + run.stderr, /not-the-password/);
  });

  test('a users OU that does not exist exits with the not-found code and names the OU', async () => {
    const run = await systemTest('wrong-ou');
    assert.equal(run.code, EXIT.systemNotFound, run.stdout + run.stderr);
    assert.match(run.stderr, /ou=staff,dc=example,dc=org does not exist/);
  });

  test('a port nothing listens on exits with the unreachable code', async () => {
    const run = await systemTest('nothing-listening');
    assert.equal(run.code, EXIT.systemUnreachable, run.stdout + run.stderr);
    assert.match(run.stdout, /FAILED — unreachable/);
  });

  test('a CA file that did not sign the server certificate exits with the TLS code', async () => {
    const run = await systemTest('other-ca');
    assert.equal(run.code, EXIT.systemTls, run.stdout + run.stderr);
    assert.match(run.stdout, /FAILED — tls/);
  });

  test('a working SCIM server reports its users, groups and features; plain http shows as not encrypted', async () => {
    const run = await systemTest('app');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^app \(scim\): ok$/m);
    assert.match(run.stdout, /patch: supported/);
    assert.match(run.stdout, /tls: +none \(not encrypted\)/);
    assert.match(run.stdout, /groups +1: app-users/);
  });

  test('a SCIM token the server refuses exits with the credentials code', async () => {
    const run = await systemTest('app-bad-token');
    assert.equal(run.code, EXIT.systemCredentials, run.stdout + run.stderr);
  });

  test('a SCIM base URL with nothing behind it exits with the not-found code', async () => {
    const run = await systemTest('app-wrong-path');
    assert.equal(run.code, EXIT.systemNotFound, run.stdout + run.stderr);
  });

  test('manual and simulated systems pass without a server and list the groups policy gives them', async () => {
    const paper = await systemTest('paper', true);
    assert.equal(paper.code, 0, paper.stderr);
    assert.deepEqual(JSON.parse(paper.stdout).groups.names, ['binder']);
    assert.equal(JSON.parse(paper.stdout).server, null);
    const sandbox = await systemTest('sandbox');
    assert.equal(sandbox.code, 0, sandbox.stderr);
    assert.match(sandbox.stdout, /groups +1: testers/);
  });

  test('a system policy does not name exits with not found and lists the systems it has', async () => {
    const run = await systemTest('nope');
    assert.equal(run.code, EXIT.notFound);
    assert.match(run.stderr, /no system nope in policy \(systems: directory, /);
  });
});
