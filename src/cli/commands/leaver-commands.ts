/**
 * `jml leavers`: each leaver's steps, their state, the latency measured from
 * the HR import to each confirmation, and the SLA clock running from the
 * effective time. Exit 1 when any leaver is overdue.
 */
import type { Command } from 'commander';
import { DEFAULT_LEAVER_SLA, leaversOutside, leaverStatuses } from '../../app/leaver-sla.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import { positiveInteger } from '../flag-values.ts';
import { leaverLines } from '../leaver-text.ts';

export function registerLeaverCommands(program: Command, ctx: CliContext): void {
  program
    .command('leavers')
    .description('leavers effective in the last N days: each step, when read-back confirmed it, the latency from the HR import, and the SLA clock')
    .option('--identity <key>', 'only this identity')
    .option('--days <n>', 'leavers effective in the last n days', '30')
    .option('--limit <n>', 'at most n leavers, newest first', '100')
    .option('--json', 'print JSON')
    .action(async (flags: { identity?: string; days: string; limit: string; json?: boolean }) => {
      const days = positiveInteger('--days', flags.days);
      const limit = positiveInteger('--limit', flags.limit);
      await ctx.withStore(async (store) => {
        const now = new Date();
        const since = new Date(now.getTime() - days * 86_400_000);
        const all = await leaverStatuses(store.db, now, DEFAULT_LEAVER_SLA, { ...(flags.identity ? { identityKey: flags.identity } : {}), since });
        const outside = await leaversOutside(store.db, now, since, flags.identity);
        const leavers = all.slice(0, limit);
        if (all.some((l) => l.state === 'overdue')) ctx.setExitCode(EXIT.error);
        if (flags.json) return printJson(ctx, { days, total: all.length, limit, truncated: all.length > leavers.length, notListed: outside, leavers });
        for (const line of leaverLines({ days, leavers, total: all.length, outside })) printLine(ctx, line);
      });
    });
}
