#!/usr/bin/env node
/**
 * The `jml` command line. Each command lives in commands/<name>-command.ts and
 * registers itself here; this file only wires them and maps errors to exit codes.
 */
import { Command, CommanderError } from 'commander';
import { jmlVersion } from '../app/jml-version.ts';
import { isJmlError } from '../domain/errors.ts';
import { BATCH_COMMANDS, lowerBatchPriority } from './batch-priority.ts';
import { createCliContext, printJson, type CliContext } from './cli-context.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { commandsFor } from './commands/command-loader.ts';
import type { RegisterCommand } from './commands/index.ts';

/**
 * A reader that went away (`jml plan | head`) ends the command quietly, as
 * Unix tools do, instead of an EPIPE stack trace: nothing more can be shown
 * to anyone. Any other output error is still an error.
 */
export function endQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw error;
  });
}

/**
 * The `jml` program with these commands registered: every command for docs/cli.md
 * (`COMMANDS`), only the one a command line names when it runs (see command-loader.ts).
 */
export function createProgram(commands: readonly RegisterCommand[]): { program: Command; ctx: CliContext } {
  const program = new Command('jml')
    .description('jml — identity lifecycle engine: joiners, movers, leavers and the access governance around them')
    .version(jmlVersion(), '-V, --version', 'print the version of jml')
    .option('--config <file>', 'configuration file (default: ./jml.config.yaml, or JML_CONFIG)')
    .option('--data <dir>', 'embedded database directory (default: ./.jml, or JML_DATA_DIR); ignored with DATABASE_URL')
    .option('--policy <dir>', 'policy directory (default: ./policy, or JML_POLICY_DIR)')
    .showHelpAfterError()
    .exitOverride();
  const ctx = createCliContext(program);
  for (const register of commands) register(program, ctx);
  // Batch work yields the CPU to the console's API (batch-priority.ts); `jml serve` keeps its priority.
  program.hook('preAction', async (_program, action) => {
    if (action.parent === program && BATCH_COMMANDS.has(action.name())) lowerBatchPriority((await ctx.config()).batch_nice);
  });
  return { program, ctx };
}

export async function main(argv: readonly string[]): Promise<void> {
  const { program, ctx } = createProgram(await commandsFor(argv));
  const wantsJson = argv.includes('--json');
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : EXIT.invalidInput;
      return;
    }
    if (isJmlError(error)) {
      if (wantsJson) printJson(ctx, { error: { code: error.code, message: error.message, details: error.details } });
      else process.stderr.write(`jml: ${error.message}\n`);
      process.exitCode = exitCodeFor(error.code);
      return;
    }
    process.stderr.write(`jml: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = EXIT.error;
  }
}

if (import.meta.main) {
  endQuietlyOnClosedPipe(process.stdout);
  endQuietlyOnClosedPipe(process.stderr);
  await main(process.argv.slice(2));
}
