/**
 * The list commands as a person reads them: a header row naming the columns,
 * and with --json and --limit, a document that says whether the list was cut.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { writePolicyDir } from '../support/jml-fixture.ts';
import { runCli } from '../support/run-cli.ts';

describe('list commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jml-lists-'));
  const policy = writePolicyDir({
    'policy.yaml': `systems:
  - name: sandbox
    connector: { type: simulated }
    owner: "1001"
    enforcement: full
    correlation: { account: identity_key, identity: key }
  - name: app
    connector: { type: scim, settings: { base_url: "https://app.example.com/scim/v2" } }
    owner: "1001"
entitlements:
  - { system: sandbox, name: staff }
rules:
  - { name: everyone, when: { kind: [employee] }, grant: { entitlements: ["sandbox:staff"] } }
`,
  }, join(dir, 'policy'));
  const env = { JML_MASTER_KEY: randomBytes(32).toString('base64'), JML_DATA_DIR: join(dir, 'data') };
  const jml = (args: string[], input?: string) => runCli(['--policy', policy, ...args], { cwd: dir, env, ...(input ? { input } : {}) });

  before(async () => {
    writeFileSync(join(dir, 'hr.csv'), 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status\n'
      + '1001,Ada,Lovelace,ada@example.com,Engineering,Head,,London,Full-time,2024-01-01,,active\n'
      + '1002,Alan,Turing,alan@example.com,Engineering,Engineer,1001,London,Full-time,2024-01-01,,active\n'
      + '1003,Grace,Hopper,grace@example.com,Finance,Analyst,1001,London,Full-time,2024-01-01,,active\n');
    assert.equal((await jml(['import', 'hr', join(dir, 'hr.csv')])).code, 0);
    assert.equal((await jml(['reconcile', 'sandbox'])).code, 0);
    assert.equal((await jml(['secret', 'set', 'app', 'token'], 'a-token\n')).code, 0);
  });

  test('identities, events, findings and secrets print a header row over aligned columns', async () => {
    const identities = (await jml(['identities'])).stdout.split('\n');
    assert.match(identities[0]!, /^KEY +STATUS +KIND +NAME +DEPARTMENT$/);
    assert.equal(identities[1]!.indexOf('active'), identities[0]!.indexOf('STATUS'), 'cells start under their header');
    assert.match((await jml(['events'])).stdout, /^EFFECTIVE +TYPE +IDENTITY +STATE +SOURCE +CHANGED\n/);
    assert.match((await jml(['findings'])).stdout, /^KIND +SYSTEM +DETAIL +SINCE\nmissing_account +sandbox /);
    const secrets = (await jml(['secret', 'list'])).stdout;
    assert.match(secrets, /^SYSTEM +FIELD +KEY ID +BOUND TO +UPDATED\napp +token /);
    assert.doesNotMatch(secrets, /a-token/);
  });

  test('--json with --limit says when the list was cut short, and not when everything fit', async () => {
    const cut = JSON.parse((await jml(['identities', '--json', '--limit', '2'])).stdout);
    assert.deepEqual([cut.identities.length, cut.truncated, cut.limit], [2, true, 2]);
    const whole = JSON.parse((await jml(['identities', '--json', '--limit', '3'])).stdout);
    assert.deepEqual([whole.identities.length, whole.truncated], [3, false]);
    const events = JSON.parse((await jml(['events', '--json', '--limit', '1'])).stdout);
    assert.deepEqual([events.events.length, events.truncated, events.limit], [1, true, 1]);
    assert.match((await jml(['identities', '--limit', '2'])).stdout, /showing the first 2 identities; more match/);
  });

  test('a limit that is not a positive number is refused', async () => {
    const run = await jml(['events', '--limit', 'ten']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--limit must be a positive integer/);
  });
});
