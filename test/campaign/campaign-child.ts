/**
 * A child process of `npm run campaign -- --parallel N`: starts the variant
 * named in its argument (its own databases: a PGlite per history, or a
 * PostgreSQL server of its own), then runs each history the parent sends, one
 * at a time, and answers with its outcome. Ends when the parent disconnects.
 */
import type { History } from './campaign-generator.ts';
import { runHistoryCaught, type HistoryOutcome } from './campaign-run.ts';
import { startVariant, type CampaignVariant } from './campaign-variant.ts';

/** What the parent sends: one history and its index in the run. */
export interface ChildRequest {
  readonly index: number;
  readonly history: History;
}

/** What the child answers. */
export interface ChildReply {
  readonly index: number;
  readonly outcome: HistoryOutcome;
}

const trace = (what: string) => process.env.CAMPAIGN_TRACE && process.stderr.write(`child ${process.pid}: ${what}\n`);
const variant = JSON.parse(process.argv[2]!) as CampaignVariant;
const runtime = await startVariant(variant);
let queue = Promise.resolve();
process.on('message', (request: ChildRequest) => {
  trace(`history ${request.index}`);
  queue = queue.then(async () => {
    const outcome = await runHistoryCaught(request.history, runtime.openStore, runtime.makeTarget);
    process.send!({ index: request.index, outcome } satisfies ChildReply);
  });
});
process.once('disconnect', () => {
  trace('disconnected');
  void queue.then(() => runtime.close()).finally(() => process.exit(0));
});
process.send!({ ready: true });
trace('ready');
