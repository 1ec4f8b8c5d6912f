/**
 * `jml reconcile <system>` reads what a system holds and raises findings;
 * `jml findings` lists them.
 */
import type { Command } from 'commander';
import { createPlanner } from '../../app/compute-plan.ts';
import { openPolicyConnectors } from '../../app/connectors-from-policy.ts';
import { listFindings } from '../../app/findings-store.ts';
import { reconcileSystem, type ReconcileReport } from '../../app/reconcile.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { createProgress } from '../progress.ts';
import { tableLines } from '../table-text.ts';

export function registerReconcileCommands(program: Command, ctx: CliContext): void {
  program
    .command('reconcile')
    .description('read a system\'s accounts, entitlements and grants, correlate them to identities and raise findings (changes nothing in the system)')
    .argument('<system>', 'system name from policy')
    .option('--page-size <n>', 'items per page read from the connector', (v) => Number.parseInt(v, 10), 500)
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nA run that stops (network, crash) resumes from its last page when started again.')
    .action(async (system: string, flags: { pageSize: number; json?: boolean }) => {
      const progress = createProgress(process.stderr, !flags.json);
      await ctx.withStore(async (store, config) => {
        const { policy } = await createPlanner({ db: store.db, config, actor: ctx.actor }).loadPolicy();
        const connectors = await openPolicyConnectors({ db: store.db, policy, actor: ctx.actor }, [system]);
        try {
          const report = await reconcileSystem({
            db: store.db, policy, actor: ctx.actor, timeZone: config.timezone, pageSize: flags.pageSize,
            connectorFor: (name) => connectors.get(name),
            onProgress: (p) => progress.update(`${p.system}: ${p.phase}, ${p.items} read`, p.pages, 0),
          }, system);
          progress.done();
          if (flags.json) printJson(ctx, report);
          else printReport(ctx, report);
        } finally {
          progress.done();
          await connectors.close();
        }
      });
    });

  program
    .command('findings')
    .description('what reconciliation found: orphan accounts, leavers still enabled, out-of-policy grants, missing access')
    .option('--system <name>', 'only this system')
    .option('--kind <kind>', 'only this kind (orphan_account, leaver_account_enabled, out_of_policy_grant, missing_account, missing_grant, disputed_account)')
    .option('--all', 'include resolved findings')
    .option('--json', 'print JSON')
    .action(async (flags: { system?: string; kind?: string; all?: boolean; json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const findings = await listFindings(store.db, {
          ...(flags.all ? {} : { state: 'open' as const }),
          ...(flags.system ? { system: flags.system } : {}),
          ...(flags.kind ? { kind: flags.kind } : {}),
        });
        if (flags.json) return printJson(ctx, findings);
        if (findings.length === 0) return printLine(ctx, 'no open findings.');
        const lines = tableLines([
          { header: 'kind', value: (f) => `${f.kind}${f.state === 'open' ? '' : ' (resolved)'}` },
          { header: 'system', value: (f) => f.system ?? '' },
          { header: 'detail', value: (f) => f.detail },
          { header: 'since', value: (f) => f.firstSeen },
        ], findings);
        for (const line of lines) printLine(ctx, line);
      });
    });
}

function printReport(ctx: CliContext, r: ReconcileReport): void {
  const s = r.situations;
  printLine(ctx, `reconciled ${r.system}${r.resumed ? ' (resumed)' : ''}: ${r.counts.accounts} accounts, ${r.counts.entitlements} entitlements, ${r.counts.grants} grants in ${r.pages} pages`);
  printLine(ctx, `  situations: ${s.linked} linked, ${s.unlinked} newly linked, ${s.unmatched} unmatched, ${s.disputed} disputed, ${s.deleted} deleted`);
  const kinds = Object.entries(r.findings.byKind).map(([k, n]) => `${n} ${k}`).join(', ');
  printLine(ctx, `  findings: ${r.findings.open} open (${r.findings.raised} new, ${r.findings.resolved} resolved)${kinds ? ` — ${kinds}` : ''}`);
  if (r.findings.open > 0) printLine(ctx, `  details: jml findings --system ${r.system}`);
}
