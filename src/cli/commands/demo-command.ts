import type { Command } from 'commander';
import { createPlanner } from '../../app/compute-plan.ts';
import { loadDemo } from '../../app/load-demo.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';

export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('load a demo organisation (people, contractors, service accounts, AI agents) and show the plan for it')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      await ctx.withStore(async (store, config) => {
        const demo = await loadDemo({ db: store.db, config }, { actor: 'demo' });
        const { plan } = await createPlanner({ db: store.db, config, actor: 'demo' }).compute();
        const identities = await store.db.selectFrom('identities').select(['kind', 'status']).execute();
        const byKind = tally(identities.map((i) => i.kind));
        const byStatus = tally(identities.map((i) => i.status));
        const byChange = tally(plan.changes.map((c) => `${c.kind}${c.system ? ` in ${c.system}` : ''}`));
        if (flags.json) return printJson(ctx, { loaded: demo.loaded, directory: demo.directory, store: store.location, backend: store.backend, identities: { byKind, byStatus }, plan: { changes: plan.changes.length, byChange } });
        printLine(ctx, demo.loaded ? `Loaded the demo organisation from ${demo.directory}:` : 'The demo organisation is already loaded.');
        for (const r of demo.imports) {
          const c = r.counts;
          const outcome = r.status === 'applied' ? '' : ` — ${r.status.toUpperCase()}: ${r.heldReason ?? r.errors[0]?.message ?? ''}`;
          printLine(ctx, `  ${r.source.padEnd(7)} ${r.file.padEnd(11)} ${c.rows} rows → ${c.joiners} joiners, ${c.leavers} leavers scheduled, ${c.historical} former staff kept as history${outcome}`);
        }
        printLine(ctx, `Identities: ${format(byKind)}`);
        printLine(ctx, `Status:     ${format(byStatus)}`);
        printLine(ctx, `Data:       ${store.location} (${store.backend === 'pglite' ? 'embedded PGlite' : 'PostgreSQL'})`);
        printLine(ctx);
        printLine(ctx, `The plan for the demo organisation (${plan.changes.length} changes, policy in ${config.policy_dir}/):`);
        for (const [what, n] of Object.entries(byChange).sort((a, b) => b[1] - a[1])) printLine(ctx, `  ${String(n).padStart(6)}  ${what}`);
        printLine(ctx);
        printLine(ctx, 'Next: `npx jml plan --identity E1002` for one person\'s changes and reasons, `npx jml identities`, `npx jml identity C2001`, `npx jml audit verify`.');
      });
    });
}

function tally(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

function format(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`).join(', ');
}
