#!/usr/bin/env node
// Entry point for `npx jml`. jml runs on Node 24 (it executes its TypeScript
// directly); when started by an older node, re-run with the project's pinned one.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  const { endQuietlyOnClosedPipe, main } = await import('../src/cli/main.ts');
  endQuietlyOnClosedPipe(process.stdout);
  endQuietlyOnClosedPipe(process.stderr);
  await main(process.argv.slice(2));
} else {
  const pinned = path.join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(pinned)) {
    console.error(`jml needs Node.js 24 or later (this is ${process.version}); run \`npm install\` in ${root} first`);
    process.exit(1);
  }
  const run = spawnSync(pinned, [path.join(root, 'src', 'cli', 'main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
