#!/usr/bin/env node
// Entry point for `jml` and `npx jml`. In a clone it runs the TypeScript in src/
// directly (Node 24 strips the types; no build step). An installed package has
// no src/ but the compiled dist/, because Node refuses to strip types inside
// node_modules. A clone started by an older node re-runs with its pinned Node 24.
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import v8 from 'node:v8';
import { loadKyselyAsCommonJs } from './module-hooks.js';

// Node keeps what it compiled (the TypeScript with its types stripped, V8's code for
// it) on disk and reuses it while the files are unchanged: measured on the PGlite
// demo, `jml identity KEY` 860 -> 680 ms CPU and `jml --help` 100 -> 40 ms (medians
// of 5). A quiet optimisation: it never fails a command; NODE_COMPILE_CACHE=dir
// moves it, NODE_DISABLE_COMPILE_CACHE=1 turns it off. It lives in the user's own
// cache directory, not Node's default under the shared temporary directory, where
// another local user could plant compiled code for jml to run.
const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE ? undefined : path.join(cacheHome, 'jml', 'node-compile-cache'));

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const source = path.join(root, 'src', 'cli', 'main.ts');
const compiled = path.join(root, 'dist', 'cli', 'main.js');
const fromSource = existsSync(source);
const major = Number(process.versions.node.split('.')[0]);
const args = process.argv.slice(2);

// The embedded database is PostgreSQL compiled to WebAssembly. V8's optimising
// tier recompiles its hottest functions in the background, which for a command
// that runs a few queries costs more than it saves: measured on `jml identity KEY`
// (PGlite demo), 672 MiB and 3.1 s with it, 311 MiB and 1.6 s with Liftoff only.
// The long-running server and worker keep the optimising tier, as does import (100,000
// rows on a fresh directory: CPU 29.6 s with it, 44.6 s without, though 1.44 GiB
// against ~1 GiB peak RSS) and apply (not measured both ways); help opens no database.
const KEEP_OPTIMISING = new Set(['serve', 'worker', 'import', 'apply', 'help', '--help', '-h', '--version', '-V']);
const baselineOnly = args.length > 0 && !args.some((word) => KEEP_OPTIMISING.has(word));

if (major >= 24) {
  // V8 applies what `--liftoff-only` implies only at start, but those two settings are read
  // when WebAssembly is compiled, which nothing has done yet. Set here they spare a second
  // Node process (`jml identity KEY`, 10 interleaved runs: CPU 1.62 -> 1.48 s, and less wall
  // time on a busy machine); the peak RSS (~160 MiB, ~660 MiB with tier-up) shows they work.
  if (baselineOnly) for (const flag of ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering']) v8.setFlagsFromString(flag);
  // Stack traces from the compiled package point at the TypeScript (the maps carry their sources).
  if (!fromSource) process.setSourceMapsEnabled(true);
  loadKyselyAsCommonJs();
  const { endQuietlyOnClosedPipe, main } = await import(pathToFileURL(fromSource ? source : compiled).href);
  endQuietlyOnClosedPipe(process.stdout);
  endQuietlyOnClosedPipe(process.stderr);
  await main(args);
} else {
  const pinned = path.join(root, 'node_modules', 'node', 'bin', 'node');
  if (!fromSource || !existsSync(pinned)) {
    console.error(`jml needs Node.js 24 or later (this is ${process.version})${fromSource ? `; run \`npm install\` in ${root} first` : ''}`);
    process.exit(1);
  }
  // This process is the pinned Node.js, and it is older than 24: running it again would never end.
  if (realpathSync(process.execPath) === realpathSync(pinned)) {
    console.error(`jml needs Node.js 24 or later, and the one installed in ${path.join(root, 'node_modules', 'node')} is ${process.version}; run \`npm install\` in ${root}`);
    process.exit(1);
  }
  // Through this file again, so the second process gets the compile cache and loads Kysely as this file makes it.
  runAndEndLikeIt(pinned, [...(baselineOnly ? ['--liftoff-only'] : []), fileURLToPath(import.meta.url), ...args]);
}

/**
 * Runs the second process and ends as it ended: its exit code, or the signal
 * that stopped it. A signal sent to this process (`kill PID`, a service
 * manager stopping it) is passed on, so the command never runs on alone.
 */
function runAndEndLikeIt(command, commandArgs) {
  const child = spawn(command, commandArgs, { stdio: 'inherit' });
  const forward = (signal) => child.kill(signal);
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, forward);
  child.on('error', (error) => {
    console.error(`jml: cannot start ${command}: ${error.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const s of signals) process.off(s, forward);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
