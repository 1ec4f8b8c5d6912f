import type { Command } from 'commander';
import { JmlError } from '../../domain/errors.ts';
import { displayName, IDENTITY_KINDS, IDENTITY_STATUSES, type IdentityKind, type IdentityStatus } from '../../domain/identity.ts';
import { findIdentity, listEvents, listIdentities, timelineOf } from '../../store/identity-store.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';

export function registerIdentityCommands(program: Command, ctx: CliContext): void {
  program
    .command('identities')
    .description('list identities')
    .option('--status <status>', `only this status (${IDENTITY_STATUSES.join(', ')})`)
    .option('--kind <kind>', `only this kind (${IDENTITY_KINDS.join(', ')})`)
    .option('--source <source>', 'only identities this source is authoritative for')
    .option('--search <text>', 'key, name or email contains')
    .option('--limit <n>', 'at most this many', '1000')
    .option('--json', 'print JSON')
    .action(async (flags: { status?: string; kind?: string; source?: string; search?: string; limit: string; json?: boolean }) => {
      if (flags.status && !(IDENTITY_STATUSES as readonly string[]).includes(flags.status)) throw new JmlError('invalid_input', `--status must be one of ${IDENTITY_STATUSES.join(', ')}`);
      if (flags.kind && !(IDENTITY_KINDS as readonly string[]).includes(flags.kind)) throw new JmlError('invalid_input', `--kind must be one of ${IDENTITY_KINDS.join(', ')}`);
      const limit = Number.parseInt(flags.limit, 10);
      if (!Number.isInteger(limit) || limit < 1) throw new JmlError('invalid_input', '--limit must be a positive integer');
      const list = await ctx.withStore((store) =>
        listIdentities(store.db, { status: flags.status as IdentityStatus | undefined, kind: flags.kind as IdentityKind | undefined, source: flags.source, search: flags.search, limit }),
      );
      if (flags.json) return printJson(ctx, { identities: list });
      for (const i of list) {
        printLine(ctx, `${i.key.padEnd(12)} ${i.status.padEnd(9)} ${i.kind.padEnd(16)} ${displayName(i).padEnd(28)} ${i.attributes.department ?? ''}`);
      }
      printLine(ctx, `${list.length} identit${list.length === 1 ? 'y' : 'ies'}`);
    });

  program
    .command('identity')
    .description("show one identity: attributes, status and timeline")
    .argument('<key>', 'identity key or any source record key linked to it')
    .option('--json', 'print JSON')
    .action(async (key: string, flags: { json?: boolean }) => {
      const found = await ctx.withStore(async (store) => {
        const identity = await findIdentity(store.db, key);
        if (!identity) throw new JmlError('not_found', `no identity with key ${key}`);
        const [timeline, records, credentials] = await Promise.all([
          timelineOf(store.db, identity.key),
          store.db.selectFrom('source_records').select(['source', 'record_key', 'present']).where('identity_key', '=', identity.key).execute(),
          store.db.selectFrom('credentials').selectAll().where('identity_key', '=', identity.key).execute(),
        ]);
        return { identity, timeline, records, credentials };
      });
      if (flags.json) return printJson(ctx, found);
      const { identity: i } = found;
      printLine(ctx, `${i.key}  ${displayName(i)}  (${i.kind}, ${i.status})`);
      printLine(ctx, `  source ${i.source}; linked records: ${found.records.map((r) => `${r.source}:${r.record_key}${r.present ? '' : ' (gone)'}`).join(', ')}`);
      printLine(ctx, `  start ${i.startDate ?? '—'}  end ${i.endDate ?? '—'}${i.owner ? `  owner ${i.owner}` : ''}${i.sponsor ? `  sponsor ${i.sponsor}` : ''}`);
      for (const [k, v] of Object.entries(i.attributes)) printLine(ctx, `  ${k.padEnd(16)} ${v ?? ''}`);
      if (found.credentials.length > 0) {
        printLine(ctx, 'credentials:');
        for (const c of found.credentials) printLine(ctx, `  ${c.system}/${c.name} ${c.kind} created ${c.created_at.slice(0, 10)} rotated ${c.last_rotated_at?.slice(0, 10) ?? '—'} expires ${c.expires_at?.slice(0, 10) ?? '—'} ${c.status}`);
      }
      printLine(ctx, 'timeline:');
      for (const e of found.timeline) {
        const changes = Object.entries(e.changes).filter(([f]) => e.type !== 'joiner' || f === 'status').map(([f, [a, b]]) => `${f}: ${a ?? '∅'} → ${b ?? '∅'}`).join(', ');
        printLine(ctx, `  ${e.effectiveDate} ${e.type.padEnd(7)} ${e.state.padEnd(10)} ${changes}`);
      }
    });

  program
    .command('events')
    .description('list lifecycle events, newest first')
    .option('--identity <key>', 'only this identity')
    .option('--source <source>', 'only this source')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print JSON')
    .action(async (flags: { identity?: string; source?: string; limit: string; json?: boolean }) => {
      const events = await ctx.withStore((store) => listEvents(store.db, { identityKey: flags.identity, source: flags.source, limit: Number.parseInt(flags.limit, 10) || 100 }));
      if (flags.json) return printJson(ctx, { events });
      for (const e of events) {
        printLine(ctx, `${e.effectiveDate} ${e.type.padEnd(7)} ${e.identityKey.padEnd(12)} ${e.state.padEnd(10)} ${e.source} ${Object.keys(e.changes).join(', ')}`);
      }
    });
}
