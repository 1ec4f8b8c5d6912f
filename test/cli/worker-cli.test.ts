/**
 * `jml worker` given flags it cannot run with: invalid input (exit 2) naming
 * the flag, before anything opens. A bad `--batch` used to reach the job
 * queue, print a stack trace, and leave the process running.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/run-cli.ts';
import { tempDir } from '../support/hr-files.ts';

test('jml worker refuses a --batch or --concurrency that is not a whole number of at least 1, and touches nothing', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('jml-worker-cli-');
  const data = path.join(dir, 'data');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [flag, value] of [['--batch', 'abc'], ['--batch', '0'], ['--batch', '2.5'], ['--concurrency', '-1'], ['--concurrency', '']]) {
    const run = await runCli(['--data', data, 'worker', flag!, value!]);
    assert.equal(run.code, 2, `${flag} ${value}: ${run.stderr}`);
    assert.equal(run.stderr.trim(), `jml: ${flag} must be a whole number of at least 1, not "${value}"`);
  }
  assert.equal(existsSync(data), false, 'no data directory was made');
});
