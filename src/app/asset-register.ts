/**
 * The asset register: equipment in identities' custody (laptops, phones,
 * tokens). An import is all or nothing: every row is validated first, and one
 * bad row (with its file, line and column named) writes nothing. Rows upsert by
 * tag; every change is audited with before and after. A lost or stolen report
 * raises a finding and an alert whose detail asks for the holder's sessions to
 * be revoked (the plan picks that up from the finding; jml does not revoke here).
 */
import { parse } from 'csv-parse/sync';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { JmlError } from '../domain/errors.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { AssetsTable, Database } from '../store/database.ts';
import { raiseFinding, type AlertSink } from './alert.ts';

export const ASSET_COLUMNS = ['tag', 'serial', 'kind', 'description', 'holder', 'location', 'status'] as const;
const STATUSES = ['in_stock', 'assigned', 'lost', 'stolen', 'retired', 'collected'] as const;

export interface Asset {
  readonly tag: string;
  readonly serial: string | null;
  readonly kind: string;
  readonly description: string;
  readonly holder: string | null;
  readonly location: string | null;
  readonly status: AssetsTable['status'];
}

const optional = z.string().trim().transform((s) => (s === '' ? null : s));
const rowSchema = z
  .object({
    tag: z.string().trim().min(1, 'tag is required').max(64),
    serial: optional,
    kind: z.string().trim().min(1, 'kind is required'),
    description: z.string().trim(),
    holder: optional,
    location: optional,
    status: z.enum(STATUSES, { message: `status must be one of ${STATUSES.join(', ')}` }),
  })
  .refine((r) => r.status !== 'assigned' || r.holder !== null, { message: 'an assigned asset needs a holder', path: ['holder'] })
  .refine((r) => !['in_stock', 'retired', 'collected'].includes(r.status) || r.holder === null, { message: 'an asset in stock, retired or collected has no holder', path: ['holder'] });

export interface AssetImportResult {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
}

/**
 * Validates and upserts an asset CSV; throws `invalid_input` listing every bad row before writing anything.
 * @example
 * await importAssets(store.db, await readFile('assets.csv', 'utf8'), { file: 'assets.csv', actor: 'cli:alice' });
 */
export async function importAssets(db: Kysely<Database>, text: string, options: { readonly file: string; readonly actor: string; readonly now?: Date }): Promise<AssetImportResult> {
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true, trim: true, bom: true });
  } catch (cause) {
    throw new JmlError('invalid_input', `${options.file}: not valid CSV: ${(cause as Error).message}`, { cause });
  }
  const [header, ...rows] = records;
  if (!header || rows.length === 0) throw new JmlError('invalid_input', `${options.file}: no asset rows (an empty or header-only file is refused)`);
  const missing = ASSET_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length) throw new JmlError('invalid_input', `${options.file}:1: missing column(s) ${missing.join(', ')}`);
  const problems: string[] = [];
  const parsed: Asset[] = [];
  const seen = new Set<string>();
  rows.forEach((cells, i) => {
    const line = i + 2;
    const raw = Object.fromEntries(ASSET_COLUMNS.map((c) => [c, cells[header.indexOf(c)] ?? '']));
    const result = rowSchema.safeParse(raw);
    if (!result.success) {
      for (const issue of result.error.issues) problems.push(`${options.file}:${line}: column ${String(issue.path[0] ?? '?')}: ${issue.message}`);
      return;
    }
    if (seen.has(result.data.tag)) problems.push(`${options.file}:${line}: column tag: ${result.data.tag} appears twice`);
    seen.add(result.data.tag);
    parsed.push(result.data);
  });
  const holders = [...new Set(parsed.map((a) => a.holder).filter((h): h is string => h !== null))];
  if (holders.length) {
    const known = new Set((await db.selectFrom('identities').select('key').where('key', 'in', holders).execute()).map((r) => r.key));
    rows.forEach((cells, i) => {
      const holder = (cells[header.indexOf('holder')] ?? '').trim();
      if (holder && !known.has(holder)) problems.push(`${options.file}:${i + 2}: column holder: no identity ${holder}`);
    });
  }
  if (problems.length) throw new JmlError('invalid_input', `${options.file}: ${problems.length} invalid row(s), nothing imported:\n${problems.join('\n')}`, { details: { problems } });

  const at = options.now ?? new Date();
  return db.transaction().execute(async (trx) => {
    const before = new Map((await trx.selectFrom('assets').selectAll().where('tag', 'in', parsed.map((a) => a.tag)).forUpdate().execute()).map((r) => [r.tag, toAsset(r)]));
    let created = 0;
    let updated = 0;
    for (const asset of parsed) {
      const old = before.get(asset.tag);
      if (old && JSON.stringify(old) === JSON.stringify(asset)) continue;
      const row = { serial: asset.serial, kind: asset.kind, description: asset.description, holder_key: asset.holder, location: asset.location, status: asset.status, updated_at: at.toISOString() };
      await trx.insertInto('assets').values({ tag: asset.tag, ...row }).onConflict((oc) => oc.column('tag').doUpdateSet(row)).execute();
      await appendAudit(trx, { actor: options.actor, action: old ? 'asset.updated' : 'asset.registered', subject: `asset:${asset.tag}`, trigger: `import:${options.file}`, before: old ?? null, after: asset }, at);
      if (old) updated++;
      else created++;
    }
    return { created, updated, unchanged: parsed.length - created - updated };
  });
}

