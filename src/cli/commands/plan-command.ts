/**
 * `jml plan` and `jml explain`: compute what would change, and why an identity
 * holds or misses what it does.
 */
import type { Command } from 'commander';
import { createPlanner, type PlanScope } from '../../app/compute-plan.ts';
import { previewInstant, previewPlan } from '../../app/plan-preview.ts';
import { openPolicyConnectors } from '../../app/connectors-from-policy.ts';
import { loadObserved } from '../../app/observed-snapshot.ts';
import { loadAssignments, loadIdentities } from '../../app/plan-inputs.ts';
import { reconcileSystem } from '../../app/reconcile.ts';
import { openTasksByChange } from '../../connectors/manual/task-store.ts';
import type { JmlConfig } from '../../app/config.ts';
import type { Store } from '../../store/open-store.ts';
import type { Grant } from '../../domain/access.ts';
import { JmlError } from '../../domain/errors.ts';
import { explain, forEachGrant, forEachLink } from '../../engine/index.ts';
import { printJson, printJsonPaced, printLine, writeJsonFile, type CliContext } from '../cli-context.ts';
import { explanationLines, PLAN_FORMAT, planLines, type PlanFile } from '../plan-text.ts';

interface PlanFlags {
  readonly identity?: string[];
  readonly system?: string[];
  readonly json?: boolean;
  readonly out?: string;
  readonly refresh?: boolean;
  readonly at?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The scope given by --identity / --system flags. */
export function scopeFrom(flags: { identity?: string[]; system?: string[] }): PlanScope {
  return { ...(flags.identity?.length ? { identityKeys: flags.identity } : {}), ...(flags.system?.length ? { systems: flags.system } : {}) };
}

/** Reconciles each system in scope (every policy system without --system); a system that cannot be read fails the command. */
async function refresh(ctx: CliContext, store: Store, config: JmlConfig, scope: PlanScope, verbose: boolean): Promise<void> {
  const { policy } = await createPlanner({ db: store.db, config, actor: ctx.actor }).loadPolicy();
  const systems = policy.systems.map((s) => s.name).filter((name) => !scope.systems || scope.systems.includes(name));
  const connectors = await openPolicyConnectors({ db: store.db, policy, actor: ctx.actor }, systems);
  try {
    for (const system of systems) {
      const report = await reconcileSystem({ db: store.db, policy, actor: ctx.actor, timeZone: config.timezone, connectorFor: (name) => connectors.get(name) }, system);
      if (verbose) ctx.stderr.write(`refreshed ${system}: ${report.counts.accounts} accounts, ${report.counts.grants} grants\n`);
    }
  } finally {
    await connectors.close();
  }
}

export function registerPlanCommands(program: Command, ctx: CliContext): void {
  program
    .command('plan')
    .description('compute the changes that would make every system hold what policy desires, with the reason for each')
    .option('--identity <key>', 'only this identity (repeatable)', collect)
    .option('--system <name>', 'only this system (repeatable)', collect)
    .option('--out <file>', 'write the plan to a file for `jml apply <file>`')
    .option('--refresh', 'reconcile the systems in scope first, so the plan compares with what they hold now')
    .option('--at <date>', 'what-if: the plan as it will be on this date (YYYY-MM-DD), with the lifecycle events that take effect by its end; writes nothing')
    .option('--json', 'print the plan as JSON')
    .action(async (flags: PlanFlags) => {
      const scope = scopeFrom(flags);
      if (flags.at && (flags.out || flags.refresh)) {
        throw new JmlError('invalid_input', '--at previews a date and writes nothing: it cannot be combined with --out or --refresh', { details: { at: flags.at } });
      }
      await ctx.withStore(async (store, config) => {
        const planner = createPlanner({ db: store.db, config, actor: ctx.actor });
        if (flags.refresh) await refresh(ctx, store, config, scope, !flags.json);
        const at = flags.at ? previewInstant(flags.at, config.timezone, new Date()) : null;
        const { plan, runs, policy } = at ? await previewPlan({ db: store.db, config, actor: ctx.actor }, at, scope) : await planner.compute(scope);
        const openTasks = await openTasksByChange(store.db, plan.changes.map((c) => c.id));
        const file: PlanFile = { format: PLAN_FORMAT, scope, plan };
        if (flags.out) await writeJsonFile(flags.out, file);
        if (flags.json) {
          await printJsonPaced(ctx, {
            ...file,
            ...(at ? { at: at.toISOString() } : {}),
            observed: Object.fromEntries([...runs].map(([s, r]) => [s, r.finishedAt.toISOString()])),
            openTasks: Object.fromEntries([...openTasks].map(([changeId, t]) => [changeId, t.id])),
          });
        } else {
          if (at) printLine(ctx, `what-if for ${flags.at} (as of ${at.toISOString()}): lifecycle events effective by then are applied; nothing is written.\n`);
          for (const line of planLines(plan, runs, policy.policy.systems.map((s) => s.name), openTasks)) printLine(ctx, line);
          if (flags.out) printLine(ctx, `\nwritten to ${flags.out}; apply it with: jml apply ${flags.out}`);
        }
      });
    });

  program
    .command('explain')
    .description('desired versus actual access of one identity, with the reason for each entitlement')
    .argument('<key>', 'identity key')
    .option('--json', 'print one JSON object')
    .action(async (key: string, flags: { json?: boolean }) => {
      await ctx.withStore(async (store, config) => {
        const [identity] = await loadIdentities(store.db, [key]);
        if (!identity) throw new JmlError('not_found', `no identity ${key}`, { details: { identity: key } });
        const { policy } = await createPlanner({ db: store.db, config, actor: ctx.actor }).loadPolicy();
        const { observed } = await loadObserved(store.db, policy.systems.map((s) => s.name));
        const mine = new Set<string>();
        forEachLink(observed, [], (l) => {
          if (l.identityKey === key) mine.add(`${l.system}\u0000${l.accountId}`);
        });
        const accounts = observed.flatMap((o) => o.accounts.filter((a) => mine.has(`${a.system}\u0000${a.accountId}`)));
        const grants: Grant[] = [];
        for (const o of observed) {
          forEachGrant(o, (accountId, entitlement) => {
            if (mine.has(`${o.system}\u0000${accountId}`)) grants.push({ system: o.system, accountId, entitlement });
          });
        }
        const explanation = explain(identity, policy, await loadAssignments(store.db, key), { accounts, grants }, new Date().toISOString(), { timeZone: config.timezone });
        if (flags.json) printJson(ctx, explanation);
        else for (const line of explanationLines(explanation)) printLine(ctx, line);
      });
    });
}
