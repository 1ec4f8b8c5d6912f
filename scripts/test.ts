/**
 * `npm test`: type-check (server and web console), then every test file
 * (unit tests next to the code, cross-process tests under test/) with node's
 * test runner.
 */
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';

const only = process.argv.slice(2);
// The server (tsconfig.json) and the web console (web/tsconfig.json: DOM, JSX) are type-checked apart.
for (const project of ['.', 'web']) {
  const tsc = spawnSync('tsc', ['--noEmit', '-p', project], { stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error(`type check failed (${project === '.' ? 'tsconfig.json' : `${project}/tsconfig.json`})`);
    process.exit(tsc.status ?? 1);
  }
}

const files = only.length > 0 ? only : [...globSync('src/**/*.test.ts'), ...globSync('test/**/*.test.ts')].sort();
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'test' },
});
process.exit(run.status ?? 1);
