import type { Command } from 'commander';
import { followUpRescind } from '../../app/replan-follow-up.ts';
import { rescindLeaver } from '../../app/rescind-leaver.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { followUpLine, runFollowUp } from '../replan-follow-up.ts';

export function registerRescindCommand(program: Command, ctx: CliContext): void {
  program
    .command('rescind')
    .description("undo an identity's termination (the only way to; audited, with a reason)")
    .argument('<key>', 'identity key')
    .requiredOption('--reason <text>', 'why the termination is rescinded (kept in the audit trail)')
    .option('--json', 'print JSON')
    .action(async (key: string, flags: { reason: string; json?: boolean }) => {
      const { result, followUp } = await ctx.withStore(async (store, config) => {
        const result = await rescindLeaver(store.db, { key, reason: flags.reason, actor: ctx.actor });
        // As after an import: the workers plan the identity again, nobody waits for them.
        const followUp = await runFollowUp(ctx, store, config, (deps) => followUpRescind(deps, { identityKey: result.identity.key, eventId: result.rescinded }), flags.json);
        return { result, followUp };
      });
      if (flags.json) return printJson(ctx, followUp ? { ...result, followUp } : result);
      printLine(ctx, `rescinded the leaver of ${result.identity.key} dated ${result.effective}; status is now ${result.identity.status}`);
      const line = followUpLine(followUp);
      if (line) printLine(ctx, line);
    });
}
