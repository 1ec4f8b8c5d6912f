import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { createPlanner } from '../../app/compute-plan.ts';
import type { JmlConfig } from '../../app/config.ts';
import { loadDemo, type DemoLoad } from '../../app/load-demo.ts';
import { JmlError } from '../../domain/errors.ts';
import type { Store } from '../../store/open-store.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';

export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('load a demo organisation (people, contractors, service accounts, AI agents) and show the plan for it')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      assertDemoPolicy(await ctx.config());
      await ctx.withStore(async (store, config) => {
        const demo = await loadDemo({ db: store.db, config }, { actor: 'demo' });
        const summary = await summariseDemo(store, config, demo, 'demo');
        if (flags.json) return printJson(ctx, summary);
        printDemoSummary(ctx, config, summary, demo);
        printLine(ctx);
        printLine(ctx, 'Next: `npx jml plan --identity E1002` for one person\'s changes and reasons, `npx jml identities`, `npx jml identity C2001`, `npx jml audit verify`.');
      });
    });
}

/** The demo policy shipped with jml: policy/ in a clone and in the installed package alike. */
const SHIPPED_POLICY = path.resolve(import.meta.dirname, '../../../policy');

/**
 * The demo's plan needs a policy directory. Installed from a package, jml has
 * none in the working directory: say where the shipped one is before loading anything.
 */
function assertDemoPolicy(config: JmlConfig): void {
  if (existsSync(config.policy_dir)) return;
  throw new JmlError('invalid_input', `the policy directory ${path.resolve(config.policy_dir)} does not exist; for the demo, start from the policy shipped with jml: cp -r ${SHIPPED_POLICY} ${config.policy_dir}`, {
    details: { policyDir: config.policy_dir },
  });
}

export interface DemoSummary {
  readonly loaded: boolean;
  readonly directory: string;
  readonly store: string;
  readonly backend: string;
  readonly identities: { readonly byKind: Record<string, number>; readonly byStatus: Record<string, number> };
  readonly plan: { readonly changes: number; readonly byChange: Record<string, number> };
}

/** What the demo load did and the plan it leads to (`jml demo` and `jml serve --demo` print the same). */
export async function summariseDemo(store: Store, config: JmlConfig, demo: DemoLoad, actor: string): Promise<DemoSummary> {
  const { plan } = await createPlanner({ db: store.db, config, actor }).compute();
  const identities = await store.db.selectFrom('identities').select(['kind', 'status']).execute();
  return {
    loaded: demo.loaded,
    directory: demo.directory,
    store: store.location,
    backend: store.backend,
    identities: { byKind: tally(identities.map((i) => i.kind)), byStatus: tally(identities.map((i) => i.status)) },
    plan: { changes: plan.changes.length, byChange: tally(plan.changes.map((c) => `${c.kind}${c.system ? ` in ${c.system}` : ''}`)) },
  };
}

/** Prints the demo summary for people: each import, identities by kind and status, where the data lives, the plan by change. */
export function printDemoSummary(ctx: CliContext, config: JmlConfig, summary: DemoSummary, demo: DemoLoad): void {
  printLine(ctx, demo.loaded ? `Loaded the demo organisation from ${demo.directory}:` : 'The demo organisation is already loaded.');
  for (const r of demo.imports) {
    const c = r.counts;
    const outcome = r.status === 'applied' ? '' : ` — ${r.status.toUpperCase()}: ${r.heldReason ?? r.errors[0]?.message ?? ''}`;
    printLine(ctx, `  ${r.source.padEnd(7)} ${r.file.padEnd(11)} ${c.rows} rows → ${c.joiners} joiners, ${c.leavers} leavers scheduled, ${c.historical} former staff kept as history${outcome}`);
  }
  printLine(ctx, `Identities: ${format(summary.identities.byKind)}`);
  printLine(ctx, `Status:     ${format(summary.identities.byStatus)}`);
  printLine(ctx, `Data:       ${summary.store} (${summary.backend === 'pglite' ? 'embedded PGlite' : 'PostgreSQL'})`);
  printLine(ctx);
  printLine(ctx, `The plan for the demo organisation (${summary.plan.changes} changes, policy in ${config.policy_dir}/):`);
  for (const [what, n] of Object.entries(summary.plan.byChange).sort((a, b) => b[1] - a[1])) printLine(ctx, `  ${String(n).padStart(6)}  ${what}`);
}

function tally(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

function format(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`).join(', ');
}
