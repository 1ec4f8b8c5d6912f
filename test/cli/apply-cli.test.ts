/**
 * `jml apply` as a person runs it, in child processes against the embedded
 * database and a simulated system (its state lives in the store, so it
 * survives between processes): the summary it prints, a process killed
 * mid-apply and finished by the next run, an unreachable system quarantined
 * within seconds, and a closed pipe that ends a command quietly.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openStore } from '../../src/store/open-store.ts';
import { verifyAudit } from '../../src/store/audit-log.ts';
import { isJmlError } from '../../src/domain/errors.ts';
import { writePolicyDir } from '../support/jml-fixture.ts';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
/** What `npx jml` runs: the package's bin, which starts the CLI in-process on Node 24. */
const BIN = join(import.meta.dirname, '../../bin/jml.js');
const HEADER = 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status\n';
const people = (n: number) =>
  HEADER + Array.from({ length: n }, (_, i) => `${2001 + i},P${i},Tester,p${i}@example.com,Engineering,Analyst,,London,Full-time,2024-01-01,,active\n`).join('');

const policy = (settings: string) => ({
  'systems.yaml': `systems:
  - name: wiki
    connector: { type: simulated, settings: ${settings} }
    owner: "2001"
    enforcement: full
    correlation: { account: identity_key, identity: key }
`,
  'entitlements.yaml': 'entitlements:\n  - { system: wiki, name: staff }\n',
  'rules.yaml': 'rules:\n  - name: everyone\n    when: { kind: [employee] }\n    grant: { entitlements: ["wiki:staff"] }\n',
});

/** A fresh directory with `n` people imported; `jml` runs the CLI there with the given policy settings. */
function workspace(n: number, settings = '{}') {
  const dir = mkdtempSync(join(tmpdir(), 'jml-apply-'));
  let policyDir = writePolicyDir(policy(settings), join(dir, 'policy'));
  const env = { ...process.env, DATABASE_URL: '', JML_ACTOR: 'alice' };
  const args = (rest: readonly string[], entry = MAIN) => [entry, '--data', join(dir, 'data'), '--policy', policyDir, ...rest];
  const jml = (...rest: string[]) => {
    const started = Date.now();
    const r = spawnSync(process.execPath, args(rest), { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, out: r.stdout, err: r.stderr, ms: Date.now() - started, json: () => JSON.parse(r.stdout) };
  };
  writeFileSync(join(dir, 'hr.csv'), people(n));
  assert.equal(jml('import', 'hr', join(dir, 'hr.csv'), '--as-of', '2026-03-01').code, 0);
  return {
    dir,
    jml,
    spawnJml: (...rest: string[]) => spawn(process.execPath, args(rest), { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] }),
    /** The same through bin/jml.js, the way `npx jml` starts it. */
    spawnBin: (...rest: string[]) => spawn(process.execPath, args(rest, BIN), { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] }),
    setPolicy: (next: string) => void (policyDir = writePolicyDir(policy(next), join(dir, `policy-${Date.now()}`))),
    /** Accounts in the simulated system, and how many times each change was recorded as done. */
    async inspect() {
      const store = await openUnlocked(join(dir, 'data'));
      try {
        const accounts = await store.db.selectFrom('sim_accounts').select('identity_key').where('system', '=', 'wiki').execute();
        const done = await store.db.selectFrom('audit_log').select(['details']).where('action', 'in', ['change.confirmed', 'change.already']).execute();
        const perChange = new Map<string, number>();
        for (const d of done) {
          const id = (d.details as { change: string }).change;
          perChange.set(id, (perChange.get(id) ?? 0) + 1);
        }
        const applying = await store.db.selectFrom('plans').select('id').where('status', '=', 'applying').execute();
        return { accounts: accounts.map((a) => a.identity_key).sort(), perChange, applying: applying.length, audit: await verifyAudit(store.db) };
      } finally {
        await store.close();
      }
    },
  };
}

