import type { Command } from 'commander';
import { importSource, type ImportResult } from '../../app/import-source.ts';
import { followUpImport } from '../../app/replan-follow-up.ts';
import { printJsonPaced, printLine, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import { createProgress } from '../progress.ts';
import { followUpLine, runFollowUp } from '../replan-follow-up.ts';

interface ImportFlags {
  readonly dryRun?: boolean;
  readonly asOf?: string;
  readonly skipInvalid?: boolean;
  readonly allowMassChange?: boolean;
  readonly json?: boolean;
}

export function registerImportCommand(program: Command, ctx: CliContext): void {
  program
    .command('import')
    .description('import a source file (HR, vendor, non-human inventory) and record the lifecycle events it implies')
    .argument('<source>', 'source name from the configuration (hr, vendor, nhi, …)')
    .argument('<file>', 'the file to import')
    .option('--dry-run', 'report exactly what the import would do, and write nothing')
    .option('--as-of <date>', 'treat this date (YYYY-MM-DD) as today for effective dates')
    .option('--skip-invalid', 'import the valid rows and report the invalid ones (default: any invalid row rejects the file)')
    .option('--allow-mass-change', 'release an import held by the mass-change guard (audited)')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExit codes: 0 imported (or dry run), 2 invalid rows (nothing written), 3 held by a safety guard (nothing changed).')
    .action(async (source: string, file: string, flags: ImportFlags) => {
      const progress = createProgress(process.stderr, !flags.json);
      const { result, followUp } = await ctx.withStore(async (store, config) => {
        const result = await importSource(
          { db: store.db, config },
          {
            source,
            file,
            asOf: flags.asOf,
            dryRun: flags.dryRun ?? false,
            skipInvalid: flags.skipInvalid ?? false,
            allowMassChange: flags.allowMassChange ?? false,
            actor: ctx.actor,
            onProgress: (phase, done, total) => progress.update(phase, done, total),
          },
        );
        // The identities the events touched are planned again by the workers, without waiting for them.
        const followUp = result.status === 'applied' ? await runFollowUp(ctx, store, config, (deps) => followUpImport(deps, result), flags.json) : null;
        return { result, followUp };
      });
      progress.done();
      if (flags.json) await printJsonPaced(ctx, followUp ? { ...result, followUp } : result);
      else {
        printImport(ctx, result);
        const line = followUpLine(followUp);
        if (line) printLine(ctx, line);
      }
      ctx.setExitCode(result.status === 'held' ? EXIT.held : result.status === 'rejected' ? EXIT.invalidInput : EXIT.ok);
    });
}

function printImport(ctx: CliContext, r: ImportResult): void {
  const c = r.counts;
  for (const e of r.errors) printLine(ctx, `error: ${e.file}:${e.row}${e.column ? ` [${e.column}]` : ''} ${e.message}`);
  for (const w of r.warnings) printLine(ctx, `warning: row ${w.row} (${w.key}): ${w.message}`);
  if (r.status === 'rejected') {
    printLine(ctx, `rejected: ${r.file} has ${r.errors.length} invalid row(s); nothing was imported. Fix the file, or use --skip-invalid to import the valid rows.`);
    return;
  }
  if (r.status === 'held') {
    printLine(ctx, `HELD: ${r.heldReason}`);
    printLine(ctx, 'nothing was changed.');
    return;
  }
  const verb = r.status === 'dry_run' ? 'would import' : 'imported';
  printLine(ctx, `${verb} ${r.file} into ${r.source} as of ${r.asOf}: ${c.rows} rows, ${c.valid} valid${c.invalid ? `, ${c.invalid} skipped as invalid` : ''}`);
  printLine(ctx, `  ${c.joiners} joiners, ${c.movers} movers, ${c.leavers} leavers, ${c.rehires} rehires, ${c.unchanged} unchanged${c.historical ? `, ${c.historical} already left (history)` : ''}`);
  const keys = (list: readonly string[]) => `${list.slice(0, 20).join(', ')}${list.length > 20 ? ` … and ${list.length - 20} more (use --json for all)` : ''}`;
  if (r.classified.historical.length > 0) printLine(ctx, `  already left (kept as history, no leaver): ${keys(r.classified.historical)}`);
  if (r.classified.pending.length > 0) printLine(ctx, `  pending (signed, not started; joiner on the start date): ${keys(r.classified.pending)}`);
  const shown = r.events.slice(0, 20);
  for (const e of shown) {
    const changes = Object.entries(e.changes)
      .filter(([field]) => e.type !== 'joiner' || ['department', 'title', 'start_date', 'email'].includes(field))
      .map(([field, [from, to]]) => (e.type === 'joiner' ? `${field}=${to}` : `${field}: ${from ?? '∅'} → ${to ?? '∅'}`))
      .join(', ');
    printLine(ctx, `  ${e.type.padEnd(7)} ${e.identity.padEnd(10)} effective ${e.effective}  ${changes}`);
  }
  if (r.events.length > shown.length) printLine(ctx, `  … and ${r.events.length - shown.length} more (use --json for all)`);
  if (r.effective.length > 0) {
    printLine(ctx, `  ${r.effective.length} scheduled event(s) ${r.status === 'dry_run' ? 'would take' : 'took'} effect as of ${r.asOf}:`);
    for (const e of r.effective.slice(0, 20)) printLine(ctx, `  ${e.type.padEnd(7)} ${e.identity.padEnd(10)} effective ${e.effective}`);
    if (r.effective.length > 20) printLine(ctx, `  … and ${r.effective.length - 20} more (use --json for all)`);
  }
  if (r.status === 'dry_run') printLine(ctx, 'dry run: nothing was written.');
}
