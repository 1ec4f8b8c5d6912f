/**
 * `jml licences`: software licences with seats (see src/app/assets/licence-seats.ts).
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { assignSeat, licenceUse, reclaimSeat, saveLicence } from '../../app/assets/licence-seats.ts';
import { exportSnipeItLicences, importSnipeItLicences } from '../../app/assets/licence-snipeit-csv.ts';
import { JmlError } from '../../domain/errors.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { tableLines } from '../table-text.ts';

export function registerLicenceCommands(program: Command, ctx: CliContext): void {
  const licences = program
    .command('licences')
    .description('software licences with seats: in use, free, and which account holds each seat')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const list = (await licenceUse(store.db)).map(({ productKey, ...l }) => ({ ...l, productKeySet: productKey !== null }));
        if (flags.json) printJson(ctx, list);
        else if (list.length === 0) printLine(ctx, 'no licences.');
        else {
          for (const line of tableLines([
            { header: 'licence', value: (l) => l.name },
            { header: 'system', value: (l) => l.system ?? '-' },
            { header: 'seats', value: (l) => String(l.seats) },
            { header: 'in use', value: (l) => String(l.inUse) },
            { header: 'free', value: (l) => String(l.free) },
            { header: 'held by', value: (l) => l.held.map((s) => `${s.identityKey} (${s.system}:${s.accountId}, ${s.id})`).join(', ') || '-' },
          ], list)) printLine(ctx, line);
        }
      });
    });

  // `--json` after a subcommand may be taken by `licences`' own option of that name: read both.
  const json = (flags: { json?: boolean }) => Boolean(flags.json || licences.opts<{ json?: boolean }>().json);

  licences
    .command('add')
    .description('add a licence or change its seats (fewer seats than are in use is refused)')
    .argument('<name>', 'licence name')
    .requiredOption('--seats <n>', 'number of seats')
    .option('--product <text>', 'product name')
    .option('--system <name>', 'the system whose accounts use the seats')
    .option('--entitlement <name>', 'the entitlement in that system the seat goes with (its removal frees the seat)')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { seats: string; product?: string; system?: string; entitlement?: string; json?: boolean }) => {
      const seats = Number(flags.seats);
      if (!/^\d+$/.test(flags.seats)) throw new JmlError('invalid_input', `--seats ${flags.seats}: a whole number of 0 or more`);
      await ctx.withStore(async (store) => {
        const { productKey, ...licence } = await saveLicence(store.db, { name, seats, ...(flags.product ? { product: flags.product } : {}), ...(flags.system ? { system: flags.system } : {}), ...(flags.entitlement ? { entitlement: flags.entitlement } : {}) }, ctx.actor, new Date());
        if (json(flags)) printJson(ctx, { ...licence, productKeySet: productKey !== null });
        else printLine(ctx, `licence ${licence.name}: ${licence.seats} seats${licence.system ? ` in ${licence.system}` : ''}.`);
      });
    });

  licences
    .command('assign')
    .description('assign a seat to an identity\'s account; refused when every seat is in use')
    .argument('<name>', 'licence name')
    .requiredOption('--identity <key>', 'identity key')
    .requiredOption('--system <name>', 'system of the account')
    .requiredOption('--account <id>', 'account id in that system')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { identity: string; system: string; account: string; json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const seat = await assignSeat(store.db, { licence: name, identityKey: flags.identity, system: flags.system, accountId: flags.account, by: ctx.actor }, new Date());
        if (json(flags)) printJson(ctx, seat);
        else printLine(ctx, `seat ${seat.id} of ${name} assigned to ${seat.identityKey} (${seat.system}:${seat.accountId}).`);
      });
    });

  licences
    .command('reclaim')
    .description('take a seat back by hand (seats of accounts the plan removes come back by themselves)')
    .argument('<name>', 'licence name')
    .argument('<seat>', 'seat id (see jml licences)')
    .requiredOption('--reason <text>', 'why')
    .action(async (name: string, seat: string, flags: { reason: string }) => {
      await ctx.withStore(async (store) => {
        await reclaimSeat(store.db, { licence: name, seatId: seat, by: ctx.actor, reason: flags.reason }, new Date());
        printLine(ctx, `seat ${seat} of ${name} reclaimed.`);
      });
    });

  licences
    .command('import')
    .description('import licences from a CSV in Snipe-IT\'s licence columns (Item Name, Seats, Manufacturer, Product Key, Expiration Date, Notes); upserts by name, all rows or none')
    .argument('<file>', 'CSV file')
    .action(async (file: string) => {
      const text = await readFile(file, 'utf8').catch((cause: unknown) => {
        throw new JmlError('invalid_input', `cannot read ${file}: ${(cause as Error).message}`, { cause });
      });
      await ctx.withStore(async (store) => {
        const { saved } = await importSnipeItLicences(store.db, text, { file, actor: ctx.actor, now: new Date() });
        printLine(ctx, `${file}: ${saved} licence(s) saved.`);
      });
    });

  licences
    .command('export')
    .description('print the licences as CSV in Snipe-IT\'s licence columns')
    .option('--product-keys', 'include the product keys (left blank otherwise)')
    .action(async (flags: { productKeys?: boolean }) => {
      await ctx.withStore(async (store) => {
        ctx.stdout.write(await exportSnipeItLicences(store.db, { withProductKeys: Boolean(flags.productKeys) }));
      });
    });
}
