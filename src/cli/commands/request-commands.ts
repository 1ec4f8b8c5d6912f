/**
 * `jml request`, `jml requests`, `jml exceptions`: ask for access (or document
 * an exception) and see what was asked. Decisions: approval-commands.ts.
 */
import type { Command } from 'commander';
import { createAccessRequest, exceptionsForReview, listAccessRequests, type AccessRequest } from '../../app/access-request.ts';
import { createPlanner } from '../../app/compute-plan.ts';
import { JmlError } from '../../domain/errors.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';

interface RequestFlags {
  readonly for?: string;
  readonly as?: string;
  readonly entitlement?: string;
  readonly role?: string;
  readonly justification: string;
  readonly days?: string;
  readonly exception?: boolean;
  readonly json?: boolean;
}

/** The identity a person acts as: --as, else JML_IDENTITY. */
export function actingIdentity(flag: string | undefined): string {
  const key = flag ?? process.env.JML_IDENTITY;
  if (!key) throw new JmlError('invalid_input', 'say who you are: --as <identity key> (or set JML_IDENTITY)');
  return key;
}

export function requestLine(r: AccessRequest): string {
  const what = r.role ? `role ${r.role}` : r.entitlements.map((e) => `${e.system}:${e.entitlement}`).join(', ');
  const until = r.validTo ? ` until ${r.validTo}` : r.durationDays ? ` for ${r.durationDays} days` : '';
  return `${r.id}  ${r.kind.padEnd(9)} ${r.state.padEnd(9)} ${r.identityKey}: ${what}${until} — ${r.justification}`;
}

export function registerRequestCommands(program: Command, ctx: CliContext): void {
  program
    .command('request')
    .description('request an entitlement or role for yourself or one of your reports (or, with --exception, document an exception)')
    .option('--as <key>', 'your identity key (default: JML_IDENTITY)')
    .option('--for <key>', 'who would hold the access (default: yourself)')
    .option('--entitlement <system:name>', 'the entitlement')
    .option('--role <name>', 'or a role')
    .requiredOption('--justification <text>', 'why it is needed')
    .option('--days <n>', 'how long (capped by the entitlement’s max_duration_days)')
    .option('--exception', 'access policy would not give: time-bound, listed for review')
    .option('--json', 'print JSON')
    .action(async (flags: RequestFlags) => {
      const requester = actingIdentity(flags.as);
      const days = flags.days === undefined ? undefined : Number(flags.days);
      await ctx.withStore(async (store, config) => {
        const { policy } = await createPlanner({ db: store.db, config, actor: ctx.actor }).loadPolicy();
        const { request, stages } = await createAccessRequest(
          { db: store.db, policy, timezone: config.timezone },
          {
            kind: flags.exception ? 'exception' : 'request',
            requester,
            identityKey: flags.for ?? requester,
            justification: flags.justification,
            ...(flags.entitlement ? { entitlement: flags.entitlement } : {}),
            ...(flags.role ? { role: flags.role } : {}),
            ...(days !== undefined ? { durationDays: days } : {}),
          },
        );
        if (flags.json) return printJson(ctx, { request, stages });
        printLine(ctx, requestLine(request));
        stages.forEach((s, i) => printLine(ctx, `  stage ${i + 1} ${s.name}: ${s.approvers.join(' or ')} (escalates after ${s.timeoutHours} h)`));
      });
    });

  program
    .command('requests')
    .description('access requests and their state')
    .option('--identity <key>', 'only requests for this identity')
    .option('--state <state>', 'pending, approved, denied or cancelled')
    .option('--json', 'print JSON')
    .action(async (flags: { identity?: string; state?: AccessRequest['state']; json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const list = await listAccessRequests(store.db, { ...(flags.identity ? { identityKey: flags.identity } : {}), ...(flags.state ? { state: flags.state } : {}) });
        if (flags.json) printJson(ctx, list);
        else if (list.length === 0) printLine(ctx, 'no requests.');
        else for (const r of list) printLine(ctx, requestLine(r));
      });
    });

  program
    .command('exceptions')
    .description('exceptions in force, soonest to end first: the list to review')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const list = await exceptionsForReview(store.db, new Date());
        if (flags.json) printJson(ctx, list);
        else if (list.length === 0) printLine(ctx, 'no exceptions in force.');
        else for (const r of list) printLine(ctx, `${requestLine(r)}  (${r.daysLeft} days left)`);
      });
    });
}
