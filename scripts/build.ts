/**
 * `npm run build` (and `npm pack`, through `prepack`): the installable form of
 * jml. The server's TypeScript is compiled to dist/ (JavaScript with source
 * maps that carry their sources; `.ts` import specifiers rewritten to `.js`),
 * because Node refuses to strip types from files inside node_modules, and the
 * web console is built into web/dist. The clone itself needs neither: `npm start`
 * and `npm test` run the TypeScript directly.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

function run(what: string, command: string, args: readonly string[]): void {
  const started = performance.now();
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`build: ${what} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
  console.log(`build: ${what} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

// A file deleted from src/ must not live on in dist/.
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
run('server → dist/', process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
// The empty PGlite cluster new data directories start from (src/store/pglite-cluster.ts) is data, not TypeScript.
for (const file of readdirSync(path.join(root, 'src', 'store')).filter((f) => f.startsWith('pglite-cluster-') && f.endsWith('.tar.gz'))) {
  copyFileSync(path.join(root, 'src', 'store', file), path.join(root, 'dist', 'store', file));
}
run('web console → web/dist/', process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', 'web', '--logLevel', 'warn']);
