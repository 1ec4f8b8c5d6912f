/**
 * Durable follow-up with real processes: a `jml worker` runs (without cron
 * schedules, so only a replan request can move it); `jml import` of joiners
 * and `jml approve` of a held joiner ask for a replan through the job queue,
 * and the accounts appear in a simulated system without anyone running
 * `jml apply`. PostgreSQL only: the embedded database is one process's.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { createTestDatabase } from '../support/backends.ts';
import { writePolicyDir } from '../support/jml-fixture.ts';
import { postgresSkipReason } from '../peers/peer-process.ts';
import { CLI, runCli } from '../support/run-cli.ts';

// Several processes share one PostgreSQL.
const skip = postgresSkipReason();
const HEADER = 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status\n';
const today = new Date().toISOString().slice(0, 10);
// Joiners starting today: joiner approvals are opened for recent joiners only.
const row = (key: string, first: string, dept: string, manager = '') => `${key},${first},Tester,${first.toLowerCase()}@example.com,${dept},Analyst,${manager},London,Full-time,${today},,active\n`;

const dir = mkdtempSync(join(tmpdir(), 'jml-import-replan-'));
const policy = writePolicyDir({
  'systems.yaml': `systems:
  - name: apps
    connector: { type: simulated }
    owner: "1001"
    enforcement: full
    correlation: { account: identity_key, identity: key }
`,
  'entitlements.yaml': 'entitlements:\n  - { system: apps, name: users }\n',
  'rules.yaml': 'rules:\n  - { name: everyone, when: { kind: [employee] }, grant: { entitlements: ["apps:users"] } }\n',
  'approvals.yaml': 'approvals:\n  - { name: temps, joiners: { equals: { department: Temp } }, stages: [manager] }\n',
}, join(dir, 'policy'));

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;
let worker: ChildProcess;
const env = () => ({ DATABASE_URL: database.url, JML_ACTOR: 'alice', JML_IDENTITY: '' });
const jml = (...args: string[]) => runCli(['--policy', policy, ...args], { cwd: dir, env: env() });

before(async () => {
  if (skip) return;
  database = await createTestDatabase();
  store = await openStore({ databaseUrl: database.url, poolSize: 2 });
  worker = spawn(process.execPath, [CLI, '--policy', policy, 'worker', '--no-schedules', '--json'], { cwd: dir, env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  worker.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    worker.stdout!.on('data', (d: Buffer) => d.toString().includes('"started"') && resolve());
    worker.once('exit', (code) => reject(new Error(`worker exited ${code}: ${stderr}`)));
  });
});

after(async () => {
  if (skip) return;
  if (worker.exitCode === null) {
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;
  }
  await store.close();
  await database.drop();
});

async function accountOf(identityKey: string): Promise<boolean> {
  const found = await store.db.selectFrom('sim_accounts').select('account_id').where('system', '=', 'apps').where('identity_key', '=', identityKey).executeTakeFirst();
  return found !== undefined;
}

/** Milliseconds until `probe` holds, or throws after `ms`. */
async function within(ms: number, probe: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - start;
}

test('an imported joiner gets their account from a running worker, and a held joiner once approved, with nobody running jml apply', { skip, timeout: 120_000 }, async () => {
  writeFileSync(join(dir, 'hr.csv'), HEADER + row('1001', 'Ada', 'Engineering') + row('1002', 'Tim', 'Temp', '1001'));
  const imported = await jml('import', 'hr', join(dir, 'hr.csv'), '--json');
  assert.equal(imported.code, 0, imported.stderr);
  const followUp = JSON.parse(imported.stdout).followUp as { replan: string[]; joinerApprovals: string[] };
  assert.deepEqual(followUp.replan, ['1001', '1002']);
  assert.deepEqual(followUp.joinerApprovals, ['1002'], 'the import opens the joiner approval before any plan');

  const joinerMs = await within(30_000, () => accountOf('1001'));
  assert.equal(await accountOf('1002'), false, 'the joiner awaiting approval gets nothing');
  const planned = await jml('plan', '--json');
  assert.equal(planned.code, 0, planned.stderr);
  const { plan } = JSON.parse(planned.stdout) as { plan: { changes: unknown[]; held: { identityKey: string; state: string; requestId: string }[] } };
  assert.deepEqual(plan.held.map((h) => [h.identityKey, h.state]), [['1002', 'pending']], 'jml plan says who is held and why');
  assert.match((await jml('plan')).stdout, /1002 +\d+ change\(s\) held — joiner approval req-\w+ pending/);

  const approved = await jml('approve', plan.held[0]!.requestId, '--as', '1001');
  assert.equal(approved.code, 0, approved.stderr);
  assert.match(approved.stdout, /replan requested for 1 identity/);
  const approvalMs = await within(30_000, () => accountOf('1002'));
  process.stdout.write(`# import → account ${joinerMs} ms; approve → account ${approvalMs} ms\n`);
});
