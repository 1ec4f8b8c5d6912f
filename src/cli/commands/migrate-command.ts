/**
 * `jml migrate`: brings the schema up to date and, with --app-role, gives the
 * least-privilege role jml runs as exactly the rights it needs. Run by the
 * database's owner role: JML_MIGRATION_DATABASE_URL (when set) or DATABASE_URL.
 * Every other command opens the store with DATABASE_URL, the app role's.
 */
import type { Command } from 'commander';
import { JmlError } from '../../domain/errors.ts';
import { openStore } from '../../store/open-store.ts';
import { appRoleGrants, grantAppRole } from '../../store/postgres-roles.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';

export function registerMigrateCommand(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description('apply database migrations as the owner role; --app-role grants the runtime role INSERT/SELECT only on the audit trail')
    .option('--app-role <role>', 'the PostgreSQL role jml runs as (see docs/operations.md, "PostgreSQL roles")')
    .option('--print-grants', 'print the grant statements for --app-role and change nothing')
    .option('--json', 'print JSON')
    .action(async (flags: { appRole?: string; printGrants?: boolean; json?: boolean }) => {
      if (flags.printGrants) {
        if (!flags.appRole) throw new JmlError('invalid_input', '--print-grants needs --app-role <role>');
        for (const statement of appRoleGrants(flags.appRole)) printLine(ctx, `${statement};`);
        return;
      }
      const config = await ctx.config();
      const databaseUrl = process.env.JML_MIGRATION_DATABASE_URL || config.database_url;
      if (flags.appRole && !databaseUrl) throw new JmlError('invalid_input', '--app-role needs a PostgreSQL server: set JML_MIGRATION_DATABASE_URL (the owner role) or DATABASE_URL');
      const store = await openStore({ databaseUrl, dataDir: config.data_dir, poolSize: 2 });
      try {
        if (flags.appRole) await grantAppRole(store.db, flags.appRole);
        if (flags.json) printJson(ctx, { database: store.location, migrated: true, appRole: flags.appRole ?? null });
        else printLine(ctx, `schema up to date on ${store.location}${flags.appRole ? `; ${flags.appRole} may read and write jml's tables, and only INSERT and SELECT on the audit trail` : ''}`);
      } finally {
        await store.close();
      }
    });
}
