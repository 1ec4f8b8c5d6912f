/**
 * `jml migrate`: brings the database's schema up to this jml's (every command
 * does so on open; this one does only that), or with --dry-run lists what an
 * upgrade would run and changes nothing.
 */
import type { Command } from 'commander';
import { assertSchemaKnown, migrateToLatest, readSchemaStatus } from '../../store/migrations.ts';
import { openStore } from '../../store/open-store.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';

export function registerMigrateCommand(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description('upgrade the database schema to this version of jml (--dry-run: list the pending migrations, change nothing)')
    .option('--dry-run', 'list the migrations an upgrade would run; change nothing')
    .option('--json', 'print JSON')
    .action(async (flags: { dryRun?: boolean; json?: boolean }) => {
      const config = await ctx.config();
      const store = await openStore({ databaseUrl: config.database_url, dataDir: config.data_dir, migrate: false });
      try {
        const status = await readSchemaStatus(store.db);
        assertSchemaKnown(status);
        const ran = flags.dryRun ? [] : await migrateToLatest(store.db);
        if (flags.json) return printJson(ctx, { database: store.location, applied: status.applied, pending: status.pending, ran, dryRun: Boolean(flags.dryRun) });
        printLine(ctx, `Database: ${store.location} — ${status.applied.length} migrations applied`);
        if (status.pending.length === 0) return printLine(ctx, 'The schema is up to date: nothing to do.');
        if (flags.dryRun) {
          printLine(ctx, `An upgrade would run ${status.pending.length} migration${status.pending.length > 1 ? 's' : ''}, in one transaction, in this order:`);
          for (const name of status.pending) printLine(ctx, `  ${name}`);
          printLine(ctx, 'Nothing was changed (--dry-run). Take a backup first (jml backup, or pg_dump), then run jml migrate.');
        } else {
          printLine(ctx, `Ran ${ran.length} migration${ran.length > 1 ? 's' : ''}:`);
          for (const name of ran) printLine(ctx, `  ${name}`);
        }
      } finally {
        await store.close();
      }
    });
}
