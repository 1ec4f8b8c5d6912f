/**
 * The demo as a newcomer runs it, one command (one process) at a time, from
 * an empty directory against the shipped demo policy: the simulated systems
 * keep their state in the data directory's database, so what `apply` did is
 * what `reconcile` reads and what the next `plan` starts from.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Change } from '../../src/domain/change.ts';

const BIN = join(import.meta.dirname, '../../bin/jml.js');
const POLICY = join(import.meta.dirname, '../../policy');

test('demo, plan, apply --yes, reconcile directory, plan: only the manual system\'s open tasks are left', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jml-demo-'));
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, '--data', join(dir, 'data'), '--policy', POLICY, ...args], {
      cwd: dir, env: { ...process.env, DATABASE_URL: '', JML_ACTOR: 'newcomer' }, encoding: 'utf8',
    });
    assert.equal(r.status, 0, `jml ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const jml = (...args: string[]) => JSON.parse(run(...args));

  const demo = jml('demo', '--json');
  const planned = jml('plan', '--json');
  const changes = planned.plan.changes as Change[];
  assert.equal(changes.length, demo.plan.changes);
  const inSystem = (system: string, kind: string) => changes.filter((c) => c.system === system && c.kind === kind).length;
  const manual = changes.filter((c) => c.system === 'finance-ledger');
  // The demo's upcoming leavers (HR status terminated, last day still to come) work until then: nobody collects
  // their equipment yet (that waits for the leaver), and any jml-internal change is a custodian's collection task.
  const internal = changes.filter((c) => c.system === null);
  assert.ok(internal.every((c) => c.kind === 'collect_asset'), 'jml-internal changes are collection tasks for the asset custodian');
  assert.ok(inSystem('directory', 'create_account') > 100 && manual.length > 0, 'the demo plans accounts in simulated and manual systems');

  const applied = jml('apply', '--yes', '--json');
  assert.deepEqual(applied.changes.map((c: { changeId: string }) => c.changeId), changes.map((c) => c.id), 'apply computes the same changes the plan showed');
  const creates = manual.filter((c) => c.kind === 'create_account').length;
  assert.deepEqual(applied.counts, { confirmed: changes.length - manual.length - internal.length, pending: creates + internal.length, waiting: manual.length - creates });

  const reconciled = jml('reconcile', 'directory', '--json');
  assert.equal(reconciled.counts.accounts, inSystem('directory', 'create_account'));
  assert.equal(reconciled.counts.grants, inSystem('directory', 'add_grant'));
  assert.equal(reconciled.situations.linked, reconciled.counts.accounts);

  const after = jml('plan', '--json');
  const left = after.plan.changes as Change[];
  assert.deepEqual(left.filter((c) => c.system !== 'finance-ledger' && c.system !== null), [], 'the simulated systems hold what was applied');
  assert.deepEqual(left.map((c) => c.id).sort(), [...manual, ...internal].map((c) => c.id).sort(), 'what is left waits for the finance-ledger owner and the asset custodian');
  assert.deepEqual(Object.keys(after.openTasks).sort(), [...manual.filter((c) => c.kind === 'create_account'), ...internal].map((c) => c.id).sort());
  assert.ok(after.observed.directory > after.observed.github, 'the directory was read again; github is as applied');
  const text = run('plan');
  assert.match(text, /observed: directory reconciled \S+; github as applied \S+; vpn as applied \S+; finance-ledger never reconciled/);
  assert.match(text, /\+ create_account +finance-ledger +.*\[task task-\S+ open for E1003, due \S+\]/);
});
