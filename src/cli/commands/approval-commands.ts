/**
 * `jml approvals`, `jml approve <id>`, `jml deny <id>`: the open approval
 * stages and their decisions. Nobody decides their own request or one for
 * themselves.
 */
import type { Command } from 'commander';
import { decideRequest, listOpenApprovals } from '../../app/approval.ts';
import { followUpDecision } from '../../app/replan-follow-up.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { tableLines } from '../table-text.ts';
import { followUpLine, runFollowUp } from '../replan-follow-up.ts';
import { actingIdentity, requestedAccess, requestLine } from './request-commands.ts';

export function registerApprovalCommands(program: Command, ctx: CliContext): void {
  program
    .command('approvals')
    .description('open approval stages (yours with --as, or all)')
    .option('--as <key>', 'only stages this identity may decide')
    .option('--json', 'print JSON')
    .action(async (flags: { as?: string; json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const list = await listOpenApprovals(store.db, flags.as);
        if (flags.json) return printJson(ctx, list);
        if (list.length === 0) return printLine(ctx, 'no open approvals.');
        const lines = tableLines([
          { header: 'request', value: (a) => a.requestId },
          { header: 'identity', value: (a) => a.request.identityKey },
          { header: 'access', value: (a) => requestedAccess(a.request) },
          { header: 'stage', value: (a) => `${a.stage} ${a.stageName}` },
          { header: 'approvers', value: (a) => a.approvers.join(' or ') },
          { header: 'due', value: (a) => `${a.dueAt ?? '-'}${a.escalations ? ` (escalated ${a.escalations}×)` : ''}` },
        ], list);
        for (const line of lines) printLine(ctx, line);
      });
    });

  for (const verb of ['approve', 'deny'] as const) {
    program
      .command(verb)
      .description(`${verb} the open stage of a request`)
      .argument('<request-id>', 'the request (see jml approvals)')
      .option('--as <key>', 'your identity key (default: JML_IDENTITY)')
      .option('--comment <text>', 'recorded with the decision')
      .option('--json', 'print JSON')
      .action(async (id: string, flags: { as?: string; comment?: string; json?: boolean }) => {
        const approver = actingIdentity(flags.as);
        await ctx.withStore(async (store, config) => {
          const request = await decideRequest(store.db, { requestId: id, approver, decision: verb, ...(flags.comment ? { comment: flags.comment } : {}) }, new Date());
          // An approved request changes what its identity should hold: the workers plan it now.
          const followUp = request.state === 'approved' ? await runFollowUp(ctx, store, config, (deps) => followUpDecision(deps, request), flags.json) : null;
          if (flags.json) return printJson(ctx, followUp ? { ...request, followUp } : request);
          printLine(ctx, requestLine(request));
          const line = followUpLine(followUp);
          if (line) printLine(ctx, line);
        });
      });
  }
}
