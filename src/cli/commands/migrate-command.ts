/**
 * `jml migrate`: brings the database's schema up to this jml's (every command
 * does so on open; this one does only that), or with --dry-run lists what an
 * upgrade would run and changes nothing. With --app-role it also gives the
 * least-privilege role jml runs as exactly the rights it needs. Run by the
 * database's owner role: JML_MIGRATION_DATABASE_URL (when set) or
 * DATABASE_URL; every other command opens the store with DATABASE_URL, the
 * app role's.
 */
import type { Command } from 'commander';
import { JmlError } from '../../domain/errors.ts';
import { assertSchemaKnown, migrateToLatest, readSchemaStatus } from '../../store/migrations.ts';
import { openStore } from '../../store/open-store.ts';
import { appRoleGrants, grantAppRole } from '../../store/postgres-roles.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';

interface MigrateFlags {
  readonly dryRun?: boolean;
  readonly appRole?: string;
  readonly printGrants?: boolean;
  readonly json?: boolean;
}

export function registerMigrateCommand(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description('upgrade the database schema to this version of jml, as the owner role (--dry-run: list the pending migrations, change nothing; --app-role: the runtime role gets INSERT/SELECT only on the audit trail)')
    .option('--dry-run', 'list the migrations an upgrade would run; change nothing')
    .option('--app-role <role>', 'the PostgreSQL role jml runs as (see docs/operations.md, "PostgreSQL roles")')
    .option('--print-grants', 'print the grant statements for --app-role and change nothing')
    .option('--json', 'print JSON')
    .action(async (flags: MigrateFlags) => {
      if (flags.printGrants) {
        if (!flags.appRole) throw new JmlError('invalid_input', '--print-grants needs --app-role <role>');
        for (const statement of appRoleGrants(flags.appRole)) printLine(ctx, `${statement};`);
        return;
      }
      const config = await ctx.config();
      const databaseUrl = process.env.JML_MIGRATION_DATABASE_URL || config.database_url;
      if (flags.appRole && !databaseUrl) throw new JmlError('invalid_input', '--app-role needs a PostgreSQL server: set JML_MIGRATION_DATABASE_URL (the owner role) or DATABASE_URL');
      if (flags.appRole && flags.dryRun) throw new JmlError('invalid_input', '--dry-run changes nothing: use --print-grants to see what --app-role would grant');
      const store = await openStore({ databaseUrl, dataDir: config.data_dir, poolSize: 2, migrate: false });
      try {
        const status = await readSchemaStatus(store.db);
        assertSchemaKnown(status);
        const ran = flags.dryRun ? [] : await migrateToLatest(store.db);
        if (flags.appRole) await grantAppRole(store.db, flags.appRole);
        if (flags.json) {
          return printJson(ctx, { database: store.location, applied: status.applied, pending: status.pending, ran, dryRun: Boolean(flags.dryRun), appRole: flags.appRole ?? null });
        }
        printLine(ctx, `Database: ${store.location} — ${status.applied.length} migrations applied`);
        if (status.pending.length === 0) printLine(ctx, 'The schema is up to date: nothing to do.');
        else if (flags.dryRun) {
          printLine(ctx, `An upgrade would run ${status.pending.length} migration${status.pending.length > 1 ? 's' : ''}, in one transaction, in this order:`);
          for (const name of status.pending) printLine(ctx, `  ${name}`);
          printLine(ctx, 'Nothing was changed (--dry-run). Take a backup first (jml backup, or pg_dump), then run jml migrate.');
        } else {
          printLine(ctx, `Ran ${ran.length} migration${ran.length > 1 ? 's' : ''}:`);
          for (const name of ran) printLine(ctx, `  ${name}`);
        }
        if (flags.appRole) printLine(ctx, `${flags.appRole} may read and write jml's tables, and only INSERT and SELECT on the audit trail`);
      } finally {
        await store.close();
      }
    });
}
