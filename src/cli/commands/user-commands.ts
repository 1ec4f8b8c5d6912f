/**
 * `jml users reset-password <user>`: the recovery path for a lost password,
 * including the last admin's. Local only (it needs the database, not the API),
 * prints a one-time password once, ends the user's sessions, and the user must
 * choose a new password at their next sign-in. Audited.
 *
 * `jml users reset-mfa <user>`: the recovery path for lost second factors
 * (see src/api/auth/mfa-reset.ts). With more than one active admin it files a
 * reset that another admin confirms in the console.
 */
import type { Command } from 'commander';
import { resetPassword } from '../../api/auth/user-store.ts';
import { requestMfaReset } from '../../api/auth/mfa-reset.ts';
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
  users
    .command('reset-mfa')
    .description('remove a console user\'s passkeys, authenticator app and recovery codes so they enrol again; with more than one admin, another admin confirms it in the console')
    .argument('<user>', 'username or user id')
    .option('--json', 'print JSON')
    .action(async (who: string, flags: { json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const outcome = await requestMfaReset(store.db, who, ctx.actor, 'cli', new Date());
        if (flags.json) return printJson(ctx, outcome);
        if (outcome.status === 'done') {
          printLine(ctx, `Sign-in methods of ${outcome.username} removed and their sessions ended. At their next sign-in they enrol a second factor again.`);
          return;
        }
        printLine(ctx, `Reset ${outcome.id} of ${outcome.username}'s sign-in methods filed. There is more than one admin: another admin (not ${outcome.username}) confirms it in the console under Security, until ${outcome.expiresAt}.`);
      });
    });
}