/** Opens the store, waiting out the data directory lock a killed process left (taken over after 10 s). */
async function openUnlocked(dataDir: string) {
  for (let i = 0; ; i++) {
    try {
      return await openStore({ dataDir });
    } catch (error) {
      if (!isJmlError(error, 'locked') || i > 40) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** Runs `fn` until it stops failing on the data directory lock a killed process left (taken over after 10 s). */
function unlocked<T extends { code: number | null }>(fn: () => T): T {
  for (let i = 0; ; i++) {
    const r = fn();
    if (r.code !== 6 || i > 40) return r;
    spawnSync('sleep', ['0.5']);
  }
}

describe('jml apply on the command line', () => {
  test('apply prints per system and kind what was confirmed, --verbose every change, --json one document', () => {
    const w = workspace(3);
    const applied = w.jml('apply', '--yes');
    assert.equal(applied.code, 0, applied.err);
    assert.match(applied.out, /plan \S+: applied — 6 change\(s\): 6 confirmed/);
    assert.match(applied.out, /system +kind +confirmed +already +parked +waiting/);
    assert.match(applied.out, /wiki +add_grant +3 +0 +0 +0/);
    assert.match(applied.out, /wiki +create_account +3 +0 +0 +0/);
    assert.doesNotMatch(applied.out, /changes:/, 'not every change without --verbose');

    w.setPolicy('{}');
    writeFileSync(join(w.dir, 'hr.csv'), people(4));
    assert.equal(w.jml('import', 'hr', join(w.dir, 'hr.csv'), '--as-of', '2026-03-01').code, 0);
    const verbose = w.jml('apply', '--yes', '--verbose');
    assert.equal(verbose.code, 0, verbose.err);
    assert.match(verbose.out, /changes:\n +confirmed +create_account wiki for 2004\n +confirmed +add_grant wiki:staff for 2004/);

    const json = w.jml('apply', '--yes', '--json');
    assert.equal(json.code, 0, json.err);
    assert.deepEqual(json.json().counts, {}, 'nothing left to do, as one JSON document');
  });

  test('a jml apply killed mid-apply is finished by the next jml apply, nothing done twice', { timeout: 180_000 }, async () => {
    const w = workspace(12, '{ latencyMs: 400 }');
    // Killed a while after it printed its plan: once the plan is queued and some changes are done, others not.
    // On a loaded machine queueing can take longer than that while; a process killed before its plan was queued
    // has done nothing (plan and jobs are written in one transaction), so it is started again and killed later.
    let midway: Awaited<ReturnType<typeof w.inspect>> | null = null;
    for (const delayMs of [1_800, 4_000, 8_000]) {
      const child = w.spawnJml('apply', '--yes');
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`apply never got going: ${out}`)), 60_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (/24 change\(s\)/.test(out)) {
            setTimeout(() => {
              clearTimeout(timer);
              child.kill('SIGKILL');
              resolve();
            }, delayMs);
          }
        });
      });
      await new Promise((resolve) => child.once('close', resolve));
      midway = await w.inspect();
      if (midway.applying > 0) break;
      assert.equal(midway.perChange.size, 0, `killed ${delayMs} ms after printing its plan, before it was queued: nothing was done`);
    }
    assert.equal(midway!.applying, 1, 'killed with its plan queued');
    assert.ok(midway!.perChange.size < 24, `killed before the plan finished: ${midway!.perChange.size} of 24 changes settled, ${midway!.accounts.length} accounts`);

    const again = unlocked(() => w.jml('apply', '--yes'));
    assert.equal(again.code, 0, again.out + again.err);
    // The killed process's leases would hold its changes for two minutes; a dead local process's are taken back at once.
    assert.ok(again.ms < 60_000, `finished in ${again.ms} ms`);
    assert.match(again.out, /resumed plan \S+: applied — 24 change\(s\)/);
    assert.match(again.out, /nothing to do|0 change\(s\)/);
    const after = await w.inspect();
    assert.equal(after.accounts.length, 12, 'every account, once');
    assert.equal(after.perChange.size, 24, 'every change settled');
    assert.deepEqual([...after.perChange.values()].filter((n) => n !== 1), [], 'no change recorded as done twice');
    assert.equal(after.audit.ok, true);
  });

  test('an unreachable system is quarantined within seconds: apply exits non-zero naming it; release and apply finish the plan', { timeout: 180_000 }, () => {
    const w = workspace(40, '{ unreachable: true }');
    const down = w.jml('apply', '--yes');
    assert.equal(down.code, 1, down.out + down.err);
    assert.ok(down.ms < 30_000, `failed fast: ${down.ms} ms`);
    assert.match(down.err, /wiki is quarantined .*connection refused.*; 80 change\(s\) wait for it\. Release it with `jml quarantine release wiki`/);
    assert.match(down.out, /wiki is quarantined; 80 change\(s\) wait for it without using up their attempts/);
    assert.match(down.out, /first errors:\n +\S+ wiki for \d+ \(and \d+ more\): wiki: connection refused/);
    assert.match(w.jml('quarantine').out, /wiki +quarantined +\d+ .*wiki: connection refused/);
    assert.match(w.jml('findings').out, /quarantined_system +wiki/);

    const stillDown = w.jml('apply', '--yes');
    assert.equal(stillDown.code, 1, 'a new apply does not pile a second plan on the waiting one');
    assert.match(stillDown.err, /wiki is quarantined/);

    w.setPolicy('{}');
    const released = w.jml('quarantine', 'release', 'wiki');
    assert.equal(released.code, 0, released.err);
    assert.match(released.out, /wiki released; \d+ waiting change\(s\) queued again/);
    const up = w.jml('apply', '--yes');
    assert.equal(up.code, 0, up.out + up.err);
    assert.match(up.out, /resumed plan \S+: applied — 80 change\(s\): 80 confirmed/);
    return w.inspect().then((after) => {
      assert.equal(after.accounts.length, 40);
      assert.deepEqual([...after.perChange.values()].filter((n) => n !== 1), [], 'nothing done twice');
    });
  });

  test('a reader that closes the pipe early ends the command quietly, whether started as src/cli/main.ts or through bin/jml.js', async () => {
    const w = workspace(200);
    // One after the other: the embedded database serves one process at a time.
    for (const start of [() => w.spawnJml('plan'), () => w.spawnBin('plan')]) {
      const child = start();
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      // What `jml plan | head -1` does: read a little, then close the pipe.
      child.stdout.once('data', () => child.stdout.destroy());
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.doesNotMatch(err, /EPIPE|Error|at /, err);
      assert.equal(code, 0);
    }
  });
});
