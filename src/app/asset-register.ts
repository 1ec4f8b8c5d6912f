/**
 * The asset register: equipment in identities' custody (laptops, phones,
 * tokens). An import is all or nothing: every row is validated first, and one
 * bad row (with its file, line and column named) writes nothing. Rows upsert by
 * tag; every change is audited with before and after. A lost or stolen report
 * raises a finding and an alert whose detail asks for the holder's sessions to
 * be revoked (the plan picks that up from the finding; jml does not revoke here).
 */
import { parse } from 'csv-parse/sync';
import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import { JmlError } from '../domain/errors.ts';
import { appendAudit } from '../store/audit-log.ts';
import { containing } from '../store/like-pattern.ts';
import type { AssetsTable, Database } from '../store/database.ts';
import { raiseFinding, type AlertSink, type FindingInput } from './alert.ts';

export const ASSET_COLUMNS = ['tag', 'serial', 'kind', 'description', 'holder', 'location', 'status'] as const;
export const ASSET_STATUSES = ['in_stock', 'assigned', 'in_repair', 'lost', 'stolen', 'retired', 'collected'] as const;
export type AssetStatus = (typeof ASSET_STATUSES)[number];

/** An asset; `kind` is its category (laptop, phone, security_key …). */
export interface Asset {
  readonly tag: string;
  readonly serial: string | null;
  readonly kind: string;
  readonly description: string;
  readonly holder: string | null;
  readonly location: string | null;
  readonly status: AssetStatus;
  readonly model: string | null;
  readonly manufacturer: string | null;
  /** YYYY-MM-DD. */
  readonly purchaseDate: string | null;
  readonly warrantyMonths: number | null;
  readonly notes: string;
  /** When the holder accepted it; null while a check-out waits for the holder (or nobody holds it). */
  readonly acceptedAt: string | null;
  readonly lastAuditedAt: string | null;
  readonly nextAuditAt: string | null;
}

/** What an import may set: the tag, and any field its format carries (the others keep their stored value). */
export type AssetFields = Pick<Asset, 'tag'> & Partial<Omit<Asset, 'tag' | 'acceptedAt' | 'lastAuditedAt'>>;

const optional = z.string().trim().transform((s) => (s === '' ? null : s));
const rowSchema = z.object({
  tag: z.string().trim().min(1, 'tag is required').max(64),
  serial: optional,
  kind: z.string().trim().min(1, 'kind is required'),
  description: z.string().trim(),
  holder: optional,
  location: optional,
  status: z.enum(ASSET_STATUSES, { message: `status must be one of ${ASSET_STATUSES.join(', ')}` }),
});

/** The holder rule every write obeys; returns the problem, or null. */
export function holderProblem(status: AssetStatus, holder: string | null): string | null {
  if (status === 'assigned' && holder === null) return 'an assigned asset needs a holder';
  if ((status === 'in_stock' || status === 'retired' || status === 'collected') && holder !== null) return 'an asset in stock, retired or collected has no holder';
  return null;
}

export interface AssetImportResult {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
}

/** Parses CSV text into header and rows; an empty or header-only file is refused. */
export function readCsvRows(text: string, file: string): { readonly header: readonly string[]; readonly rows: readonly string[][] } {
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true, trim: true, bom: true, relax_column_count: true });
  } catch (cause) {
    throw new JmlError('invalid_input', `${file}: not valid CSV: ${(cause as Error).message}`, { cause });
  }
  const [header, ...rows] = records;
  if (!header || rows.length === 0) throw new JmlError('invalid_input', `${file}: no asset rows (an empty or header-only file is refused)`);
  return { header, rows };
}

/**
 * Validates and upserts an asset CSV in jml's own columns; throws `invalid_input` listing every bad row before writing anything.
 * @example
 * await importAssets(store.db, await readFile('assets.csv', 'utf8'), { file: 'assets.csv', actor: 'cli:alice' });
 */
