/**
 * Every command of the CLI, in the order `jml --help` lists them. A command
 * file exports one `register…Command(program, ctx)` function.
 */
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';

export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const COMMANDS: readonly RegisterCommand[] = [];
