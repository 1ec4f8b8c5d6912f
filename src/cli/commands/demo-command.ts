import type { Command } from 'commander';
import { createPlanner } from '../../app/compute-plan.ts';
import type { JmlConfig } from '../../app/config.ts';
import { loadDemo, type DemoLoad } from '../../app/load-demo.ts';
import type { Store } from '../../store/open-store.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';

export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('load a demo organisation (people, contractors, service accounts, AI agents) and show the plan for it')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
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
