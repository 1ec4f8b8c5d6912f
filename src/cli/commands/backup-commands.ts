/**
 * `jml backup <file>` and `jml restore <file>`: the embedded database as one
 * file with a manifest, and back into an empty data directory. A PostgreSQL
 * server is backed up with pg_dump (docs/operations.md).
 */
import type { Command } from 'commander';
import { backupStore, restoreBackup } from '../../app/backup/store-backup.ts';
import { isJmlError, JmlError } from '../../domain/errors.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';

export function registerBackupCommands(program: Command, ctx: CliContext): void {
  program
    .command('backup <file>')
    .description('write a consistent snapshot of the embedded database, with a manifest (version, time, audit head), to a new file')
    .option('--json', 'print the manifest as JSON')
    .action(async (file: string, flags: { json?: boolean }) => {
      const manifest = await ctx.withStore((store) => backupStore(store, file, new Date())).catch((error: unknown) => {
        if (!isJmlError(error, 'locked')) throw error;
        // The running server holds the embedded database; it can take the backup itself.
        throw new JmlError('locked', `${error.message}. A running jml serve takes backups itself: start it with --backup-dir DIR and send it SIGUSR2 (see docs/operations.md)`, { cause: error, details: error.details });
      });
      if (flags.json) return printJson(ctx, manifest);
      printLine(ctx, `Backed up ${(manifest.database.bytes / 1024 / 1024).toFixed(1)} MB of database to ${file}`);
      printLine(ctx, `  jml ${manifest.jmlVersion}, ${manifest.createdAt}, ${manifest.migrations.length} migrations, audit head: entry ${manifest.audit.entries} ${manifest.audit.headHash}`);
    });

  program
    .command('restore <file>')
    .description('restore a backup into an empty data directory (--data, JML_DATA_DIR), upgrade it if it is older, verify the audit trail')
    .option('--json', 'print JSON')
    .action(async (file: string, flags: { json?: boolean }) => {
      const config = await ctx.config();
      if (config.database_url) throw new JmlError('invalid_input', 'jml restore fills an embedded data directory; with DATABASE_URL set, restore a PostgreSQL server with pg_restore (see docs/operations.md)');
      const result = await restoreBackup(file, config.data_dir);
      if (!result.audit.ok) ctx.setExitCode(EXIT.checkFailed);
      if (flags.json) return printJson(ctx, result);
      const m = result.manifest;
      printLine(ctx, `Restored ${file} (jml ${m.jmlVersion}, taken ${m.createdAt}) into ${result.location}`);
      if (result.upgraded.length > 0) printLine(ctx, `  upgraded its schema: ${result.upgraded.join(', ')}`);
      if (result.audit.ok) printLine(ctx, `  audit trail intact: ${result.audit.entries} entries, head ${result.audit.headHash} (the backup's head: entry ${m.audit.entries})`);
      else printLine(ctx, `  audit trail BROKEN at entry ${result.audit.brokenAt}: ${result.audit.reason}`);
      printLine(ctx, '  Anything recorded after the backup was taken is not in it: compare with your latest audit checkpoint or SIEM export.');
    });
}
