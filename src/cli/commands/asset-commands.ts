/**
 * `jml assets`, `jml assets import <file.csv>`, `jml assets report <tag>`:
 * the equipment register (see src/app/asset-register.ts).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { importAssets, listAssets } from '../../app/asset-register.ts';
import { reportLostDevice } from '../../app/assets/lost-device-report.ts';
import { openReplanQueue } from '../../jobs/replan-queue.ts';
import { exportSnipeItAssets, importSnipeItAssets } from '../../app/assets/asset-snipeit-csv.ts';
import { JmlError } from '../../domain/errors.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { tableLines } from '../table-text.ts';

export function registerAssetCommands(program: Command, ctx: CliContext): void {
  const assets = program
    .command('assets')
    .description('the asset register: equipment in identities\' custody')
    .option('--holder <key>', 'only what this identity holds')
    .option('--json', 'print JSON')
    .action(async (flags: { holder?: string; json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const list = await listAssets(store.db, flags.holder ? { holder: flags.holder } : {});
        if (flags.json) printJson(ctx, list);
        else if (list.length === 0) printLine(ctx, 'no assets.');
        else {
          const lines = tableLines([
            { header: 'tag', value: (a) => a.tag },
            { header: 'status', value: (a) => a.status },
            { header: 'kind', value: (a) => a.kind },
            { header: 'holder', value: (a) => a.holder ?? '-' },
            { header: 'location', value: (a) => a.location ?? '-' },
            { header: 'description', value: (a) => `${a.description}${a.serial ? ` (${a.serial})` : ''}` },
          ], list);
          for (const line of lines) printLine(ctx, line);
        }
      });
    });

  assets
    .command('import')
    .description('import assets from CSV (tag,serial,kind,description,holder,location,status); upserts by tag, all rows or none')
    .argument('<file>', 'CSV file')
    .option('--format <format>', 'jml (the columns above) or snipeit (Snipe-IT\'s import columns)', 'jml')
    .option('--json', 'print JSON')
    .action(async (file: string, flags: { format: string; json?: boolean }) => {
      if (flags.format !== 'jml' && flags.format !== 'snipeit') throw new JmlError('invalid_input', `--format ${flags.format}: use jml or snipeit`);
      const text = await readFile(file, 'utf8').catch((cause: unknown) => {
        throw new JmlError('invalid_input', `cannot read ${file}: ${(cause as Error).message}`, { cause });
      });
      await ctx.withStore(async (store) => {
        const result = await (flags.format === 'snipeit' ? importSnipeItAssets : importAssets)(store.db, text, { file, actor: ctx.actor });
        if (flags.json) printJson(ctx, result);
        else printLine(ctx, `${file}: ${result.created} registered, ${result.updated} updated, ${result.unchanged} unchanged.`);
      });
    });

  assets
    .command('export')
    .description('print the register as CSV in Snipe-IT\'s import columns')
    .action(async () => {
      await ctx.withStore(async (store) => {
        ctx.stdout.write(await exportSnipeItAssets(store.db));
      });
    });

  assets
    .command('report')
    .description('report an asset lost or stolen: audited, alerts security, and plans the revocation of the holder\'s sessions and the device\'s credentials')
    .argument('<tag>', 'asset tag')
    .option('--lost', 'the asset is lost')
    .option('--stolen', 'the asset is stolen')
    .requiredOption('--by <key>', 'identity key of who reports it')
    .option('--note <text>', 'what happened')
    .option('--json', 'print JSON')
    .action(async (tag: string, flags: { lost?: boolean; stolen?: boolean; by: string; note?: string; json?: boolean }) => {
      if (Boolean(flags.lost) === Boolean(flags.stolen)) throw new JmlError('invalid_input', 'pass exactly one of --lost or --stolen');
      await ctx.withStore(async (store) => {
        const replan = openReplanQueue(store);
        try {
          const { asset, replanRequested } = await reportLostDevice({ db: store.db, replan }, { tag, status: flags.lost ? 'lost' : 'stolen', by: flags.by, ...(flags.note ? { note: flags.note } : {}) }, new Date());
          if (flags.json) printJson(ctx, { ...asset, replanRequested });
          else printLine(ctx, `${asset.tag} recorded as ${asset.status}; security alerted.${replanRequested ? ` The plan of ${asset.holder} revokes their sessions and the credentials bound to it (run by jml worker).` : ''}`);
        } finally {
          await replan.close().catch(() => undefined);
        }
      });
    });
}
