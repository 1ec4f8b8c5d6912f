/**
 * `jml assets` (or `jml asset`): the equipment register (src/app/asset-register.ts)
 * — import and export, lost or stolen reports, check-out and check-in, and
 * physical audits with their cadence per category (src/app/assets/asset-custody.ts).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { importAssets, listAssets } from '../../app/asset-register.ts';
import { assetAuditsDue, checkInAsset, checkOutAsset, recordAssetAudit, setAuditCadence } from '../../app/assets/asset-custody.ts';
import { lostDeviceSettings, reportLostDevice } from '../../app/assets/lost-device-report.ts';
import type { Asset } from '../../app/asset-register.ts';
import { openReplanQueue } from '../../jobs/replan-queue.ts';
import { exportSnipeItAssets, importSnipeItAssets } from '../../app/assets/asset-snipeit-csv.ts';
import { JmlError } from '../../domain/errors.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { tableLines } from '../table-text.ts';

export function registerAssetCommands(program: Command, ctx: CliContext): void {
  const assets = program
    .command('assets')
    .alias('asset')
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

  // `--json` after a subcommand may be taken by `assets`' own option of that name: read both.
  const json = (flags: { json?: boolean }) => Boolean(flags.json || assets.opts<{ json?: boolean }>().json);

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
        if (json(flags)) printJson(ctx, result);
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
      await ctx.withStore(async (store, config) => {
        const replan = openReplanQueue(store);
        try {
          const { asset, replanRequested } = await reportLostDevice({ db: store.db, replan, settings: lostDeviceSettings(config) }, { tag, status: flags.lost ? 'lost' : 'stolen', by: flags.by, ...(flags.note ? { note: flags.note } : {}) }, new Date());
          if (json(flags)) printJson(ctx, { ...asset, replanRequested });
          else printLine(ctx, `${asset.tag} recorded as ${asset.status}; security alerted.${replanRequested ? ` The plan of ${asset.holder} revokes their sessions and the credentials bound to it (run by jml worker).` : ''}`);
        } finally {
          await replan.close().catch(() => undefined);
        }
      });
    });

  const said = (flags: { json?: boolean }, asset: Asset, text: string) => (json(flags) ? printJson(ctx, asset) : printLine(ctx, text));

  assets
    .command('checkout')
    .description('check an asset out to a person; it waits for them to accept it (My equipment)')
    .argument('<tag>', 'asset tag')
    .requiredOption('--to <key>', 'identity key of the person')
    .option('--location <name>', 'where it is now')
    .option('--json', 'print JSON')
    .action(async (tag: string, flags: { to: string; location?: string; json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const asset = await checkOutAsset(store.db, { tag, to: flags.to, actor: ctx.actor, ...(flags.location ? { location: flags.location } : {}) }, new Date());
        said(flags, asset, `${asset.tag} checked out to ${asset.holder}; waiting for them to accept it.`);
      });
    });

  assets
    .command('checkin')
    .description('take an asset back into stock, to repair, or retire it')
    .argument('<tag>', 'asset tag')
    .option('--to <status>', 'in_stock, in_repair or retired', 'in_stock')
    .option('--location <name>', 'where it is now')
    .option('--note <text>', 'why')
    .option('--json', 'print JSON')
    .action(async (tag: string, flags: { to: string; location?: string; note?: string; json?: boolean }) => {
      if (flags.to !== 'in_stock' && flags.to !== 'in_repair' && flags.to !== 'retired') throw new JmlError('invalid_input', `--to ${flags.to}: use in_stock, in_repair or retired`);
      const to: 'in_stock' | 'in_repair' | 'retired' = flags.to;
      await ctx.withStore(async (store) => {
        const asset = await checkInAsset(store.db, { tag, actor: ctx.actor, to, ...(flags.location ? { location: flags.location } : {}), ...(flags.note ? { note: flags.note } : {}) }, new Date());
        said(flags, asset, `${asset.tag} checked in: ${asset.status}.`);
      });
    });

  assets
    .command('audit')
    .description('record a physical audit: the asset was seen (and where); the next audit falls one cadence later')
    .argument('<tag>', 'asset tag')
    .option('--location <name>', 'where it was seen')
    .option('--json', 'print JSON')
    .action(async (tag: string, flags: { location?: string; json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const asset = await recordAssetAudit(store.db, { tag, actor: ctx.actor, ...(flags.location ? { location: flags.location } : {}) }, new Date());
        said(flags, asset, `${asset.tag} audited${asset.location ? ` at ${asset.location}` : ''}; next audit ${asset.nextAuditAt?.slice(0, 10) ?? 'not scheduled (its category has no cadence)'}.`);
      });
    });

  assets
    .command('audits-due')
    .description('assets whose physical audit is overdue, or due within 30 days')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const due = await assetAuditsDue(store.db, new Date());
        if (json(flags)) printJson(ctx, due);
        else if (due.length === 0) printLine(ctx, 'no audit due.');
        else {
          for (const line of tableLines([
            { header: 'tag', value: (a) => a.tag },
            { header: 'state', value: (a) => a.state },
            { header: 'next audit', value: (a) => a.nextAuditAt?.slice(0, 10) ?? 'never audited' },
            { header: 'kind', value: (a) => a.kind },
            { header: 'holder', value: (a) => a.holder ?? '-' },
            { header: 'location', value: (a) => a.location ?? '-' },
          ], due)) printLine(ctx, line);
        }
      });
    });

  assets
    .command('cadence')
    .description('set how often assets of a category are physically audited')
    .argument('<category>', 'asset category (kind), e.g. laptop')
    .argument('<days>', 'days between audits')
    .action(async (category: string, days: string) => {
      if (!/^[1-9]\d*$/.test(days)) throw new JmlError('invalid_input', `<days> ${days}: a whole number of days, 1 or more`);
      await ctx.withStore(async (store) => {
        await setAuditCadence(store.db, category, Number(days), ctx.actor, new Date());
        printLine(ctx, `${category}: audited every ${days} days.`);
      });
    });
}
