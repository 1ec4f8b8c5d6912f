import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

test('bin/jml.js runs a database command in a second process and passes on its exit code and JSON error', () => {
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
