import type { Command } from 'commander';
import { JmlError } from '../../domain/errors.ts';
import type { JmlConfig } from '../../app/config.ts';
import { readCheckpoints, takeCheckpoint, verifyAgainstCheckpoints } from '../../app/audit/audit-checkpoint.ts';
import { generateCheckpointKey, loadSigningKey, loadVerifyKey } from '../../app/audit/checkpoint-key.ts';
import { readAudit, verifyAudit } from '../../store/audit-log.ts';
import { hostname } from 'node:os';
import { SIEM_FORMATS, formatEntry, type SiemFormat } from '../../app/siem/siem-formats.ts';
import { runAuditStream } from '../../app/siem/siem-stream.ts';
import { sinkFor, targetFormat } from '../../app/siem/siem-target.ts';
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
    .description('print every entry, oldest first, for a SIEM (each record carries the entry\'s seq and hash)')
    .option('--format <format>', SIEM_FORMATS.join(', '), 'jsonl')
    .option('--ocsf-version <version>', 'OCSF 1.8 (Account Change, User Access Management) or 1.9 (User and Role Management)', '1.8')
    .option('--subject <subject>', 'only entries about this subject')
    .option('--after <seq>', 'only entries after this sequence number')
    .action(async (flags: { format: string; subject?: string; after?: string; ocsfVersion: string }) => {
      const format = siemFormat(flags.format);
      const options = { ocsfVersion: ocsfVersion(flags.ocsfVersion), hostname: hostname() };
      const after = flags.after === undefined ? 0 : Number(flags.after);
      if (!Number.isInteger(after) || after < 0) throw new JmlError('invalid_input', `--after must be a sequence number, not ${flags.after}`);
      await ctx.withStore(async (store) => {
        let lines: string[] = [];
        for await (const entry of readAudit(store.db, { subject: flags.subject, after, batchSize: 5000 })) {
          lines.push(formatEntry(format, entry, options));
          if (lines.length >= 1000) {
            ctx.stdout.write(`${lines.join('\n')}\n`);
            lines = [];
          }
        }
        if (lines.length > 0) ctx.stdout.write(`${lines.join('\n')}\n`);
      });
    });
  audit
    .command('stream')
    .description('send the audit trail to a SIEM continuously, resuming at the stream\'s checkpointed cursor (at-least-once)')
    .requiredOption('--to <url>', 'file:///path, syslog://host:port, syslog+tls://host:port or https://host/services/collector/event')
    .option('--format <format>', SIEM_FORMATS.join(', ') + ' (syslog targets always get syslog framing)', 'ocsf')
    .option('--ocsf-version <version>', '1.8 or 1.9', '1.8')
    .option('--name <name>', 'the stream\'s name; its cursor is kept under it', 'siem')
    .option('--ca <file>', 'PEM of the CA that signed the receiver\'s certificate')
    .option('--token-env <var>', 'environment variable holding the HEC token', 'JML_HEC_TOKEN')
    .option('--once', 'stop once caught up')
    .action(async (flags: { to: string; format: string; ocsfVersion: string; name: string; ca?: string; tokenEnv: string; once?: boolean }) => {
      const format = targetFormat(flags.to, siemFormat(flags.format));
      const token = process.env[flags.tokenEnv];
      const sink = sinkFor(flags.to, { ...(flags.ca ? { caFile: flags.ca } : {}), ...(token ? { token } : {}) });
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await ctx.withStore(async (store) => {
          const result = await runAuditStream({
            db: store.db, name: flags.name, sink, format, formatOptions: { ocsfVersion: ocsfVersion(flags.ocsfVersion), hostname: hostname() },
            untilCaughtUp: flags.once === true, signal: abort.signal,
            onError: (error, attempt) => ctx.stderr.write(`jml audit stream: ${(error as Error).message} (attempt ${attempt}; retrying, nothing skipped)\n`),
          });
          printLine(ctx, `stream ${flags.name}: ${result.sent} entries sent, cursor at ${result.cursor}`);
        });
      } finally {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
        await sink.close();
      }
    });
}

function siemFormat(value: string): SiemFormat {
  if (!(SIEM_FORMATS as readonly string[]).includes(value)) throw new JmlError('invalid_input', `--format must be one of ${SIEM_FORMATS.join(', ')}, got ${value}`);
  return value as SiemFormat;
}

function ocsfVersion(value: string): '1.8' | '1.9' {
  if (value !== '1.8' && value !== '1.9') throw new JmlError('invalid_input', `--ocsf-version must be 1.8 or 1.9, got ${value}`);
  return value;
}

function requireKeyFile(config: JmlConfig): string {
  if (!config.audit.key_file) throw new JmlError('invalid_input', 'no audit key: set JML_AUDIT_KEY_FILE or audit.key_file (create the key with jml audit keygen --out FILE)');
  return config.audit.key_file;
}
