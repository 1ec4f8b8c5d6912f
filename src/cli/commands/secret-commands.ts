/**
 * `jml secret set <system> <field>` stores a connector secret, read from
 * standard input (never from the command line, which other users can see in
 * the process list and shells keep in history); `jml secret list` shows what is
 * stored, without values.
 */
import type { Command } from 'commander';
import { createPlanner } from '../../app/compute-plan.ts';
import { secretHost } from '../../app/connectors-from-policy.ts';
import { keyringFromEnv, listSecrets, putSecret } from '../../connectors/secrets/index.ts';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { tableLines } from '../table-text.ts';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('enter the secret, then press Enter and Ctrl-D: ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline is how shells and `echo` end input; it is not part of the secret.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function registerSecretCommands(program: Command, ctx: CliContext): void {
  const secret = program.command('secret').description('connector secrets, encrypted under the master key (JML_MASTER_KEY or JML_MASTER_KEY_FILE)');
  secret
    .command('set')
    .description('store a secret for a system, read from standard input: printf %s "$TOKEN" | jml secret set github token')
    .argument('<system>', 'system name from policy')
    .argument('<field>', 'bind_password (ldap, ad) or token (scim)')
    .action(async (system: string, field: string) => {
      const keyring = keyringFromEnv();
      await ctx.withStore(async (store, config) => {
        const { policy } = await createPlanner({ db: store.db, config, actor: ctx.actor }).loadPolicy();
        const def = policy.systems.find((s) => s.name === system);
        if (!def) throw new JmlError('not_found', `no system ${system} in policy`, { details: { system } });
        const host = secretHost(def, field);
        const value = await readStdin();
        if (value === '') throw new JmlError('invalid_input', 'no secret on standard input');
        await store.db.transaction().execute(async (trx) => {
          await putSecret(trx, keyring, system, field, value, host);
          await appendAudit(trx, { actor: ctx.actor, action: 'connector_secret.set', subject: `system:${system}`, trigger: 'cli', details: { field, boundHost: host } });
        });
        printLine(ctx, `stored ${system}/${field}, bound to ${host}`);
      });
    });

  secret
    .command('list')
    .description('stored secrets: system, field, key id and bound host — never the values')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const secrets = await listSecrets(store.db);
        if (flags.json) return printJson(ctx, secrets);
        if (secrets.length === 0) return printLine(ctx, 'no secrets stored.');
        const lines = tableLines([
          { header: 'system', value: (s) => s.system },
          { header: 'field', value: (s) => s.field },
          { header: 'key id', value: (s) => s.keyId },
          { header: 'bound to', value: (s) => s.boundHost },
          { header: 'updated', value: (s) => s.updatedAt.toISOString() },
        ], secrets);
        for (const line of lines) printLine(ctx, line);
      });
    });
}
