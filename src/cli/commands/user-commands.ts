/**
 * `jml users reset-password <user>`: the recovery path for a lost password,
 * including the last admin's. Local only (it needs the database, not the API),
 * prints a one-time password once, ends the user's sessions, and the user must
 * choose a new password at their next sign-in. Audited.
 */
import type { Command } from 'commander';
import { resetPassword } from '../../api/auth/user-store.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';

export function registerUserCommands(program: Command, ctx: CliContext): void {
  const users = program.command('users').description('console users');
  users
    .command('reset-password')
    .description('give a local console user a one-time password (printed once) to be changed at their next sign-in; ends their sessions')
    .argument('<user>', 'username or user id')
    .option('--json', 'print JSON')
    .action(async (who: string, flags: { json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const { user, password } = await resetPassword(store.db, who, ctx.actor, 'cli', new Date());
        if (flags.json) return printJson(ctx, { username: user.username, oneTimePassword: password });
        printLine(ctx, `One-time password for ${user.username}: ${password}`);
        printLine(ctx, 'Shown once; stored hashed. They must choose a new password when they sign in. Their sessions have ended.');
      });
    });
}
