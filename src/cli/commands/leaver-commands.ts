/**
 * `jml leavers`: each leaver's steps, their state and the SLA clock running
 * from the effective time. Exit 1 when any leaver is overdue.
 */
import type { Command } from 'commander';
import { DEFAULT_LEAVER_SLA, leaverStatuses } from '../../app/leaver-sla.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';

function duration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  return minutes < 120 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`;
}

export function registerLeaverCommands(program: Command, ctx: CliContext): void {
  program
    .command('leavers')
    .description('leavers: each step, whether it is confirmed by read-back, and the SLA clock')
    .option('--identity <key>', 'only this identity')
    .option('--days <n>', 'leavers effective in the last n days', '30')
    .option('--json', 'print JSON')
    .action(async (flags: { identity?: string; days: string; json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const now = new Date();
        const list = await leaverStatuses(store.db, now, DEFAULT_LEAVER_SLA, { ...(flags.identity ? { identityKey: flags.identity } : {}), since: new Date(now.getTime() - Number(flags.days) * 86_400_000) });
        if (list.some((l) => l.state === 'overdue')) ctx.setExitCode(EXIT.error);
        if (flags.json) return printJson(ctx, list);
        if (list.length === 0) return printLine(ctx, 'no leavers.');
        for (const l of list) {
          printLine(ctx, `${l.identityKey}  ${l.state.padEnd(11)} effective ${l.effectiveAt}  clock ${duration(l.elapsedMs)}  due ${l.dueAt}`);
          if (l.steps.length === 0) printLine(ctx, '  (no step planned yet)');
          for (const s of l.steps) printLine(ctx, `  ${s.confirmedAt ? '✔' : s.overdue ? '✖' : '…'} ${s.kind.padEnd(18)} ${(s.system ?? 'jml').padEnd(12)} ${s.state}${s.manual ? ' (task)' : ''}`);
        }
      });
    });
}
