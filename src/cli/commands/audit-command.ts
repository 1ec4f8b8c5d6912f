import type { Command } from 'commander';
import { JmlError } from '../../domain/errors.ts';
import type { JmlConfig } from '../../app/config.ts';
import { readCheckpoints, takeCheckpoint, verifyAgainstCheckpoints } from '../../app/audit/audit-checkpoint.ts';
import { generateCheckpointKey, loadSigningKey, loadVerifyKey } from '../../app/audit/checkpoint-key.ts';
import { readAudit, verifyAudit } from '../../store/audit-log.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';

export function registerAuditCommand(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('walk the hash chain; with --checkpoints also prove it extends every signed checkpoint; exit 4 if broken')
    .option('--checkpoints <file|dir>', 'a checkpoint JSONL file, or a directory of them')
    .option('--public-key <file>', 'the audit public key (default: audit.key_file / JML_AUDIT_KEY_FILE)')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean; checkpoints?: string; publicKey?: string }) => {
      if (flags.checkpoints) {
        const checkpointsPath = flags.checkpoints;
        const cfg = await ctx.config();
        const key = loadVerifyKey(flags.publicKey ?? requireKeyFile(cfg));
        const checkpoints = readCheckpoints(checkpointsPath);
        const verdict = await ctx.withStore((store) => verifyAgainstCheckpoints(store.db, checkpoints, key));
        if (flags.json) printJson(ctx, verdict);
        else if (verdict.ok) printLine(ctx, `audit trail intact and extends ${verdict.checkpoints} checkpoints (latest: entry ${verdict.latest?.seq ?? 0} at ${verdict.latest?.at ?? '-'}): ${verdict.entries} entries, head ${verdict.headHash}`);
        else printLine(ctx, `audit trail BROKEN: ${verdict.reason}`);
        if (!verdict.ok) ctx.setExitCode(EXIT.checkFailed);
        return;
      }
      const verdict = await ctx.withStore((store) => verifyAudit(store.db));
      if (flags.json) printJson(ctx, verdict);
      else if (verdict.ok) printLine(ctx, `audit trail intact: ${verdict.entries} entries, head ${verdict.headHash} (without --checkpoints this proves only that the chain is consistent with itself)`);
      else printLine(ctx, `audit trail BROKEN at entry ${verdict.brokenAt}: ${verdict.reason} (${verdict.entries} entries verified before it)`);
      if (!verdict.ok) ctx.setExitCode(EXIT.checkFailed);
    });
  audit
    .command('keygen')
    .description('create the Ed25519 audit key (private key 0600, public key beside it as .pub)')
    .option('--out <file>', 'where to write the private key (default: audit.key_file / JML_AUDIT_KEY_FILE)')
    .option('--json', 'print JSON')
    .action(async (flags: { out?: string; json?: boolean }) => {
      const file = flags.out ?? requireKeyFile(await ctx.config());
      const { keyId } = generateCheckpointKey(file);
      if (flags.json) printJson(ctx, { keyFile: file, publicKeyFile: `${file}.pub`, keyId });
      else printLine(ctx, `audit key ${keyId} written to ${file} (mode 0600); give ${file}.pub to whoever verifies checkpoints and evidence packs`);
    });
  audit
    .command('checkpoint')
    .description('sign the current chain head and append it to the checkpoint file (and POST it to audit.checkpoint_url)')
    .option('--file <file>', 'append to this file (default: audit.checkpoint_file / JML_AUDIT_CHECKPOINT_FILE)')
    .option('--json', 'print JSON')
    .action(async (flags: { file?: string; json?: boolean }) => {
      const cfg = await ctx.config();
      const key = loadSigningKey(requireKeyFile(cfg));
      const checkpoint = await ctx.withStore((store) => takeCheckpoint(store.db, key, { file: flags.file ?? cfg.audit.checkpoint_file, url: cfg.audit.checkpoint_url }, new Date()));
      if (flags.json) printJson(ctx, checkpoint);
      else printLine(ctx, `checkpoint: entry ${checkpoint.seq}, hash ${checkpoint.hash}, at ${checkpoint.at}, key ${checkpoint.key_id}`);
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

function requireKeyFile(config: JmlConfig): string {
  if (!config.audit.key_file) throw new JmlError('invalid_input', 'no audit key: set JML_AUDIT_KEY_FILE or audit.key_file (create the key with jml audit keygen --out FILE)');
  return config.audit.key_file;
}
