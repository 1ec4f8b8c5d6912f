/**
 * `jml system test <name>`: connect to a system as jml will and report what
 * was found, or why it failed, with an exit code per reason.
 */
import type { Command } from 'commander';
import { createPlanner } from '../../app/compute-plan.ts';
import { testPolicySystem, type ConnectionFailure, type ConnectionReport, type ListingSample } from '../../app/connection-test.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';

const EXIT_FOR: Readonly<Record<ConnectionFailure, number>> = {
  unreachable: EXIT.systemUnreachable,
  credentials: EXIT.systemCredentials,
  tls: EXIT.systemTls,
  not_found: EXIT.systemNotFound,
  settings: EXIT.invalidInput,
  error: EXIT.error,
};

function sampleLine(label: string, s: ListingSample): string {
  const count = s.more ? `${s.count}+ (first page)` : String(s.count);
  return `  ${label.padEnd(9)} ${count}${s.names.length > 0 ? `: ${s.names.join(', ')}${s.count > s.names.length ? ', …' : ''}` : ''}`;
}

function printReport(ctx: CliContext, r: ConnectionReport): void {
  printLine(ctx, `${r.system} (${r.type}): ${r.ok ? 'ok' : `FAILED — ${r.failure!.reason.replace('_', ' ')}`}`);
  if (r.server) {
    for (const [name, value] of Object.entries(r.server.identity)) printLine(ctx, `  ${name}: ${value}`);
    const t = r.server.tls;
    printLine(ctx, t ? `  tls:      ${t.protocol} ${t.cipher}; certificate ${t.subject}, issued by ${t.issuer}, valid to ${t.validTo}` : '  tls:      none (not encrypted)');
  }
  if (r.accounts) printLine(ctx, sampleLine('accounts', r.accounts));
  if (r.groups) printLine(ctx, sampleLine('groups', r.groups));
  if (r.failure) ctx.stderr.write(`jml: ${r.system}: ${r.failure.message}\n`);
}

export function registerSystemCommands(program: Command, ctx: CliContext): void {
  const system = program.command('system').description('the systems policy names: test a connection');
  system
    .command('test')
    .description('connect to a system as jml will: authenticate, read one page of accounts and groups, and report what was found (changes nothing)')
    .argument('<name>', 'system name from policy')
    .option('--page-size <n>', 'accounts and groups to read', (v) => Number.parseInt(v, 10), 100)
    .option('--json', 'print the report as JSON')
    .addHelpText('after', `
Exit codes: 0 ok; 2 settings invalid; ${EXIT.systemUnreachable} unreachable; ${EXIT.systemCredentials} credentials refused or not stored;
${EXIT.systemTls} TLS failed or required; ${EXIT.systemNotFound} base DN, OU or endpoint does not exist; 1 any other failure.`)
    .action(async (name: string, flags: { pageSize: number; json?: boolean }) => {
      await ctx.withStore(async (store, config) => {
        const { policy } = await createPlanner({ db: store.db, config, actor: ctx.actor }).loadPolicy();
        const report = await testPolicySystem({ db: store.db, policy, actor: ctx.actor }, name, { pageSize: flags.pageSize });
        if (flags.json) printJson(ctx, report);
        else printReport(ctx, report);
        if (report.failure) ctx.setExitCode(EXIT_FOR[report.failure.reason]);
      });
    });
}
