/**
 * `jml apply [plan.json] [--yes]`: carry out a plan through the systems'
 * connectors. With a file, exactly that plan (refused with exit 4 when its
 * inputs changed since it was computed); without one, a fresh plan, shown
 * first and applied after confirmation.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { applyPlan, type ApplyReport } from '../../app/apply-plan.ts';
import { createPlanner, type PlanScope } from '../../app/compute-plan.ts';
import { openPolicyConnectors } from '../../app/connectors-from-policy.ts';
import type { Plan } from '../../domain/change.ts';
import { JmlError } from '../../domain/errors.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import { planLines, readPlanFile } from '../plan-text.ts';
import { scopeFrom } from './plan-command.ts';

interface ApplyFlags {
  readonly yes?: boolean;
  readonly json?: boolean;
  readonly identity?: string[];
  readonly system?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new JmlError('invalid_input', 'not a terminal: pass --yes to apply without confirmation');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function registerApplyCommand(program: Command, ctx: CliContext): void {
  program
    .command('apply')
    .description('apply a plan: each change re-reads its target, acts only if needed, and reads back to confirm')
    .argument('[plan-file]', 'a plan written by `jml plan --out` (default: compute one now)')
    .option('--identity <key>', 'without a file: only this identity (repeatable)', collect)
    .option('--system <name>', 'without a file: only this system (repeatable)', collect)
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print the apply report as JSON')
    .addHelpText('after', '\nExit codes: 0 applied (tasks may be pending), 1 some change parked or blocked, 4 the plan is stale.')
    .action(async (file: string | undefined, flags: ApplyFlags) => {
      const fromFile = file ? await readPlanFile(file) : null;
      const scope: PlanScope = fromFile ? fromFile.scope : scopeFrom(flags);
      await ctx.withStore(async (store, config) => {
        const planner = createPlanner({ db: store.db, config, actor: ctx.actor });
        let plan: Plan;
        if (fromFile) plan = fromFile.plan;
        else {
          const computed = await planner.compute(scope);
          plan = computed.plan;
          if (!flags.json) for (const line of planLines(plan, computed.runs, computed.policy.policy.systems.map((s) => s.name))) printLine(ctx, line);
          if (plan.changes.length === 0) {
            if (flags.json) printJson(ctx, { planId: plan.id, status: 'applied', changes: [], counts: {} });
            return;
          }
          if (!flags.yes && !(await confirm(`\napply ${plan.changes.length} change(s)? [y/N] `))) {
            printLine(ctx, 'nothing applied.');
            return;
          }
        }
        const { policy } = await planner.loadPolicy();
        const systems = [...new Set(plan.changes.map((c) => c.system).filter((s): s is string => s !== null))];
        const connectors = await openPolicyConnectors({ db: store.db, policy, actor: ctx.actor, timezone: config.timezone }, systems);
        try {
          const report = await applyPlan({
            db: store.db,
            actor: ctx.actor,
            connectorFor: (system) => connectors.connectorFor(system),
            tasksFor: (system) => connectors.tasksFor(system),
            currentFingerprint: () => planner.currentFingerprint(scope),
          }, plan);
          if (flags.json) printJson(ctx, report);
          else printReport(ctx, plan, report);
          const failed = (report.counts.parked ?? 0) + (report.counts.blocked ?? 0);
          ctx.setExitCode(failed > 0 ? EXIT.error : EXIT.ok);
        } finally {
          await connectors.close();
        }
      });
    });
}

function printReport(ctx: CliContext, plan: Plan, report: ApplyReport): void {
  const byId = new Map(plan.changes.map((c) => [c.id, c]));
  printLine(ctx, `\nplan ${report.planId}: ${report.status}`);
  for (const r of report.changes) {
    const c = byId.get(r.changeId)!;
    const what = `${c.kind} ${c.system ?? 'jml'}${c.entitlement ? `:${c.entitlement}` : ''} for ${c.identityKey}`;
    printLine(ctx, `  ${r.state.padEnd(9)} ${what}${r.lastError ? ` — ${r.lastError}` : ''}`);
  }
  printLine(ctx, `  ${Object.entries(report.counts).map(([k, v]) => `${v} ${k}`).join(', ')}`);
  if ((report.counts.pending ?? 0) > 0) printLine(ctx, '  pending changes wait for people: see `jml tasks`.');
}
