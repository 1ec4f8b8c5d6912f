/**
 * `jml plan --at DATE` as a person runs it: the plan of a coming date, with a
 * leaver's end date and a joiner's start date taking effect by then, and not
 * one row written — on the embedded store and, when a server is given, on
 * PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openStore } from '../../src/store/open-store.ts';
import { createTestDatabase } from '../support/backends.ts';
import { writePolicyDir } from '../support/jml-fixture.ts';
import { runCli } from '../support/run-cli.ts';
import type { ScratchDatabase } from '../support/scratch-database.ts';

const POLICY = {
  'policy.yaml': `systems:
  - name: sandbox
    connector: { type: simulated }
    owner: "1001"
    enforcement: full
    correlation: { account: identity_key, identity: key }
entitlements:
  - { system: sandbox, name: staff }
rules:
  - { name: everyone, when: { kind: [employee] }, grant: { entitlements: ["sandbox:staff"] } }
`,
};

/** YYYY-MM-DD `days` from today (UTC, the configured time zone here). */
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/** A digest of every row of every table jml and its queue keep, by table. */
async function storeDigest(options: { dataDir?: string; databaseUrl?: string }): Promise<Record<string, string>> {
  const store = await openStore(options);
  try {
    const tables = await sql<{ schema: string; name: string }>`select table_schema as schema, table_name as name from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') order by 1, 2`.execute(store.db);
    const out: Record<string, string> = {};
    for (const t of tables.rows) {
      const ref = sql.table(`${t.schema}.${t.name}`);
      const r = await sql<{ digest: string | null; n: number }>`select md5(string_agg(x::text, '|' order by x::text)) as digest, count(*)::int as n from ${ref} x`.execute(store.db);
      out[`${t.schema}.${t.name}`] = `${r.rows[0]!.n}:${r.rows[0]!.digest ?? ''}`;
    }
    return out;
  } finally {
    await store.close();
  }
}

const backends: { name: string; setup: () => Promise<{ env: Record<string, string>; location: { dataDir?: string; databaseUrl?: string }; done: () => Promise<void> }> }[] = [
  { name: 'PGlite', setup: async () => { const dataDir = join(mkdtempSync(join(tmpdir(), 'jml-plan-at-')), 'data'); return { env: { JML_DATA_DIR: dataDir }, location: { dataDir }, done: async () => {} }; } },
];
if (process.env.JML_TEST_DATABASE_URL) {
  backends.push({
    name: 'PostgreSQL',
    setup: async () => {
      const db: ScratchDatabase = await createTestDatabase();
      return { env: { DATABASE_URL: db.url }, location: { databaseUrl: db.url }, done: () => db.drop() };
    },
  });
}

for (const backend of backends) {
  describe(`jml plan --at (${backend.name})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'jml-plan-at-'));
    const policy = writePolicyDir(POLICY, join(dir, 'policy'));
    let setup: Awaited<ReturnType<typeof backend.setup>> | null = null;
    const jml = async (...args: string[]) => {
      setup ??= await backend.setup();
      return runCli(['--policy', policy, ...args], { cwd: dir, env: { JML_MASTER_KEY: randomBytes(32).toString('base64'), JML_TIMEZONE: 'UTC', ...setup.env } });
    };
    after(async () => setup?.done());

    const leaves = inDays(40);
    const starts = inDays(70);

    test('a coming date shows the leaver whose end date has passed by then and the joiner who has started, and writes nothing', async () => {
      writeFileSync(join(dir, 'hr.csv'), 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status\n'
        + '1001,Ada,Lovelace,ada@example.com,Eng,Staff,,London,Full-time,2024-01-01,,active\n'
        + `1002,Alan,Turing,alan@example.com,Eng,Staff,,London,Full-time,2024-01-01,${leaves},active\n`
        + `1003,Grace,Hopper,grace@example.com,Eng,Staff,,London,Full-time,${starts},,active\n`);
      assert.equal((await jml('import', 'hr', join(dir, 'hr.csv'))).code, 0);
      const applied = await jml('apply', '--yes');
      assert.equal(applied.code, 0, applied.stderr);
      const today = await jml('plan', '--json');
      assert.deepEqual(JSON.parse(today.stdout).plan.changes, [], 'everyone holds what policy desires today');

      const before = await storeDigest(setup!.location);
      const afterLeaving = await jml('plan', '--at', inDays(41));
      assert.equal(afterLeaving.code, 0, afterLeaving.stderr);
      assert.match(afterLeaving.stdout, /^what-if for \d{4}-\d\d-\d\d .*nothing is written/);
      assert.match(afterLeaving.stdout, /\n1002\n {2}- disable_account +sandbox/);
      assert.doesNotMatch(afterLeaving.stdout, /1003/);
      const afterStarting = JSON.parse((await jml('plan', '--at', starts, '--json')).stdout);
      assert.deepEqual(afterStarting.plan.changes.map((c: { identityKey: string; kind: string }) => `${c.identityKey} ${c.kind}`).sort(),
        ['1002 disable_account', '1002 remove_grant', '1003 add_grant', '1003 create_account']);
      assert.equal(afterStarting.at, `${starts}T23:59:59.999Z`);
      assert.deepEqual(await storeDigest(setup!.location), before, 'no table changed');

      const stillToday = await jml('plan', '--json');
      assert.deepEqual(JSON.parse(stillToday.stdout).plan.changes, [], 'the preview did not make the events take effect');
    });

    test('a date before today, a malformed date, and --at with --out are refused and change nothing', async () => {
      const past = await jml('plan', '--at', '2020-01-01');
      assert.equal(past.code, 2);
      assert.match(past.stderr, /--at 2020-01-01 is before today/);
      assert.match((await jml('plan', '--at', '31/01/2030')).stderr, /--at must be a date YYYY-MM-DD, got "31\/01\/2030"/);
      const out = await jml('plan', '--at', starts, '--out', join(dir, 'plan.json'));
      assert.equal(out.code, 2);
      assert.match(out.stderr, /cannot be combined with --out or --refresh/);
    });
  });
}
