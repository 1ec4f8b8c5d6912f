import type { Command } from 'commander';
import { JmlError } from '../../domain/errors.ts';
import { dateIn } from '../../engine/org-calendar.ts';
import { createMemoryDirectory } from '../../sources/reference-resolver.ts';
import { formatSourceCheck, readSource, readSourceTable } from '../../sources/read-source.ts';
import { suggestSourceMapping } from '../../sources/mapping-suggestion.ts';
import { SOURCE_TYPES, type SourceType } from '../../sources/source-config.ts';
import { readFile } from 'node:fs/promises';
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
    .option('--as-of <date>', 'the date (YYYY-MM-DD) a status from_dates is derived for (default: today)')
    .option('--json', 'print JSON: the mapped records and the errors')
    .action(async (name: string, file: string, flags: { rows: string; asOf?: string; json?: boolean }) => {
      const limit = Number.parseInt(flags.rows, 10);
      if (!Number.isInteger(limit) || limit < 0) throw new JmlError('invalid_input', '--rows must be a whole number');
      if (flags.asOf !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(flags.asOf)) throw new JmlError('invalid_input', `--as-of must be YYYY-MM-DD, got "${flags.asOf}"`);
      const { snapshot, table, config } = await ctx.withStore(async (store, cfg) => {
        const sourceConfig = cfg.sources[name];
        if (!sourceConfig) throw new JmlError('invalid_input', `unknown source "${name}"; configured sources: ${Object.keys(cfg.sources).join(', ')}`);
        const identities = await store.db.selectFrom('identities').select(['key', 'attributes']).execute();
        const table = await readSourceTable({ name, config: sourceConfig, filePath: file });
        const asOf = flags.asOf ?? dateIn(new Date(), cfg.timezone);
        const snapshot = await readSource({ name, config: sourceConfig, filePath: file, timezone: cfg.timezone, directory: createMemoryDirectory(identities), asOf });
        return { snapshot, table, config: sourceConfig };
      });
      if (flags.json) printJson(ctx, { rows: snapshot.rowsTotal, records: snapshot.records.slice(0, limit), errors: snapshot.errors });
      else printLine(ctx, formatSourceCheck(snapshot, table, limit, config));
      if (snapshot.errors.length > 0) ctx.setExitCode(EXIT.invalidInput);
    });
  source
    .command('suggest')
    .description('draft a source configuration from a file\'s header row and first rows (prints YAML; writes nothing)')
    .argument('<file>', 'the export to draft a mapping for')
    .option('--type <type>', `source type: ${SOURCE_TYPES.join(', ')}`, 'hr')
    .option('--name <name>', 'source name to draft under `sources:` (default: the type)')
    .action(async (file: string, flags: { type: string; name?: string }) => {
      if (!(SOURCE_TYPES as readonly string[]).includes(flags.type)) throw new JmlError('invalid_input', `--type must be one of ${SOURCE_TYPES.join(', ')}`);
      const bytes = await readFile(file).catch((cause: NodeJS.ErrnoException) => {
        throw new JmlError('source_unreadable', `cannot read ${file} (${cause.code ?? cause.message})`, { cause });
      });
      printLine(ctx, suggestSourceMapping(bytes, file, flags.type as SourceType, flags.name).trimEnd());
    });
}
