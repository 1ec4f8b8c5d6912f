/**
 * `jml worker`: job workers only (no API). Runs until SIGINT or SIGTERM,
 * finishing the jobs in hand. Start several against one PostgreSQL to share
 * the work; on the embedded database only one process can open the data.
 */
import type { Command } from 'commander';
import { startWorkerRuntime } from '../../jobs/worker-runtime.ts';
import { printLine, type CliContext } from '../cli-context.ts';
import { positiveInteger } from '../flag-values.ts';

interface WorkerFlags {
  readonly concurrency: string;
  readonly batch: string;
  readonly schedules: boolean;
  readonly json?: boolean;
}

export function registerWorkerCommand(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description('run job workers: apply changes, schedules (due events, expiry, reconcile, dormant accounts, approvals, leaver SLA)')
    .option('--concurrency <n>', 'fetch loops in this process', '2')
    .option('--batch <n>', 'jobs fetched at once', '20')
    .option('--no-schedules', 'do not run cron schedules in this process')
    .option('--json', 'print JSON lines (started, stopped)')
    .action(async (flags: WorkerFlags) => {
      const concurrency = positiveInteger('--concurrency', flags.concurrency);
      const batchSize = positiveInteger('--batch', flags.batch);
      await ctx.withStore(async (store, config) => {
        const workers = await startWorkerRuntime({
          store,
          config,
          actor: `worker:${process.pid}`,
          options: { concurrency, batchSize, schedules: flags.schedules },
        });
        const started = { event: 'started', worker: workers.workerId, database: store.location };
        if (flags.json) ctx.stdout.write(`${JSON.stringify(started)}\n`);
        else printLine(ctx, `jml worker ${workers.workerId} on ${store.location} (Ctrl-C to stop)`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await workers.stop();
        if (flags.json) ctx.stdout.write(`${JSON.stringify({ event: 'stopped', worker: workers.workerId })}\n`);
        else printLine(ctx, 'stopped.');
      });
    });
}
