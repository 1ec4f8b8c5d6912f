/**
 * `jml reviews list | start | show | decide | delegate | close | confirm | export`:
 * access review campaigns from the command line. Decisions name the reviewer
 * (`--as`); several items at once need `--yes`; closing shows the blast-radius
 * preview and a campaign held by the cap is released only with `--release`.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createPlanner } from '../../app/compute-plan.ts';
import { closeReviewCampaign, confirmReviewRemovals, manualSystemsOf, decideReviewItems, delegateReviewItems, previewClose, startReviewCampaign } from '../../app/reviews/review-campaigns.ts';
import { exportCampaign } from '../../app/reviews/review-export.ts';
import { campaignDecisions, getCampaign, listCampaigns, reviewerProgress, reviewInbox } from '../../app/reviews/review-queries.ts';
import { JmlError } from '../../domain/errors.ts';
import { REVIEW_DECISIONS, type ReviewDecision } from '../../engine/review-decisions.ts';
import { rubberStampReport } from '../../engine/review-independence.ts';
import type { CampaignOutcome } from '../../engine/review-outcome.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import { actingIdentity } from './request-commands.ts';

export function registerReviewCommands(program: Command, ctx: CliContext): void {
  const reviews = program.command('reviews').description('access review campaigns: list, start, show, decide, close, export');
  const deps = (store: Parameters<Parameters<CliContext['withStore']>[0]>[0], config: Parameters<Parameters<CliContext['withStore']>[0]>[1]) =>
    ({ db: store.db, planner: createPlanner({ db: store.db, config, actor: ctx.actor }), timeZone: config.timezone });

  reviews.command('list').description('campaigns with their progress').option('--json', 'print JSON').action(async (flags: { json?: boolean }) => {
    await ctx.withStore(async (store) => {
      const list = await listCampaigns(store.db);
      if (flags.json) return printJson(ctx, list);
      if (list.length === 0) return printLine(ctx, 'no review campaigns.');
      for (const c of list) printLine(ctx, `${c.id}  ${c.review.padEnd(24)} ${c.state.padEnd(9)} ${c.decided}/${c.items} decided, due ${c.due_at.toISOString()}`);
    });
  });

  reviews.command('start').description('start a campaign of a review defined in policy').argument('<review>', 'the review\'s name in policy').option('--json', 'print JSON')
    .action(async (name: string, flags: { json?: boolean }) => {
      await ctx.withStore(async (store, config) => {
        const started = await startReviewCampaign(deps(store, config), name, ctx.actor, new Date());
        if (flags.json) return printJson(ctx, started);
        printLine(ctx, `started ${started.id}: ${started.items} items${started.unassigned > 0 ? `, ${started.unassigned} without a reviewer` : ''} (snapshot ${started.snapshotHash.slice(0, 12)})`);
      });
    });

  reviews.command('show').description('a campaign: progress per reviewer, rubber-stamp report, or your open items with --as').argument('<campaign>')
    .option('--as <key>', 'list the items waiting for this reviewer').option('--json', 'print JSON')
    .action(async (id: string, flags: { as?: string; json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const campaign = await getCampaign(store.db, id);
        if (flags.as) {
          const items = await reviewInbox(store.db, flags.as, id);
          if (flags.json) return printJson(ctx, items);
          for (const i of items) printLine(ctx, `${i.id}  ${i.identityKey} ${i.system}:${i.entitlement ?? '(account)'}${i.privileged ? ' [privileged]' : ''}  recommend ${i.recommendation}: ${i.recommendationWhy}`);
          return printLine(ctx, `${items.length} item(s) waiting for ${flags.as}`);
        }
        const progress = await reviewerProgress(store.db, id);
        const pace = rubberStampReport(await campaignDecisions(store.db, id));
        if (flags.json) return printJson(ctx, { campaign, progress, pace });
        printLine(ctx, `${campaign.id}  ${campaign.review}  ${campaign.state}, due ${campaign.due_at.toISOString()}, snapshot ${campaign.snapshot_hash}`);
        for (const p of progress) printLine(ctx, `  ${p.reviewer.padEnd(16)} ${p.decided} decided, ${p.open} open`);
        for (const p of pace.filter((x) => x.flagged)) printLine(ctx, `  rubber stamp? ${p.reviewer}: ${p.why}`);
      });
    });

  reviews.command('decide').description('decide items: keep, remove or reduce (--until)').argument('<campaign>').argument('<decision>', REVIEW_DECISIONS.join(' | ')).argument('<items...>', 'item ids')
    .option('--as <key>', 'your identity key (default: JML_IDENTITY)').option('--comment <text>', 'required to keep privileged access').option('--until <date>', 'for reduce: the last day (YYYY-MM-DD)')
    .option('--yes', 'confirm a decision on several items').option('--json', 'print JSON')
    .action(async (id: string, decision: string, items: string[], flags: { as?: string; comment?: string; until?: string; yes?: boolean; json?: boolean }) => {
      if (!(REVIEW_DECISIONS as readonly string[]).includes(decision)) throw new JmlError('invalid_input', `decision must be one of ${REVIEW_DECISIONS.join(', ')}, not "${decision}"`);
      const reviewer = actingIdentity(flags.as);
      await ctx.withStore(async (store, config) => {
        const result = await decideReviewItems(deps(store, config), id, { reviewer, itemIds: items, decision: decision as ReviewDecision, ...(flags.comment ? { comment: flags.comment } : {}), ...(flags.until ? { until: flags.until } : {}), confirmed: flags.yes === true }, new Date());
        if (flags.json) return printJson(ctx, result);
        printLine(ctx, `${decision}: ${result.decided} item(s)`);
      });
    });

  reviews.command('delegate').description('hand your open items to another reviewer').argument('<campaign>').argument('<to>', 'identity key').argument('<items...>')
    .option('--as <key>', 'your identity key (default: JML_IDENTITY)')
    .action(async (id: string, to: string, items: string[], flags: { as?: string }) => {
      const from = actingIdentity(flags.as);
      await ctx.withStore(async (store, config) => {
        await delegateReviewItems(deps(store, config), id, { from, to, itemIds: items, actor: from }, new Date());
        printLine(ctx, `delegated ${items.length} item(s) from ${from} to ${to}`);
      });
    });

  reviews.command('close').description('close: unanswered items take the no-response policy; --preview only shows the blast radius').argument('<campaign>')
    .option('--preview', 'show what closing would remove, change nothing').option('--release', 'release a campaign the cap holds').option('--json', 'print JSON')
    .action(async (id: string, flags: { preview?: boolean; release?: boolean; json?: boolean }) => {
      await ctx.withStore(async (store, config) => {
        if (flags.preview) {
          const outcome = await previewClose(store.db, id);
          if (flags.json) return printJson(ctx, outcome.preview);
          return printOutcome(ctx, outcome);
        }
        const result = await closeReviewCampaign(deps(store, config), id, ctx.actor, new Date(), { release: flags.release === true });
        if (flags.json) printJson(ctx, { state: result.state, preview: result.outcome.preview, heldBecause: result.outcome.heldBecause });
        else {
          printOutcome(ctx, result.outcome);
          printLine(ctx, result.state === 'held' ? 'held: nothing applied. Check the preview, then run again with --release.' : `closed: ${result.state}`);
        }
        if (result.state === 'held') ctx.setExitCode(EXIT.held);
      });
    });

  reviews.command('confirm').description('confirm removals against what the systems now show (after apply or reconcile)').argument('<campaign>').option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      await ctx.withStore(async (store, config) => {
        const { policy } = await deps(store, config).planner.loadPolicy();
        const result = await confirmReviewRemovals(store.db, id, ctx.actor, new Date(), { manualSystems: manualSystemsOf(policy) });
        if (flags.json) return printJson(ctx, result);
        printLine(ctx, `${result.confirmed} removal(s) confirmed, ${result.open} still open; campaign ${result.state}`);
      });
    });

  reviews.command('export').description('evidence: every item with decisions, audit sequence numbers and removal confirmation').argument('<campaign>')
    .option('--format <format>', 'csv or json', 'csv').option('--out <file>', 'write to a file instead of standard output')
    .action(async (id: string, flags: { format: string; out?: string }) => {
      if (flags.format !== 'csv' && flags.format !== 'json') throw new JmlError('invalid_input', `--format must be csv or json, not "${flags.format}"`);
      await ctx.withStore(async (store) => {
        const { json, csv } = await exportCampaign(store.db, id);
        const text = flags.format === 'csv' ? csv : `${JSON.stringify(json, null, 2)}\n`;
        if (flags.out) await writeFile(flags.out, text, { mode: 0o600 });
        else ctx.stdout.write(text);
      });
    });
}

function printOutcome(ctx: CliContext, outcome: CampaignOutcome): void {
  const p = outcome.preview;
  printLine(ctx, `${p.items} items: ${p.removals} removal(s), of which ${p.noResponseRemovals} by no response (${p.percent.toFixed(1)} %)`);
  printLine(ctx, `  no-response removals: ${p.byKind.privileged} privileged, ${p.byKind.standard} standard, ${p.byKind.account} account(s)`);
  for (const [system, n] of Object.entries(p.bySystem).sort()) printLine(ctx, `  ${system}: ${n}`);
  for (const why of outcome.heldBecause) printLine(ctx, `  cap: ${why}`);
}
