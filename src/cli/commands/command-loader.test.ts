import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Command } from 'commander';
import { commandDirectorySource } from '../command-directory-source.ts';
import { createProgram } from '../main.ts';
import { commandNamed, commandsFor } from './command-loader.ts';
import { COMMANDS } from './index.ts';

const DIRECTORY = path.join(import.meta.dirname, 'command-directory.ts');
const BIN = path.join(import.meta.dirname, '../../../bin/jml.js');

function helpOf(program: Command): string {
  let text = '';
  program.configureOutput({ writeOut: (s) => (text += s), getOutHelpWidth: () => 100 });
  program.outputHelp();
  return text;
}

test('command-directory.ts is what the commands register now (regenerate with npm run docs:cli)', async () => {
  assert.equal(readFileSync(DIRECTORY, 'utf8'), await commandDirectorySource(), 'src/cli/commands/command-directory.ts is stale. Run: npm run docs:cli');
});

test('jml --help without loading any command module prints exactly the help of the full program', async () => {
  const full = helpOf(createProgram(COMMANDS).program);
  const summaries = helpOf(createProgram(await commandsFor(['--help'])).program);
  assert.equal(summaries, full);
  assert.match(summaries, /^ {2}identity \[options\] <key> +show one identity/m);
});

test('the command a command line names is found past global options and their values', () => {
  const cases: [string[], string | undefined][] = [
    [[], undefined],
    [['--help'], undefined],
    [['-V'], undefined],
    [['identity', 'E1002'], 'identity'],
    [['--data', 'identity', 'plan'], 'plan'],
    [['--config', 'c.yaml', '--policy', 'p', 'system', 'test', 'ldap'], 'system'],
    [['--data=d', 'identities', '--json'], 'identities'],
    [['help', 'apply'], 'apply'],
    [['help'], undefined],
  ];
  for (const [argv, expected] of cases) assert.equal(commandNamed(argv), expected, `jml ${argv.join(' ')}`);
});

test('a command line loads only the module of the command it names', async () => {
  const program = createProgram(await commandsFor(['--data', 'd', 'identity', 'E1002'])).program;
  assert.deepEqual(program.commands.map((c) => c.name()), ['identities', 'identity', 'events']);
});

test('an unknown command loads every command, so the error suggests the nearest one', async () => {
  const program = createProgram(await commandsFor(['identites'])).program;
  assert.equal(program.commands.length, createProgram(COMMANDS).program.commands.length);
  assert.ok(program.commands.length > 30);
});

test('bin/jml.js ends a database command with its exit code and JSON error', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jml-loader-'));
  try {
    const r = spawnSync(process.execPath, [BIN, '--data', path.join(dir, 'data'), 'identity', 'nobody', '--json'], {
      cwd: dir, env: { ...process.env, DATABASE_URL: '' }, encoding: 'utf8',
    });
    assert.equal(r.status, 5, r.stderr);
    assert.equal(JSON.parse(r.stdout).error.code, 'not_found');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The pid of a process `ppid` started, once it has (empty if none within `tries` × 50 ms). */
async function childOf(ppid: number, tries = 100): Promise<string> {
  for (let i = 0; i < tries; i += 1) {
    const pid = spawnSync('pgrep', ['-P', String(ppid)], { encoding: 'utf8' }).stdout.trim();
    if (pid) return pid;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return '';
}

/** Starts `jml identities` on a fresh data directory with `node`: unpacking and migrating keep it busy for seconds. */
function startBusyCommand(node: string, dir: string) {
  const child = spawn(node, [BIN, '--data', path.join(dir, 'data'), 'identities'], { cwd: dir, env: { ...process.env, DATABASE_URL: '' }, stdio: 'ignore' });
  const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  return { child, ended };
}

test('bin/jml.js on Node 24 runs a one-shot command in its own process: no second Node starts, and kill PID ends the command', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jml-loader-'));
  try {
    const { child, ended } = startBusyCommand(process.execPath, dir);
    // The second process, where bin/jml.js started one, came within a few hundred milliseconds.
    const second = await childOf(child.pid!, 30);
    if (second) spawnSync('kill', [second]);
    child.kill('SIGTERM');
    assert.equal(await ended, 'SIGTERM');
    assert.equal(second, '', `bin/jml.js started a second process (pid ${second})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A Node older than 24 on PATH (`npx` puts the pinned Node 24 first, so every entry is asked). */
const olderNode = (process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, 'node'))
  .find((node) => existsSync(node) && /^v(1\d|2[0-3])\./.test(spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout ?? ''));

test('bin/jml.js started by an older Node passes a signal on to the Node 24 it runs, so no command runs on alone after kill PID', { skip: olderNode ? false : 'no Node older than 24 on PATH' }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jml-loader-'));
  try {
    const { child, ended } = startBusyCommand(olderNode!, dir);
    const inner = await childOf(child.pid!);
    assert.ok(inner, 'bin/jml.js started no second process');
    child.kill('SIGTERM');
    assert.equal(await ended, 'SIGTERM');
    // Well before the command would have finished on its own (unpacking and migrating take seconds).
    await new Promise((resolve) => setTimeout(resolve, 500));
    const alive = spawnSync('kill', ['-0', inner]).status === 0;
    if (alive) spawnSync('kill', [inner]);
    assert.equal(alive, false, `the command (pid ${inner}) kept running after jml was stopped`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
