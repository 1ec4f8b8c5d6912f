import type { Command } from 'commander';
import { JmlError } from '../../domain/errors.ts';
import { configuredSource } from '../../app/config.ts';
import { createMemoryDirectory } from '../../sources/reference-resolver.ts';
import { formatSourceCheck, readSource, readSourceTable } from '../../sources/read-source.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';

export function registerSourceCommand(program: Command, ctx: CliContext): void {
  const source = program.command('source').description('authoritative sources: check how a file maps before importing it');
  source
    .command('check')
    .description('show how the first rows of a file map to identity fields, and every problem in the file; writes nothing')
    .argument('<source>', 'source name from the configuration (hr, vendor, nhi, …)')
    .argument('<file>', 'the file to check')
    .option('--rows <n>', 'how many rows to show', '5')
    .option('--json', 'print JSON: the mapped records and the errors')
    .action(async (name: string, file: string, flags: { rows: string; json?: boolean }) => {
      const limit = Number.parseInt(flags.rows, 10);
      if (!Number.isInteger(limit) || limit < 0) throw new JmlError('invalid_input', '--rows must be a whole number');
      const { snapshot, table, config } = await ctx.withStore(async (store, cfg) => {
        const sourceConfig = configuredSource(cfg, name);
        const identities = await store.db.selectFrom('identities').select(['key', 'attributes']).execute();
        const table = await readSourceTable({ name, config: sourceConfig, filePath: file });
        const snapshot = await readSource({ name, config: sourceConfig, filePath: file, timezone: cfg.timezone, directory: createMemoryDirectory(identities) });
        return { snapshot, table, config: sourceConfig };
      });
      if (flags.json) printJson(ctx, { rows: snapshot.rowsTotal, records: snapshot.records.slice(0, limit), errors: snapshot.errors });
      else printLine(ctx, formatSourceCheck(snapshot, table, limit, config));
      if (snapshot.errors.length > 0) ctx.setExitCode(EXIT.invalidInput);
    });
}
