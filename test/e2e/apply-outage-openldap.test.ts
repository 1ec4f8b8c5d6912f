/**
 * A directory that is down while `jml apply` runs, with a real OpenLDAP and
 * the real CLI: the apply ends within 30 s with the directory quarantined, a
 * finding and a non-zero exit naming it; after the server is back and the
 * quarantine released, the next `jml apply` finishes the plan, and every
 * account exists once, in its group, as `ldapsearch`-style reads show.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from 'ldapts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../peers/openldap.ts';
import { asAdmin } from '../support/directory-clients.ts';
import { writePolicyDir } from '../support/jml-fixture.ts';
import { addDirectoryGroups, directorySettings } from '../support/peer-systems.ts';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const PEOPLE = 150;
const HEADER = 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status\n';
const rows = Array.from({ length: PEOPLE }, (_, i) => `${5001 + i},Pat${i},Outage,pat${i}@example.com,Sales,Rep,,London,Full-time,2024-01-01,,active\n`).join('');

describe('apply while the directory is down (real OpenLDAP, real CLI)', { skip: openLdapSkipReason() }, () => {
  let ldap: OpenLdapPeer;
  const dir = mkdtempSync(join(tmpdir(), 'jml-outage-'));
  const env = { ...process.env, DATABASE_URL: '', JML_ACTOR: 'oncall', JML_MASTER_KEY: randomBytes(32).toString('base64') };
  let policyDir = '';
  const jml = (args: readonly string[], input?: string) => {
    const started = Date.now();
    const r = spawnSync(process.execPath, [MAIN, '--data', join(dir, 'data'), '--policy', policyDir, ...args], { cwd: dir, env, input, encoding: 'utf8', timeout: 300_000 });
    return { code: r.status, out: r.stdout, err: r.stderr, ms: Date.now() - started };
  };
  const directory = <T>(fn: (client: Client) => Promise<T>): Promise<T> => asAdmin(ldap, fn);

  before(async () => {
    ldap = await startOpenLdap();
    await addDirectoryGroups(ldap, ['staff']);
    policyDir = writePolicyDir({
      'systems.yaml': `systems:
  - name: dir
    connector: { type: ldap, settings: ${directorySettings(ldap, join(dir, 'ca.pem'))} }
    owner: "5001"
    enforcement: full
    identity_provider: true
    correlation: { account: employeeNumber, identity: key }
    account:
      name: "{first_name|ascii|lower}.{last_name|ascii|lower}"
      attributes: { sn: "{last_name}", givenName: "{first_name}", mail: "{email}" }
`,
      'entitlements.yaml': 'entitlements:\n  - { system: dir, name: staff }\n',
      'rules.yaml': 'rules:\n  - { name: everyone, when: { kind: [employee] }, grant: { entitlements: ["dir:staff"] } }\n',
    }, join(dir, 'policy'));
    writeFileSync(join(dir, 'hr.csv'), HEADER + rows);
    assert.equal(jml(['secret', 'set', 'dir', 'bind_password'], `${ldap.password}\n`).code, 0);
    const imported = jml(['import', 'hr', join(dir, 'hr.csv'), '--as-of', '2026-03-01']);
    assert.equal(imported.code, 0, imported.err);
  });
  after(async () => {
    await ldap?.stop();
  });

  test('a stopped directory is quarantined within 30 s, apply exits non-zero naming it, and after restart and release the plan completes with nothing twice', { timeout: 600_000 }, async () => {
    await ldap.halt();
    const down = jml(['apply', '--yes']);
    process.stdout.write(`# apply against the stopped directory ended in ${down.ms} ms (exit ${down.code})\n`);
    process.stdout.write(down.out.slice(down.out.lastIndexOf('\nplan ')).split('\n').map((l) => `# ${l}`).join('\n') + '\n');
    assert.equal(down.code, 1, down.out + down.err);
    assert.ok(down.ms < 30_000, `quarantined in ${down.ms} ms`);
    assert.match(down.err, /dir is quarantined \(.*server unreachable.*\); 300 change\(s\) wait for it/);
    assert.match(down.out, /dir is quarantined; 300 change\(s\) wait for it/);
    assert.match(jml(['quarantine']).out, /^dir +quarantined +\d+ /m);
    assert.match(jml(['findings']).out, /quarantined_system +dir/);

    await ldap.restart();
    const released = jml(['quarantine', 'release', 'dir']);
    assert.equal(released.code, 0, released.err);
    const up = jml(['apply', '--yes']);
    process.stdout.write(`# apply after restart and release took ${up.ms} ms\n`);
    assert.equal(up.code, 0, up.out + up.err);
    assert.match(up.out, /resumed plan \S+: applied — 300 change\(s\): 300 confirmed/);
    assert.match(up.out, /plan \S+: 0 change\(s\)|nothing to do/i, 'nothing left to plan');

    const { users, members } = await directory(async (c) => {
      const people = await c.search(ldap.usersOu, { scope: 'one', filter: '(objectClass=inetOrgPerson)', attributes: ['employeeNumber'], paged: { pageSize: 1000 } });
      const group = await c.search(`cn=staff,${ldap.groupsOu}`, { scope: 'base', attributes: ['member'] });
      return { users: people.searchEntries.map((e) => String(e.employeeNumber)), members: [group.searchEntries[0]!.member].flat().map(String).filter((m) => m.endsWith(ldap.usersOu)) };
    });
    assert.equal(users.length, PEOPLE, 'one account per person');
    assert.equal(new Set(users).size, PEOPLE, 'no duplicate account');
    assert.equal(members.length, PEOPLE, 'every person in the group');
    assert.equal(new Set(members).size, PEOPLE, 'each once');
  });
});
