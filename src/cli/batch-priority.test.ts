import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

/**
 * Runs `body` in a fresh Node process (a lowered priority cannot be raised
 * again, so never in the test runner) and returns what it printed as JSON.
 */
function inChild(body: string, env: NodeJS.ProcessEnv = {}): unknown {
  const script = `
    import os from 'node:os';
    import { readdirSync } from 'node:fs';
    import { lowerBatchPriority } from ${JSON.stringify(new URL('./batch-priority.ts', import.meta.url).href)};
    const threads = () => readdirSync('/proc/self/task').map((id) => os.getPriority(Number(id)));
    ${body}`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...withoutConfig(process.env), ...env } }));
}

/** The environment without settings that would change which configuration the child reads. */
function withoutConfig(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { JML_BATCH_NICE: _nice, JML_CONFIG: _config, ...rest } = env;
  return rest;
}

const linux = process.platform === 'linux';

test('a batch process lowers every one of its threads to the batch nice value', { skip: !linux && 'threads are listed from /proc' }, () => {
  const seen = inChild(`console.log(JSON.stringify({ before: threads(), now: lowerBatchPriority(7), after: threads() }))`) as { before: number[]; now: number; after: number[] };
  assert.ok(seen.before.every((n) => n === 0), `started at normal priority: ${seen.before}`);
  assert.ok(seen.before.length > 1, 'Node has helper threads besides the main one');
  assert.equal(seen.now, 7);
  assert.deepEqual(seen.after, seen.after.map(() => 7));
});

test('a thread started after the priority was lowered runs at it too', { skip: !linux && 'threads are listed from /proc' }, () => {
  const seen = inChild(`
    lowerBatchPriority(9);
    const known = new Set(readdirSync('/proc/self/task'));
    const { Worker } = await import('node:worker_threads');
    const worker = new Worker('setTimeout(() => {}, 300)', { eval: true });
    await new Promise((r) => worker.once('online', r));
    const added = readdirSync('/proc/self/task').filter((id) => !known.has(id)).map((id) => os.getPriority(Number(id)));
    await worker.terminate();
    console.log(JSON.stringify(added));`) as number[];
  assert.ok(seen.length > 0, 'the worker added threads');
  assert.deepEqual(seen, seen.map(() => 9));
});

test('a process started at a lower priority than the batch value keeps it, and 0 changes nothing', () => {
  assert.equal(inChild(`os.setPriority(12); console.log(JSON.stringify(lowerBatchPriority(7)))`), 12);
  assert.equal(inChild(`console.log(JSON.stringify([lowerBatchPriority(0), os.getPriority()]))`)?.toString(), '0,0');
});

test('jml plan, import and reconcile run at the configured batch priority; jml serve and jml worker, which carries leavers, keep the normal one', () => {
  const seen = inChild(`
    const { createProgram } = await import(${JSON.stringify(new URL('./main.ts', import.meta.url).href)});
    const priorityIn = async (name) => {
      let priority = null;
      const { program } = createProgram([(p) => p.command(name).action(() => { priority = os.getPriority(); })]);
      await program.parseAsync([name], { from: 'user' });
      return priority;
    };
    // In this order: a priority once lowered cannot be raised again in the same process.
    const serve = await priorityIn('serve');
    const worker = await priorityIn('worker');
    console.log(JSON.stringify({ serve, worker, plan: await priorityIn('plan') }));`, { JML_BATCH_NICE: '6' });
  assert.deepEqual(seen, { serve: 0, plan: 6, worker: 0 });
});
