import type { Command } from 'commander';
import { JmlError } from '../../domain/errors.ts';
import { readAudit, verifyAudit } from '../../store/audit-log.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';

export function registerAuditCommand(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('walk the hash chain; name the first broken link and exit 4 if there is one')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const verdict = await ctx.withStore((store) => verifyAudit(store.db));
      if (flags.json) printJson(ctx, verdict);
      else if (verdict.ok) printLine(ctx, `audit trail intact: ${verdict.entries} entries, head ${verdict.headHash}`);
      else printLine(ctx, `audit trail BROKEN at entry ${verdict.brokenAt}: ${verdict.reason} (${verdict.entries} entries verified before it)`);
      if (!verdict.ok) ctx.setExitCode(EXIT.checkFailed);
    });
  audit
    .command('export')
    .description('print every entry, oldest first, for a SIEM')
    .option('--format <format>', 'jsonl', 'jsonl')
    .option('--subject <subject>', 'only entries about this subject')
    .action(async (flags: { format: string; subject?: string }) => {
      if (flags.format !== 'jsonl') throw new JmlError('invalid_input', `--format must be jsonl, got ${flags.format}`);
      await ctx.withStore(async (store) => {
        for await (const entry of readAudit(store.db, { subject: flags.subject })) ctx.stdout.write(`${JSON.stringify(entry)}\n`);
      });
    });
}