/** The register, by tag; with `holder`, only what that identity holds. */
export async function listAssets(db: Kysely<Database>, filter: { readonly holder?: string } = {}): Promise<Asset[]> {
  let query = db.selectFrom('assets').selectAll();
  if (filter.holder) query = query.where('holder_key', '=', filter.holder);
  return (await query.orderBy('tag').execute()).map(toAsset);
}

export interface AssetReport {
  readonly tag: string;
  readonly status: 'lost' | 'stolen';
  /** Identity key of who reports it. */
  readonly by: string;
  readonly note?: string;
}

/**
 * Records a lost or stolen asset (audited) and raises a `lost_asset` finding and alert asking for the holder's sessions to be revoked.
 * @example
 * await reportAsset(store.db, { tag: 'LAP-0001', status: 'stolen', by: 'E1001', note: 'taken from car' }, new Date());
 */
export async function reportAsset(db: Kysely<Database>, report: AssetReport, now: Date, alert?: AlertSink): Promise<Asset> {
  const reporter = await db.selectFrom('identities').select('key').where('key', '=', report.by).executeTakeFirst();
  if (!reporter) throw new JmlError('invalid_input', `--by ${report.by}: no such identity`);
  const asset = await db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('assets').selectAll().where('tag', '=', report.tag).forUpdate().executeTakeFirst();
    if (!row) throw new JmlError('not_found', `no asset ${report.tag}`, { details: { tag: report.tag } });
    const before = toAsset(row);
    if (before.status === report.status) return before;
    await trx.updateTable('assets').set({ status: report.status, updated_at: now.toISOString() }).where('tag', '=', report.tag).execute();
    const after = { ...before, status: report.status };
    await appendAudit(trx, { actor: report.by, action: `asset.reported_${report.status}`, subject: `asset:${report.tag}`, trigger: 'report', before, after, details: report.note ? { note: report.note } : {} }, now);
    return after;
  });
  const holder = asset.holder;
  await raiseFinding(
    db,
    {
      kind: 'lost_asset',
      subject: `asset:${asset.tag}`,
      identityKey: holder,
      detail: `${asset.kind} ${asset.tag} reported ${report.status} by ${report.by}${report.note ? ` (${report.note})` : ''}${holder ? `: revoke the sessions of ${holder}` : ''}`,
    },
    now,
    alert,
  );
  return asset;
}

function toAsset(r: { tag: string; serial: string | null; kind: string; description: string; holder_key: string | null; location: string | null; status: AssetsTable['status'] }): Asset {
  return { tag: r.tag, serial: r.serial, kind: r.kind, description: r.description, holder: r.holder_key, location: r.location, status: r.status };
}
