/**
 * `npm test`: type-check, then every test file (unit tests next to the code,
 * cross-process tests under test/) with node's test runner.
 */
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';

const only = process.argv.slice(2);
const tsc = spawnSync('tsc', ['--noEmit', '-p', '.'], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error('type check failed');
  process.exit(tsc.status ?? 1);
}

const files = only.length > 0 ? only : [...globSync('src/**/*.test.ts'), ...globSync('test/**/*.test.ts')].sort();
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'test' },
});
process.exit(run.status ?? 1);