export async function importAssets(db: Kysely<Database>, text: string, options: { readonly file: string; readonly actor: string; readonly now?: Date }): Promise<AssetImportResult> {
  const { header, rows } = readCsvRows(text, options.file);
  const missing = ASSET_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length) throw new JmlError('invalid_input', `${options.file}:1: missing column(s) ${missing.join(', ')}`);
  const problems: string[] = [];
  const parsed: { line: number; fields: AssetFields }[] = [];
  rows.forEach((cells, i) => {
    const line = i + 2;
    const raw = Object.fromEntries(ASSET_COLUMNS.map((c) => [c, cells[header.indexOf(c)] ?? '']));
    const result = rowSchema.safeParse(raw);
    if (!result.success) {
      for (const issue of result.error.issues) problems.push(`${options.file}:${line}: column ${String(issue.path[0] ?? '?')}: ${issue.message}`);
      return;
    }
    parsed.push({ line, fields: result.data });
  });
  return writeAssets(db, parsed, problems, { file: options.file, actor: options.actor, now: options.now ?? new Date(), columnOf: (f) => f });
}

/**
 * The one write path of every asset import: checks duplicates, the holder rule
 * and that holders exist, then (only if nothing is wrong) upserts by tag in one
 * transaction, merging each row over the stored asset and auditing each change.
 * A changed holder clears the acceptance.
 */
export async function writeAssets(
  db: Kysely<Database>,
  parsed: readonly { readonly line: number; readonly fields: AssetFields }[],
  problems: string[],
  options: { readonly file: string; readonly actor: string; readonly now: Date; readonly columnOf: (field: string) => string },
): Promise<AssetImportResult> {
  const { file, columnOf } = options;
  const seen = new Set<string>();
  for (const { line, fields } of parsed) {
    if (seen.has(fields.tag)) problems.push(`${file}:${line}: column ${columnOf('tag')}: ${fields.tag} appears twice`);
    seen.add(fields.tag);
  }
  const holders = [...new Set(parsed.map((p) => p.fields.holder).filter((h): h is string => typeof h === 'string'))];
  const known = new Set(holders.length ? (await db.selectFrom('identities').select('key').where('key', 'in', holders).execute()).map((r) => r.key) : []);
  for (const { line, fields } of parsed) if (fields.holder && !known.has(fields.holder)) problems.push(`${file}:${line}: column ${columnOf('holder')}: no identity ${fields.holder}`);
  const stored = new Map(parsed.length ? (await db.selectFrom('assets').selectAll().where('tag', 'in', parsed.map((p) => p.fields.tag)).execute()).map((r) => [r.tag, toAsset(r)]) : []);
  for (const { line, fields } of parsed) {
    const merged = mergeAsset(stored.get(fields.tag), fields);
    const problem = holderProblem(merged.status, merged.holder);
    if (problem) problems.push(`${file}:${line}: column ${columnOf('holder')}: ${problem}`);
  }
  if (problems.length) throw new JmlError('invalid_input', `${file}: ${problems.length} invalid row(s), nothing imported:\n${problems.join('\n')}`, { details: { problems } });

  const at = options.now;
  return db.transaction().execute(async (trx) => {
    const before = new Map((await trx.selectFrom('assets').selectAll().where('tag', 'in', parsed.map((p) => p.fields.tag)).forUpdate().execute()).map((r) => [r.tag, toAsset(r)]));
    let created = 0;
    let updated = 0;
    for (const { fields } of parsed) {
      const old = before.get(fields.tag);
      const asset = mergeAsset(old, fields);
      if (old && JSON.stringify(old) === JSON.stringify(asset)) continue;
      const row = {
        serial: asset.serial, kind: asset.kind, description: asset.description, holder_key: asset.holder, location: asset.location, status: asset.status,
        model: asset.model, manufacturer: asset.manufacturer, purchase_date: asset.purchaseDate, warranty_months: asset.warrantyMonths, notes: asset.notes,
        accepted_at: asset.acceptedAt, next_audit_at: asset.nextAuditAt, updated_at: at.toISOString(),
      };
      await trx.insertInto('assets').values({ tag: asset.tag, ...row }).onConflict((oc) => oc.column('tag').doUpdateSet(row)).execute();
      await appendAudit(trx, { actor: options.actor, action: old ? 'asset.updated' : 'asset.registered', subject: `asset:${asset.tag}`, trigger: `import:${file}`, before: old ?? null, after: asset }, at);
      if (old) updated++;
      else created++;
    }
    return { created, updated, unchanged: parsed.length - created - updated };
  });
}

