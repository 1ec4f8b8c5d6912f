/**
 * `jml quarantine`, `jml quarantine release <system>`: systems held back
 * after repeated failures, and letting one go again.
 */
import type { Command } from 'commander';
import { listSystemHealth } from '../../app/quarantine.ts';
import { releaseSystem } from '../../jobs/plan-executor.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { tableLines } from '../table-text.ts';

export function registerQuarantineCommands(program: Command, ctx: CliContext): void {
  const quarantine = program
    .command('quarantine')
    .description('systems quarantined after repeated failures (their changes wait until released or a health check passes)')
    .option('--all', 'show every system with a health record')
    .option('--json', 'print JSON')
    .action(async (flags: { all?: boolean; json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const list = await listSystemHealth(store.db, !flags.all);
        if (flags.json) return printJson(ctx, list);
        if (list.length === 0) return printLine(ctx, 'no system is quarantined.');
        const lines = tableLines([
          { header: 'system', value: (h) => h.system },
          { header: 'state', value: (h) => h.state },
          { header: 'failures', value: (h) => String(h.consecutiveFailures) },
          { header: 'since', value: (h) => h.quarantinedAt ?? '-' },
          { header: 'last error', value: (h) => h.lastError ?? '' },
        ], list);
        for (const line of lines) printLine(ctx, line);
      });
    });
  quarantine
    .command('release')
    .description('release a quarantined system: its waiting changes are queued again at once (the next `jml apply` or a worker runs them)')
    .argument('<system>', 'the system')
    .option('--json', 'print JSON')
    .action(async (system: string, flags: { json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const { health, resumed } = await releaseSystem(store, system, ctx.actor);
        if (flags.json) printJson(ctx, { ...health, resumed });
        else printLine(ctx, `${system} released; ${resumed} waiting change(s) queued again: run \`jml apply\` (or let a worker) to carry them out.`);
      });
    });
}
