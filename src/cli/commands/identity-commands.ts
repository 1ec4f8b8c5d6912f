import type { Command } from 'commander';
import { JmlError } from '../../domain/errors.ts';
import { displayName, IDENTITY_KINDS, IDENTITY_STATUSES, type IdentityKind, type IdentityStatus } from '../../domain/identity.ts';
import { findIdentity, listEvents, listIdentities, timelineOf } from '../../store/identity-store.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { limitedList, tableLines, truncationNote } from '../table-text.ts';

export function registerIdentityCommands(program: Command, ctx: CliContext): void {
  program
    .command('identities')
    .description('list identities')
    .option('--status <status>', `only this status (${IDENTITY_STATUSES.join(', ')})`)
    .option('--kind <kind>', `only this kind (${IDENTITY_KINDS.join(', ')})`)
    .option('--source <source>', 'only identities this source is authoritative for')
    .option('--search <text>', 'key, name or email contains')
    .option('--limit <n>', 'at most this many', '1000')
    .option('--json', 'print JSON: { identities, truncated, limit }; truncated is true when more matched than --limit')
    .action(async (flags: { status?: string; kind?: string; source?: string; search?: string; limit: string; json?: boolean }) => {
      if (flags.status && !(IDENTITY_STATUSES as readonly string[]).includes(flags.status)) throw new JmlError('invalid_input', `--status must be one of ${IDENTITY_STATUSES.join(', ')}`);
      if (flags.kind && !(IDENTITY_KINDS as readonly string[]).includes(flags.kind)) throw new JmlError('invalid_input', `--kind must be one of ${IDENTITY_KINDS.join(', ')}`);
      const limit = Number.parseInt(flags.limit, 10);
      if (!Number.isInteger(limit) || limit < 1) throw new JmlError('invalid_input', '--limit must be a positive integer');
      const list = limitedList(await ctx.withStore((store) =>
        listIdentities(store.db, { status: flags.status as IdentityStatus | undefined, kind: flags.kind as IdentityKind | undefined, source: flags.source, search: flags.search, limit: limit + 1 }),
      ), limit);
      if (flags.json) return printJson(ctx, { identities: list.items, truncated: list.truncated, limit });
      if (list.items.length > 0) {
        const lines = tableLines([
          { header: 'key', value: (i) => i.key },
          { header: 'status', value: (i) => i.status },
          { header: 'kind', value: (i) => i.kind },
          { header: 'name', value: (i) => displayName(i) },
          { header: 'department', value: (i) => String(i.attributes.department ?? '') },
        ], list.items);
        for (const line of lines) printLine(ctx, line);
      }
      printLine(ctx, truncationNote(list, 'identities') ?? `${list.items.length} identit${list.items.length === 1 ? 'y' : 'ies'}`);
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
    .option('--json', 'print JSON: { events, truncated, limit }; truncated is true when more matched than --limit')
    .action(async (flags: { identity?: string; source?: string; limit: string; json?: boolean }) => {
      const limit = Number.parseInt(flags.limit, 10);
      if (!Number.isInteger(limit) || limit < 1) throw new JmlError('invalid_input', '--limit must be a positive integer');
      const events = limitedList(await ctx.withStore((store) => listEvents(store.db, { identityKey: flags.identity, source: flags.source, limit: limit + 1 })), limit);
      if (flags.json) return printJson(ctx, { events: events.items, truncated: events.truncated, limit });
      if (events.items.length === 0) return printLine(ctx, 'no events.');
      const lines = tableLines([
        { header: 'effective', value: (e) => e.effectiveDate },
        { header: 'type', value: (e) => e.type },
        { header: 'identity', value: (e) => e.identityKey },
        { header: 'state', value: (e) => e.state },
        { header: 'source', value: (e) => e.source },
        { header: 'changed', value: (e) => Object.keys(e.changes).join(', ') },
      ], events.items);
      for (const line of lines) printLine(ctx, line);
      const note = truncationNote(events, 'events');
      if (note) printLine(ctx, note);
    });
}
