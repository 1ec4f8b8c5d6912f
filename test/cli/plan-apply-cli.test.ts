/**
 * The plan/apply/reconcile commands as a person runs them: `node src/cli/main.ts`
 * in a child process, a fresh --data directory, a manual system (its state
 * lives in the store, so it survives between processes), and the HR import.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writePolicyDir } from '../support/jml-fixture.ts';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const HEADER = 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status\n';
const row = (key: string, first: string, dept: string) => `${key},${first},Tester,${first.toLowerCase()}@example.com,${dept},Analyst,,London,Full-time,2024-01-01,,active\n`;

const POLICY = {
  'systems.yaml': `systems:
  - name: ledger
    connector: { type: manual }
    owner: "1001"
    enforcement: full
    correlation: { account: identity_key, identity: key }
  - name: saas
    connector: { type: scim, settings: { base_url: "http://127.0.0.1:9/scim/v2", allow_insecure_http: true } }
    owner: "1001"
    enforcement: none
`,
  'entitlements.yaml': `entitlements:
  - { system: ledger, name: viewer }
  - { system: saas, name: users }
`,
  'rules.yaml': `rules:
  - name: finance
    when: { equals: { department: Finance } }
    grant: { entitlements: ["ledger:viewer"] }
`,
};

describe('jml plan / apply / tasks / reconcile on the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jml-cli-'));
  const policy = writePolicyDir(POLICY, join(dir, 'policy'));
  const env = { ...process.env, JML_MASTER_KEY: randomBytes(32).toString('base64'), JML_ACTOR: 'alice', DATABASE_URL: '' };
  const jml = (args: string[], input?: string, actor = 'alice') => {
    const r = spawnSync(process.execPath, [MAIN, '--data', join(dir, 'data'), '--policy', policy, ...args], { cwd: dir, env: { ...env, JML_ACTOR: actor }, input, encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr, json: () => JSON.parse(r.stdout) };
  };
  const hr = (rows: string) => {
    writeFileSync(join(dir, 'hr.csv'), HEADER + rows);
    assert.equal(jml(['import', 'hr', join(dir, 'hr.csv'), '--as-of', '2026-03-01']).code, 0);
  };

  test('a joiner in a manual system: plan, apply opens a task, evidence closes it, reconcile sees the account', () => {
    hr(row('1001', 'Ada', 'Engineering') + row('1002', 'Alan', 'Finance'));
    const planned = jml(['plan', '--out', join(dir, 'plan.json')]);
    assert.equal(planned.code, 0, planned.err);
    assert.match(planned.out, /\n1002\n {2}\+ create_account +ledger/);
    assert.match(planned.out, /add_grant +ledger:viewer +rule finance/);
    assert.doesNotMatch(planned.out, /_\w+ +saas/, 'enforcement none plans nothing');

    const applied = jml(['apply', join(dir, 'plan.json'), '--json']);
    assert.equal(applied.code, 0, applied.err);
    assert.deepEqual(applied.json().counts, { pending: 1, waiting: 1 });

    const tasks = jml(['tasks', '--json']).json() as { id: string; kind: string }[];
    assert.deepEqual(tasks.map((t) => t.kind), ['create_account']);
    const missing = jml(['task', 'done', tasks[0]!.id]);
    assert.equal(missing.code, 2, 'evidence is required');
    writeFileSync(join(dir, 'shot.png'), 'pretend screenshot');
    const done = jml(['task', 'done', tasks[0]!.id, '--evidence', 'ticket FIN-7', '--file', join(dir, 'shot.png'), '--json']);
    assert.equal(done.code, 0, done.err);
    assert.match(done.json().evidence.fileSha256, /^[0-9a-f]{64}$/);

    const reconciled = jml(['reconcile', 'ledger', '--json']);
    assert.equal(reconciled.code, 0, reconciled.err);
    assert.equal(reconciled.json().counts.accounts, 1);
    assert.deepEqual(reconciled.json().findings.byKind, { missing_grant: 1 });
    const explained = jml(['explain', '1002']);
    assert.match(explained.out, /MISSING +ledger:viewer +rule finance/);
    const findings = jml(['findings']);
    assert.match(findings.out, /missing_grant +ledger +1002 should hold ledger:viewer/);
  });

  test('plan --refresh reconciles the systems in scope before planning', () => {
    const before = jml(['plan', '--system', 'ledger', '--json']).json().observed.ledger as string;
    const refreshed = jml(['plan', '--refresh', '--system', 'ledger', '--json']);
    assert.equal(refreshed.code, 0, refreshed.err);
    assert.ok(Date.parse(refreshed.json().observed.ledger) > Date.parse(before), 'the ledger was read again');
    assert.deepEqual(Object.keys(refreshed.json().observed), ['ledger'], 'only the system in scope');
    const text = jml(['plan', '--refresh', '--system', 'ledger']);
    assert.match(text.err, /refreshed ledger: 1 accounts, 0 grants/);
  });

  test('a plan file whose inputs changed is refused with exit code 4', () => {
    assert.equal(jml(['plan', '--out', join(dir, 'old.json')]).code, 0);
    hr(row('1001', 'Ada', 'Finance') + row('1002', 'Alan', 'Finance'));
    const stale = jml(['apply', join(dir, 'old.json')]);
    assert.equal(stale.code, 4, stale.out + stale.err);
    assert.match(stale.err, /stale/);
  });

  test('apply without a file and without a terminal asks for --yes', () => {
    const r = jml(['apply']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--yes/);
  });

  test('policy check names file and line; policy diff shows who gains what', () => {
    const broken = writePolicyDir({ ...POLICY, 'rules.yaml': 'rules:\n  - name: finance\n    when: { equals: { department: Finance } }\n    grant: { entitlements: ["ledger:nope"] }\n' });
    const check = spawnSync(process.execPath, [MAIN, '--policy', broken, 'policy', 'check'], { cwd: dir, env, encoding: 'utf8' });
    assert.equal(check.status, 2);
    assert.match(check.stderr, /rules\.yaml:4 /);
    const wider = writePolicyDir({ ...POLICY, 'rules.yaml': 'rules:\n  - name: everyone\n    when: { kind: [employee] }\n    grant: { entitlements: ["ledger:viewer"] }\n' });
    hr(row('1001', 'Ada', 'Engineering') + row('1002', 'Alan', 'Finance'));
    const diff = jml(['policy', 'diff', wider, '--json']);
    assert.equal(diff.code, 0, diff.err);
    assert.deepEqual(diff.json().identities.map((e: { identityKey: string; gained: { entitlement: string }[] }) => [e.identityKey, e.gained.map((g) => g.entitlement)]), [['1001', ['viewer']]]);
  });

  test('policy check refuses connector settings a system could not be opened with, naming the system and the setting', () => {
    const directory = `  - name: directory
    connector: { type: ldap, settings: { url: "ldaps://ldap.example.com", bind_dn: "cn=jml,dc=example,dc=com", base_dn: "dc=example,dc=com", bind_password_env: LDAP_PASSWORD } }
    owner: "1001"
`;
    const incomplete = writePolicyDir({ ...POLICY, 'systems.yaml': POLICY['systems.yaml'] + directory });
    const check = spawnSync(process.execPath, [MAIN, '--policy', incomplete, 'policy', 'check'], { cwd: dir, env, encoding: 'utf8' });
    assert.equal(check.status, 2, check.stdout);
    assert.match(check.stderr, /systems\.yaml:12 systems\[2\]\.connector\.settings\.users_ou: system directory: ldap connector settings: users_ou: .*\n.*systems\.yaml:12 systems\[2\]\.connector\.settings\.groups_ou: system directory: ldap connector settings: groups_ou: /);
    assert.doesNotMatch(check.stdout, /ok/);
    const complete = writePolicyDir({ ...POLICY, 'systems.yaml': POLICY['systems.yaml'] + directory.replace('base_dn: "dc=example,dc=com"', 'base_dn: "dc=example,dc=com", users_ou: "ou=people,dc=example,dc=com", groups_ou: "ou=groups,dc=example,dc=com"') });
    const ok = spawnSync(process.execPath, [MAIN, '--policy', complete, 'policy', 'check'], { cwd: dir, env, encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /ok — 3 systems/);
  });

  test('secret set reads the value from stdin and secret list never shows it', () => {
    const set = jml(['secret', 'set', 'saas', 'token'], 'tok-very-secret-123\n');
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /bound to http:\/\/127\.0\.0\.1:9/);
    const list = jml(['secret', 'list', '--json']);
    assert.equal(list.json()[0].field, 'token');
    assert.doesNotMatch(list.out + set.out + set.err, /tok-very-secret-123/);
    assert.equal(jml(['secret', 'set', 'ledger', 'token'], 'x').code, 2, 'a manual system keeps no secrets');
  });
});
