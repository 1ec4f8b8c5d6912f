/**
 * `jml request`, `jml requests`, `jml exceptions [review <id>]`: ask for access
 * (or document an exception), see what was asked, and review exceptions.
 * Decisions: approval-commands.ts.
 */
import type { Command } from 'commander';
import { createAccessRequest, listAccessRequests, type AccessRequest } from '../../app/access-request.ts';
import type { JmlConfig } from '../../app/config.ts';
import { listExceptions, recordExceptionReview, type ExceptionInForce, type ExceptionReviewSettings } from '../../app/exception-review.ts';
import { createPlanner } from '../../app/compute-plan.ts';
import { JmlError } from '../../domain/errors.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { tableLines, type Column } from '../table-text.ts';

interface RequestFlags {
  readonly for?: string;
  readonly as?: string;
  readonly entitlement?: string;
  readonly role?: string;
  readonly justification: string;
  readonly days?: string;
  readonly exception?: boolean;
  readonly control?: string;
  readonly controlOwner?: string;
  readonly json?: boolean;
}

/** The identity a person acts as: --as, else JML_IDENTITY. */
export function actingIdentity(flag: string | undefined): string {
  const key = flag ?? process.env.JML_IDENTITY;
  if (!key) throw new JmlError('invalid_input', 'say who you are: --as <identity key> (or set JML_IDENTITY)');
  return key;
}

export function requestLine(r: AccessRequest): string {
  return `${r.id}  ${r.kind.padEnd(9)} ${r.state.padEnd(9)} ${r.identityKey}: ${requestedAccess(r)} — ${r.justification}`;
}

/** What a request asks for, and for how long. */
export function requestedAccess(r: AccessRequest): string {
  const what = r.role ? `role ${r.role}` : r.entitlements.map((e) => `${e.system}:${e.entitlement}`).join(', ');
  return `${what}${r.validTo ? ` until ${r.validTo}` : r.durationDays ? ` for ${r.durationDays} days` : ''}`;
}

const REQUEST_COLUMNS: readonly Column<AccessRequest>[] = [
  { header: 'id', value: (r) => r.id },
  { header: 'kind', value: (r) => r.kind },
  { header: 'state', value: (r) => r.state },
  { header: 'identity', value: (r) => r.identityKey },
  { header: 'access', value: requestedAccess },
  { header: 'justification', value: (r) => r.justification },
];

function reviewState(x: ExceptionInForce): string {
  return x.reviewState === 'review_overdue' ? `REVIEW OVERDUE since ${x.reviewDue.slice(0, 10)}` : x.reviewState === 'ending_soon' ? 'ENDING SOON' : `review due ${x.reviewDue.slice(0, 10)}`;
}

const EXCEPTION_COLUMNS: readonly Column<ExceptionInForce>[] = [
  { header: 'id', value: (x) => x.id },
  { header: 'identity', value: (x) => x.identityKey },
  { header: 'access', value: requestedAccess },
  { header: 'left', value: (x) => `${x.daysLeft} days` },
  { header: 'review', value: reviewState },
  { header: 'justification', value: (x) => x.justification },
];

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
    .option('--control <name>', 'access that breaks an SoD rule: the compensating control (one the rule allows); the rule owner decides')
    .option('--control-owner <key>', 'with --control: who is accountable for the compensating control')
    .option('--json', 'print JSON')
    .action(async (flags: RequestFlags) => {
      if ((flags.control === undefined) !== (flags.controlOwner === undefined)) throw new JmlError('invalid_input', '--control and --control-owner go together');
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
            ...(flags.control && flags.controlOwner ? { mitigation: { control: flags.control, owner: flags.controlOwner } } : {}),
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
        else for (const line of tableLines(REQUEST_COLUMNS, list)) printLine(ctx, line);
      });
    });

  const exceptions = program
    .command('exceptions')
    .description('exceptions in force, soonest to end first, with their review state (in_force, ending_soon, review_overdue)')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      await ctx.withStore(async (store, config) => {
        const list = await listExceptions(store.db, new Date(), reviewSettings(config));
        if (flags.json) printJson(ctx, list);
        else if (list.length === 0) printLine(ctx, 'no exceptions in force.');
        else for (const line of tableLines(EXCEPTION_COLUMNS, list)) printLine(ctx, line);
      });
    });
  exceptions
    .command('review')
    .description('record that an exception was reviewed and is still needed (its next review is due later)')
    .argument('<request-id>', 'the exception (see jml exceptions)')
    .option('--as <key>', 'your identity key (default: JML_IDENTITY)')
    .option('--comment <text>', 'recorded with the review')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { as?: string; comment?: string; json?: boolean }) => {
      const reviewer = actingIdentity(flags.as);
      await ctx.withStore(async (store, config) => {
        const reviewed = await recordExceptionReview(store.db, { requestId: id, reviewer, ...(flags.comment ? { comment: flags.comment } : {}) }, new Date(), reviewSettings(config));
        if (flags.json) printJson(ctx, reviewed);
        else printLine(ctx, exceptionLine(reviewed));
      });
    });
}

function reviewSettings(config: JmlConfig): ExceptionReviewSettings {
  return { warnDays: config.exceptions.warn_days, reviewEveryDays: config.exceptions.review_every_days };
}

function exceptionLine(x: ExceptionInForce): string {
  return `${requestLine(x)}  (${x.daysLeft} days left; ${reviewState(x)})`;
}
