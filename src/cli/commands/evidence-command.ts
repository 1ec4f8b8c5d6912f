/**
 * `jml evidence build` and `jml evidence verify`: signed packs of
 * system-generated proof per control (src/app/evidence/).
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { loadSigningKey, loadVerifyKey } from '../../app/audit/checkpoint-key.ts';
import { FRAMEWORKS } from '../../app/evidence/control-map.ts';
import { buildEvidencePack } from '../../app/evidence/evidence-pack.ts';
import { verifyEvidencePack } from '../../app/evidence/evidence-verify.ts';
import { configuredCheckpoints, periodOf } from '../../app/evidence/evidence-service.ts';
import { JmlError } from '../../domain/errors.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD');
const buildFlags = z.object({
  framework: z.enum(FRAMEWORKS),
  from: day,
  to: day,
  out: z.string().min(1),
  zip: z.boolean().optional(),
  pdf: z.boolean(),
  checkpoints: z.string().optional(),
  json: z.boolean().optional(),
});

export function registerEvidenceCommands(program: Command, ctx: CliContext): void {
  const evidence = program.command('evidence').description('signed evidence packs per control, verifiable against the audit trail');
  evidence
    .command('build')
    .description('write a pack for a framework and period: report (HTML, PDF), CSV and JSON per table, signed manifest')
    .requiredOption('--framework <framework>', FRAMEWORKS.join(' | '))
    .requiredOption('--from <date>', 'first day of the period (YYYY-MM-DD, in the organisation\'s time zone)')
    .requiredOption('--to <date>', 'last day of the period, included')
    .requiredOption('--out <dir>', 'a new or empty directory')
    .option('--zip', 'also write <dir>.zip')
    .option('--no-pdf', 'skip the PDF (which needs Chromium)')
    .option('--checkpoints <file|dir>', 'quote the latest checkpoint from here (default: audit.checkpoint_file)')
    .option('--json', 'print JSON')
    .action(async (raw: unknown) => {
      const parsed = buildFlags.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new JmlError('invalid_input', `--${issue.path.join('.')}: ${issue.message}`);
      }
      const flags = parsed.data;
      const config = await ctx.config();
      if (!config.audit.key_file) throw new JmlError('invalid_input', 'an evidence pack is signed with the audit key: set JML_AUDIT_KEY_FILE or audit.key_file (create one with jml audit keygen)');
      const key = loadSigningKey(config.audit.key_file);
      const period = periodOf(flags.from, flags.to, config.timezone);
      const started = Date.now();
      const result = await ctx.withStore((store) =>
        buildEvidencePack(store.db, key, { framework: flags.framework, period, out: flags.out, zip: flags.zip, pdf: flags.pdf, actor: ctx.actor, checkpoints: flags.checkpoints ?? configuredCheckpoints(config) }, new Date()),
      );
      if (flags.json) printJson(ctx, { dir: result.dir, zip: result.zip, files: result.manifest.files.length, audit: result.manifest.audit, counts: result.counts, ms: Date.now() - started });
      else {
        printLine(ctx, `evidence pack for ${flags.framework} ${flags.from}..${flags.to} written to ${result.dir}${result.zip ? ` and ${result.zip}` : ''} (${result.manifest.files.length} files, signed by key ${result.manifest.key_id})`);
        for (const [name, n] of Object.entries(result.counts)) printLine(ctx, `  ${name}: ${n}`);
      }
    });
  evidence
    .command('verify <dir>')
    .description('check the signature, every file hash, and that the audit entries behind the pack are unchanged; exit 4 if not')
    .option('--public-key <file>', 'the audit public key (default: audit.key_file / JML_AUDIT_KEY_FILE)')
    .option('--json', 'print JSON')
    .action(async (dir: string, flags: { publicKey?: string; json?: boolean }) => {
      const config = await ctx.config();
      const keyFile = flags.publicKey ?? config.audit.key_file;
      if (!keyFile) throw new JmlError('invalid_input', 'give --public-key <file> (the .pub written by jml audit keygen) or set JML_AUDIT_KEY_FILE');
      const key = loadVerifyKey(keyFile);
      const verdict = await ctx.withStore((store) => verifyEvidencePack(store.db, dir, key));
      if (flags.json) printJson(ctx, verdict);
      else if (verdict.ok) printLine(ctx, `evidence pack intact: ${verdict.files} files and ${verdict.auditEntries} audit entries verified`);
      else for (const problem of verdict.problems) printLine(ctx, `FAILED ${problem}`);
      if (!verdict.ok) ctx.setExitCode(EXIT.checkFailed);
    });
}

