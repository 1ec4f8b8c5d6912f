/**
 * Every command of the CLI, in the order `jml --help` lists them. A command
 * file exports one `register…Command(program, ctx)` function.
 */
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { registerAuditCommand } from './audit-command.ts';
import { registerIdentityCommands } from './identity-commands.ts';
import { registerImportCommand } from './import-command.ts';
import { registerRescindCommand } from './rescind-command.ts';

export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const COMMANDS: readonly RegisterCommand[] = [registerImportCommand, registerIdentityCommands, registerRescindCommand, registerAuditCommand];
