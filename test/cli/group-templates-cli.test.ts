/**
 * Groups that follow attributes, as a person runs jml: an entitlement
 * template in a simulated directory (its groups live in jml's store, so they
 * survive between processes), HR imports, plan, apply, explain, policy diff.
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
const row = (key: string, first: string, dept: string) =>
  `${key},${first},Tester,${first.toLowerCase()}@example.com,"${dept}",Analyst,,London,Full-time,2024-01-01,,active\n`;

const SYSTEMS = `systems:
  - name: directory
    connector: { type: simulated }
    owner: "1001"
    enforcement: full
`;
const BASE = {
  'systems.yaml': SYSTEMS,
  'entitlements.yaml': 'entitlements:\n  - { system: directory, name: all-staff }\n',
  'rules.yaml': 'rules:\n  - name: everyone\n    when: { kind: [employee] }\n    grant: { entitlements: ["directory:all-staff"] }\n',
};
const TEMPLATED = {
  ...BASE,
  'entitlements.yaml': `entitlements:
  - { system: directory, name: all-staff }
  - system: directory
    name: dept-{department|slug}
    description: Members of {department}
    create_missing: true
    remove_empty: true
`,
  'rules.yaml': `rules:
  - name: everyone
    when: { kind: [employee] }
    grant: { entitlements: ["directory:all-staff"] }
  - name: department-group
    when: { kind: [employee] }
    grant: { entitlements: ["directory:dept-{department|slug}"] }
`,
};

describe('entitlement templates on the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jml-groups-'));
  const base = writePolicyDir(BASE, join(dir, 'base'));
  const templated = writePolicyDir(TEMPLATED, join(dir, 'templated'));
  const env = { ...process.env, JML_MASTER_KEY: randomBytes(32).toString('base64'), JML_ACTOR: 'alice', DATABASE_URL: '' };
  const jml = (policy: string, args: string[]) => {
    const r = spawnSync(process.execPath, [MAIN, '--data', join(dir, 'data'), '--policy', policy, ...args], { cwd: dir, env, encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr, json: () => JSON.parse(r.stdout) };
  };
  const hr = (policy: string, rows: string, asOf: string) => {
    writeFileSync(join(dir, 'hr.csv'), HEADER + rows);
    const r = jml(policy, ['import', 'hr', join(dir, 'hr.csv'), '--as-of', asOf]);
    assert.equal(r.code, 0, r.err);
  };

  test('policy diff shows who gains which department group and which groups jml would create', () => {
    hr(base, row('1001', 'Ada', 'R&D, Europe') + row('1002', 'Alan', 'Sales+Ops') + row('1003', 'Bea', ''), '2026-03-01');
    const diff = jml(base, ['policy', 'diff', templated]);
    assert.equal(diff.code, 0, diff.err);
    assert.match(diff.out, /1001\n {2}\+ directory:dept-r-d-europe \(template dept-\{department\|slug\}: department "R&D, Europe"\)/);
    assert.match(diff.out, /groups jml would create[^\n]*\n {2}\+ directory:dept-r-d-europe from dept-\{department\|slug\}, for 1001\n {2}\+ directory:dept-sales-ops from dept-\{department\|slug\}, for 1002\n/);
    assert.doesNotMatch(diff.out, /1003/, 'no department, nothing gained');
  });

  test('a plan creates each new department group before granting it; after apply the next plan is empty', () => {
    const planned = jml(templated, ['plan', '--out', join(dir, 'plan.json')]);
    assert.equal(planned.code, 0, planned.err);
    assert.match(planned.out, /\+ create_group +directory:dept-r-d-europe/);
    assert.match(planned.out, /\+ add_grant +directory:dept-r-d-europe +rule department-group, template dept-\{department\|slug\} with department "R&D, Europe"/);
    assert.doesNotMatch(planned.out, /directory:dept-(\s|$)/m, 'never a group named "dept-"');
    const applied = jml(templated, ['apply', join(dir, 'plan.json'), '--json']);
    assert.equal(applied.code, 0, applied.err + applied.out);
    const refreshed = jml(templated, ['plan', '--refresh', '--json']);
    assert.equal(refreshed.code, 0, refreshed.err);
    assert.deepEqual(refreshed.json().plan.changes, []);
  });

  test('explain names the template behind a group, and the missing department of an identity without one', () => {
    assert.match(jml(templated, ['explain', '1001']).out, /ok +directory:dept-r-d-europe +rule department-group, template dept-\{department\|slug\} with department "R&D, Europe"/);
    assert.match(jml(templated, ['explain', '1003']).out, /NO GROUP +directory:dept-\{department\|slug\} +rule department-group: department missing/);
    const check = jml(templated, ['policy', 'check', '--identities']);
    assert.equal(check.code, 0, check.err);
    assert.match(check.out, /\n {2}1003: rule department-group: directory:dept-\{department\|slug\} names no group \(department missing\)\n$/);
  });

  test('a mover leaves their old group, and the group jml created is deleted once empty', () => {
    hr(templated, row('1001', 'Ada', 'R&D, Europe') + row('1002', 'Alan', 'R&D, Europe') + row('1003', 'Bea', ''), '2026-03-02');
    const planned = jml(templated, ['plan', '--out', join(dir, 'move.json')]);
    assert.equal(planned.code, 0, planned.err);
    assert.match(planned.out, /- remove_grant +directory:dept-sales-ops/);
    assert.match(planned.out, /- delete_group +directory:dept-sales-ops/);
    assert.doesNotMatch(planned.out, /create_group/);
    assert.equal(jml(templated, ['apply', join(dir, 'move.json'), '--json']).code, 0);
    const reconciled = jml(templated, ['reconcile', 'directory', '--json']);
    assert.equal(reconciled.code, 0, reconciled.err);
    assert.equal(reconciled.json().counts.entitlements, 2, 'all-staff and dept-r-d-europe are left');
    assert.deepEqual(jml(templated, ['plan', '--json']).json().plan.changes, []);
  });
});
