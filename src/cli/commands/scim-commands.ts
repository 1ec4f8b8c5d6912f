/**
 * `jml scim token create|rotate|revoke|list --source S`: bearer tokens of the
 * systems that push to an inbound (`scim`) source; a secret is printed once.
 * `jml scim release <import-id>`: releases a push the mass-change guard held.
 */
import type { Command } from 'commander';
import { heldPushInput, pushUsers } from '../../app/inbound/scim-push.ts';
import { createScimToken, listScimTokens, revokeScimToken, rotateScimToken, type ScimScope, type ScimTokenInfo } from '../../app/inbound/scim-tokens.ts';
import { followUpImport } from '../../app/replan-follow-up.ts';
import { JmlError } from '../../domain/errors.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { followUpLine, runFollowUp } from '../replan-follow-up.ts';
import { tableLines } from '../table-text.ts';

function scopesOf(scope: string): ScimScope[] {
  if (scope === 'write') return ['scim:write'];
  if (scope === 'read') return ['scim:read'];
  throw new JmlError('invalid_input', `--scope must be write or read, not "${scope}"`);
}

function printSecret(ctx: CliContext, secret: string, token: ScimTokenInfo, json: boolean | undefined): void {
  if (json) return printJson(ctx, { secret, token });
  printLine(ctx, `token ${token.name} (${token.id}) for source ${token.source}, ${token.scopes.join(', ')}${token.expiresAt ? `, expires ${token.expiresAt}` : ''}`);
  printLine(ctx, 'the secret is shown this once; give it to the client as its bearer token:');
  printLine(ctx, secret);
}

export function registerScimCommands(program: Command, ctx: CliContext): void {
  const scim = program.command('scim').description('inbound SCIM: tokens of the systems that push to a scim source, and release of held pushes');
  const token = scim.command('token').description('bearer tokens of a scim source (stored hashed; the secret is printed once)');
  token
    .command('create')
    .description('issue a token for a client of a scim source')
    .requiredOption('--source <source>', 'the scim source its pushes land in')
    .requiredOption('--name <name>', 'who holds it (entra, okta, workday); the audit trail names it')
    .option('--scope <scope>', 'write (push and read back) or read', 'write')
    .option('--expires-days <days>', 'days until it stops working (default: never)', (v) => Number.parseInt(v, 10))
    .option('--json', 'print JSON')
    .action(async (flags: { source: string; name: string; scope: string; expiresDays?: number; json?: boolean }) => {
      if (flags.expiresDays !== undefined && !(flags.expiresDays > 0)) throw new JmlError('invalid_input', '--expires-days must be a positive number of days');
      const now = new Date();
      const expiresAt = flags.expiresDays ? new Date(now.getTime() + flags.expiresDays * 86_400_000) : null;
      const { secret, token: info } = await ctx.withStore((store, config) => createScimToken(store.db, config, { source: flags.source, name: flags.name, scopes: scopesOf(flags.scope), expiresAt, actor: ctx.actor, now }));
      printSecret(ctx, secret, info, flags.json);
    });
  token
    .command('rotate')
    .description('replace a token\'s secret (same name, scope and expiry); the old secret stops working at once')
    .requiredOption('--source <source>', 'the scim source')
    .requiredOption('--name <name>', 'the token\'s name (or id)')
    .option('--json', 'print JSON')
    .action(async (flags: { source: string; name: string; json?: boolean }) => {
      const { secret, token: info } = await ctx.withStore((store) => rotateScimToken(store.db, flags.source, flags.name, ctx.actor, new Date()));
      printSecret(ctx, secret, info, flags.json);
    });
  token
    .command('revoke')
    .description('revoke a token: its next request is refused')
    .requiredOption('--source <source>', 'the scim source')
    .requiredOption('--name <name>', 'the token\'s name (or id)')
    .option('--json', 'print JSON')
    .action(async (flags: { source: string; name: string; json?: boolean }) => {
      const info = await ctx.withStore((store) => revokeScimToken(store.db, flags.source, flags.name, ctx.actor, new Date()));
      if (flags.json) printJson(ctx, info);
      else printLine(ctx, `revoked token ${info.name} (${info.id}) of source ${info.source}`);
    });
  token
    .command('list')
    .description('the tokens of a scim source, without secrets')
    .requiredOption('--source <source>', 'the scim source')
    .option('--json', 'print JSON')
    .action(async (flags: { source: string; json?: boolean }) => {
      const tokens = await ctx.withStore((store) => listScimTokens(store.db, flags.source));
      if (flags.json) return printJson(ctx, tokens);
      if (tokens.length === 0) return printLine(ctx, `source ${flags.source} has no tokens`);
      const columns = [
        { header: 'name', value: (t: ScimTokenInfo) => t.name },
        { header: 'id', value: (t: ScimTokenInfo) => t.id },
        { header: 'scopes', value: (t: ScimTokenInfo) => t.scopes.join(',') },
        { header: 'created', value: (t: ScimTokenInfo) => t.createdAt },
        { header: 'expires', value: (t: ScimTokenInfo) => t.expiresAt ?? '-' },
        { header: 'last used', value: (t: ScimTokenInfo) => t.lastUsedAt ?? '-' },
        { header: 'state', value: (t: ScimTokenInfo) => (t.revoked ? 'revoked' : 'live') },
      ];
      for (const line of tableLines(columns, tokens)) printLine(ctx, line);
    });
  scim
    .command('release')
    .description('release a push the mass-change guard held: it is applied now, against the current state (audited)')
    .argument('<import-id>', 'the held push, as the imports list and the client\'s error name it')
    .option('--json', 'print JSON')
    .action(async (importId: string, flags: { json?: boolean }) => {
      const { result, followUp } = await ctx.withStore(async (store, config) => {
        const now = new Date();
        const claimed = await store.db
          .updateTable('held_import_files')
          .set({ released_by: ctx.actor, released_at: now.toISOString() })
          .where('import_id', '=', importId)
          .where('released_at', 'is', null)
          .returning(['source', 'content'])
          .executeTakeFirst();
        if (!claimed) throw new JmlError('not_found', `no held push ${importId} waiting for release`);
        const result = await pushUsers({ db: store.db, config }, heldPushInput(claimed.source, claimed.content, ctx.actor, now));
        const followUp = result.status === 'applied' ? await runFollowUp(ctx, store, config, (deps) => followUpImport(deps, result), flags.json) : null;
        return { result, followUp };
      });
      if (flags.json) return printJson(ctx, { ...result, followUp });
      printLine(ctx, `released ${importId} as ${result.importId}: ${result.counts.joiners} joiner(s), ${result.counts.movers} mover(s), ${result.counts.leavers} leaver(s), ${result.counts.rehires} rehire(s)`);
      const line = followUpLine(followUp);
      if (line) printLine(ctx, line);
    });
}
