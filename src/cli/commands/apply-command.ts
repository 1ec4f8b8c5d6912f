/**
 * `jml apply [plan.json] [--yes]`: carry out a plan through the systems'
 * connectors. With a file, exactly that plan (refused with exit 4 when its
 * inputs changed since it was computed); without one, a fresh plan, shown
 * first and applied after confirmation.
 *
 * The plan goes to the durable change queue (the one `jml worker` runs) and
 * this process works the queue while it waits: plans left unfinished by an
 * earlier, interrupted apply are finished first. It stops waiting when nothing
 * more can move — every change settled, or waiting on a task or on a
 * quarantined system — and prints a summary.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { createPlanner, type PlanScope } from '../../app/compute-plan.ts';
import { openPolicyConnectors } from '../../app/connectors-from-policy.ts';
import type { Plan } from '../../domain/change.ts';
import { JmlError } from '../../domain/errors.ts';
import { executePlan, resumeUnfinishedPlans, unfinishedPlanSystems, type ApplyReport, type PlanExecutorDeps } from '../../jobs/plan-executor.ts';
import { applyHeadline, applySummaryLines } from '../apply-summary.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import { planLines, readPlanFile } from '../plan-text.ts';
import { createProgress } from '../progress.ts';
import { scopeFrom } from './plan-command.ts';

interface ApplyFlags {
  readonly yes?: boolean;
  readonly json?: boolean;
  readonly verbose?: boolean;
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
    .option('--verbose', 'list every change in the summary')
    .option('--json', 'print the apply report as one JSON document')
    .addHelpText(
      'after',
      '\nExit codes: 0 applied (tasks may be pending), 1 some change parked or blocked, or a system quarantined (its changes wait), 4 the plan is stale.',
    )
    .action(async (file: string | undefined, flags: ApplyFlags) => {
      const fromFile = file ? await readPlanFile(file) : null;
      const scope: PlanScope = fromFile ? fromFile.scope : scopeFrom(flags);
      await ctx.withStore(async (store, config) => {
        const planner = createPlanner({ db: store.db, config, actor: ctx.actor });
        const { policy } = await planner.loadPolicy();
        const progress = createProgress(process.stderr, !flags.json);
        /** Runs `fn` with the connectors of these systems (they connect on first use), closed after. */
        const withExecutor = async <T>(systems: readonly string[], fn: (executor: PlanExecutorDeps) => Promise<T>): Promise<T> => {
          const connectors = await openPolicyConnectors({ db: store.db, policy, actor: ctx.actor, timezone: config.timezone }, [...systems]);
          try {
            return await fn({
              store,
              actor: ctx.actor,
              connectorFor: (system) => connectors.connectorFor(system),
              tasksFor: (system) => connectors.tasksFor(system),
              leftToOthers: (system) => connectors.notOpened(system),
              policy: () => policy,
              onProgress: (p) => progress.update(`plan ${p.planId.slice(0, 12)}: ${p.settled} settled, ${p.active} to go`, p.settled, p.total),
            });
          } finally {
            progress.done();
            await connectors.close();
          }
        };

        // A plan left unfinished (a killed apply, a released system) is finished first.
        const unfinished = await unfinishedPlanSystems(store.db);
        const resumed = unfinished ? await withExecutor(unfinished, (executor) => resumeUnfinishedPlans(executor)) : [];
        if (!flags.json) for (const report of resumed) printLine(ctx, `resumed ${applyHeadline(report)}`);
        const stillWaiting = resumed.filter((r) => r.quarantined.length > 0);
        if (stillWaiting.length > 0) {
          // A new plan would hold the same changes again, for the same system: these go first.
          if (flags.json) printJson(ctx, { resumed });
          else for (const report of stillWaiting) for (const line of applySummaryLines(report, flags)) printLine(ctx, line);
          failOnQuarantine(ctx, stillWaiting);
          return;
        }

        let plan: Plan;
        if (fromFile) plan = fromFile.plan;
        else {
          const computed = await planner.compute(scope);
          plan = computed.plan;
          if (!flags.json) for (const line of planLines(plan, computed.runs, policy.systems.map((s) => s.name))) printLine(ctx, line);
          if (plan.changes.length === 0) {
            if (flags.json) printJson(ctx, { planId: plan.id, status: 'applied', total: 0, changes: [], counts: {}, quarantined: [], resumed });
            return;
          }
          if (!flags.yes && !(await confirm(`\napply ${plan.changes.length} change(s)? [y/N] `))) {
            printLine(ctx, 'nothing applied.');
            return;
          }
        }
        const systems = [...new Set(plan.changes.map((c) => c.system).filter((s): s is string => s !== null))];
        // A plan read from a file, or confirmed at the prompt, may have waited: its inputs are computed again and
        // compared. One computed a moment ago and applied without a question has had no time to go stale, and
        // computing it twice would double the wait before the first change.
        const computedJustNow = !fromFile && flags.yes === true;
        const current = computedJustNow ? () => Promise.resolve(plan.fingerprint) : () => planner.currentFingerprint(scope);
        const report = await withExecutor(systems, (executor) => executePlan(executor, plan, current));
        if (flags.json) printJson(ctx, { ...report, resumed });
        else {
          printLine(ctx);
          for (const line of applySummaryLines(report, flags)) printLine(ctx, line);
        }
        const failed = (report.counts.parked ?? 0) + (report.counts.blocked ?? 0);
        ctx.setExitCode(failed > 0 ? EXIT.error : EXIT.ok);
        failOnQuarantine(ctx, [report]);
      });
    });
}

/** A quarantined system's changes wait: say which system and what to do, and exit non-zero. */
function failOnQuarantine(ctx: CliContext, reports: readonly ApplyReport[]): void {
  const systems = new Map<string, { waiting: number; lastError: string | null }>();
  for (const q of reports.flatMap((r) => r.quarantined)) {
    const seen = systems.get(q.system);
    systems.set(q.system, { waiting: (seen?.waiting ?? 0) + q.waiting, lastError: q.lastError });
  }
  for (const [system, { waiting, lastError }] of systems) {
    ctx.stderr.write(`jml: ${system} is quarantined${lastError ? ` (${lastError})` : ''}; ${waiting} change(s) wait for it. Release it with \`jml quarantine release ${system}\` once it is back.\n`);
  }
  if (systems.size > 0) ctx.setExitCode(EXIT.error);
}
