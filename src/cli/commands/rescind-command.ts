import type { Command } from 'commander';
import { rescindLeaver } from '../../app/rescind-leaver.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';

export function registerRescindCommand(program: Command, ctx: CliContext): void {
  program
    .command('rescind')
    .description("undo an identity's termination (the only way to; audited, with a reason)")
    .argument('<key>', 'identity key')
    .requiredOption('--reason <text>', 'why the termination is rescinded (kept in the audit trail)')
    .option('--json', 'print JSON')
    .action(async (key: string, flags: { reason: string; json?: boolean }) => {
      const result = await ctx.withStore((store) => rescindLeaver(store.db, { key, reason: flags.reason, actor: ctx.actor }));
      if (flags.json) return printJson(ctx, result);
      printLine(ctx, `rescinded the leaver of ${result.identity.key} dated ${result.effective}; status is now ${result.identity.status}`);
    });
}
