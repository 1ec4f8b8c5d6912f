#!/usr/bin/env node
// Entry point for `jml` and `npx jml`. In a clone it runs the TypeScript in src/
// directly (Node 24 strips the types; no build step). An installed package has
// no src/ but the compiled dist/, because Node refuses to strip types inside
// node_modules. A clone started by an older node re-runs with its pinned Node 24.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const source = path.join(root, 'src', 'cli', 'main.ts');
const compiled = path.join(root, 'dist', 'cli', 'main.js');
const fromSource = existsSync(source);
const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  // Stack traces from the compiled package point at the TypeScript (the maps carry their sources).
  if (!fromSource) process.setSourceMapsEnabled(true);
  const { endQuietlyOnClosedPipe, main } = await import(pathToFileURL(fromSource ? source : compiled).href);
  endQuietlyOnClosedPipe(process.stdout);
  endQuietlyOnClosedPipe(process.stderr);
  await main(process.argv.slice(2));
} else {
  const pinned = path.join(root, 'node_modules', 'node', 'bin', 'node');
  if (!fromSource || !existsSync(pinned)) {
    console.error(`jml needs Node.js 24 or later (this is ${process.version})${fromSource ? `; run \`npm install\` in ${root} first` : ''}`);
    process.exit(1);
  }
  const run = spawnSync(pinned, [source, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