function mergeAsset(old: Asset | undefined, fields: AssetFields): Asset {
  const base: Asset = old ?? {
    tag: fields.tag, serial: null, kind: '', description: '', holder: null, location: null, status: 'in_stock',
    model: null, manufacturer: null, purchaseDate: null, warrantyMonths: null, notes: '', acceptedAt: null, lastAuditedAt: null, nextAuditAt: null,
  };
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as AssetFields;
  const merged = { ...base, ...defined };
  // A file carries the next audit as a day: the same day as stored keeps the stored instant (a round trip changes nothing).
  if (merged.nextAuditAt !== null && base.nextAuditAt !== null && merged.nextAuditAt.slice(0, 10) === base.nextAuditAt.slice(0, 10)) merged.nextAuditAt = base.nextAuditAt;
  return merged.holder === base.holder ? merged : { ...merged, acceptedAt: null };
}

export interface AssetFilter {
  readonly tag?: string;
  readonly holder?: string;
  readonly status?: AssetStatus;
  readonly kind?: string;
  readonly location?: string;
  /** A text found in the tag, serial, model or description (case-insensitive). */
  readonly q?: string;
}

/** The register, by tag, filtered. */
export async function listAssets(db: Kysely<Database>, filter: AssetFilter = {}): Promise<Asset[]> {
  let query = db.selectFrom('assets').selectAll();
  if (filter.tag) query = query.where('tag', '=', filter.tag);
  if (filter.holder) query = query.where('holder_key', '=', filter.holder);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  if (filter.location) query = query.where('location', '=', filter.location);
  if (filter.q) {
    const pattern = containing(filter.q);
    query = query.where((eb) => eb.or(['tag', 'serial', 'model', 'description'].map((c) => eb(c as 'tag', 'ilike', pattern))));
  }
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
export async function reportAsset(db: Kysely<Database>, report: AssetReport, now: Date, alert?: AlertSink, severity?: FindingInput['severity']): Promise<Asset> {
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
  const left = holder ? (await db.selectFrom('identities').select('status').where('key', '=', holder).executeTakeFirst())?.status === 'left' : false;
  await raiseFinding(
    db,
    {
      kind: 'lost_asset',
      subject: `asset:${asset.tag}`,
      identityKey: holder,
      ...(severity ? { severity } : {}),
      detail: `${asset.kind} ${asset.tag}${left ? ` of leaver ${holder}` : ''} reported ${report.status} by ${report.by}${report.note ? ` (${report.note})` : ''}${holder ? `: revoke the sessions of ${holder}` : ''}`,
    },
    now,
    alert,
  );
  return asset;
}

/** A stored row as an Asset. */
export function toAsset(r: Selectable<AssetsTable>): Asset {
  return {
    tag: r.tag, serial: r.serial, kind: r.kind, description: r.description, holder: r.holder_key, location: r.location, status: r.status,
    model: r.model, manufacturer: r.manufacturer, purchaseDate: r.purchase_date, warrantyMonths: r.warranty_months, notes: r.notes,
    acceptedAt: r.accepted_at?.toISOString() ?? null, lastAuditedAt: r.last_audited_at?.toISOString() ?? null, nextAuditAt: r.next_audit_at?.toISOString() ?? null,
  };
}
