/**
 * Asset CSV in Snipe-IT's import columns, both ways, so an organisation can
 * move its register into jml or out of it. Headers are matched without regard
 * to case; columns jml does not know are ignored. `Username` is the holder's
 * identity key; `Item Name` is the description; `Category` is the kind.
 * Snipe-IT status labels are free text: the usual ones are mapped, and jml's
 * own status names are accepted as they are. Export writes every cell quoted,
 * with formula-leading text neutralised; import undoes that neutralising, so an
 * export imports back unchanged.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { JmlError } from '../../domain/errors.ts';
import type { Database } from '../../store/database.ts';
import { fromCsvCell, toCsv } from '../../domain/csv-text.ts';
import { ASSET_STATUSES, listAssets, readCsvRows, writeAssets, type AssetFields, type AssetImportResult, type AssetStatus } from '../asset-register.ts';

/** The columns jml writes, in Snipe-IT's names. */
export const SNIPEIT_COLUMNS = ['Asset Tag', 'Item Name', 'Category', 'Model Name', 'Manufacturer', 'Serial Number', 'Status', 'Location', 'Username', 'Purchase Date', 'Warranty Months', 'Next Audit Date', 'Notes'] as const;

const FIELD_OF: Readonly<Record<(typeof SNIPEIT_COLUMNS)[number], keyof AssetFields>> = {
  'Asset Tag': 'tag', 'Item Name': 'description', Category: 'kind', 'Model Name': 'model', Manufacturer: 'manufacturer', 'Serial Number': 'serial',
  Status: 'status', Location: 'location', Username: 'holder', 'Purchase Date': 'purchaseDate', 'Warranty Months': 'warrantyMonths', 'Next Audit Date': 'nextAuditAt', Notes: 'notes',
};
/** Headers Snipe-IT's own samples use for the same column. */
const ALIASES: Readonly<Record<string, (typeof SNIPEIT_COLUMNS)[number]>> = { serial: 'Serial Number', warranty: 'Warranty Months', 'model name': 'Model Name', name: 'Item Name' };

/** jml status → the label written; the reverse map also takes jml's names. */
const LABEL_OF: Readonly<Record<AssetStatus, string>> = { in_stock: 'Ready to Deploy', assigned: 'Deployed', in_repair: 'Out for Repair', lost: 'Lost', stolen: 'Stolen', retired: 'Archived', collected: 'Collected' };
const STATUS_OF: ReadonlyMap<string, AssetStatus> = new Map([
  ...Object.entries(LABEL_OF).map(([status, label]) => [label.toLowerCase(), status as AssetStatus] as const),
  ...ASSET_STATUSES.map((s) => [s, s] as const),
  ['pending', 'in_repair'], ['broken', 'in_repair'], ['lost/stolen', 'lost'], ['retired', 'retired'], ['undeployable', 'retired'],
]);

const text = z.string().transform((s) => (s === '' ? null : s));
/** Empty → null; otherwise a real calendar date written YYYY-MM-DD (2025-02-30 is refused). */
const isoDate = z.string().superRefine((s, ctx) => {
  if (s === '') return;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) ctx.addIssue({ code: 'custom', message: 'must be a date YYYY-MM-DD' });
  else if (new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) !== s) ctx.addIssue({ code: 'custom', message: 'is not a calendar date' });
}).transform((s) => (s === '' ? null : s));
const months = z.string().regex(/^\d{0,3}$/, 'must be a whole number of months').transform((s) => (s === '' ? null : Number(s)));
const rowSchema = z.object({
  tag: z.string().min(1, 'is required').max(64),
  description: z.string().optional(),
  kind: z.string().min(1, 'is required').optional(),
  model: text.optional(),
  manufacturer: text.optional(),
  serial: text.optional(),
  status: z.string().transform((s, ctx) => {
    const status = STATUS_OF.get(s.toLowerCase());
    if (!status) ctx.addIssue({ code: 'custom', message: `unknown status "${s}" (use ${Object.values(LABEL_OF).join(', ')})` });
    return status ?? 'in_stock';
  }).optional(),
  location: text.optional(),
  holder: text.optional(),
  purchaseDate: isoDate.optional(),
  warrantyMonths: months.optional(),
  nextAuditAt: isoDate.transform((d) => (d === null ? null : `${d}T00:00:00.000Z`)).optional(),
  notes: z.string().optional(),
});

/**
 * Imports a Snipe-IT asset CSV (all rows or none, every problem named by file, line and column).
 * @example
 * await importSnipeItAssets(store.db, csvText, { file: 'snipe-export.csv', actor: 'cli:alice' });
 */
export async function importSnipeItAssets(db: Kysely<Database>, csv: string, options: { readonly file: string; readonly actor: string; readonly now?: Date }): Promise<AssetImportResult> {
  const { file } = options;
  const { header, rows } = readCsvRows(csv, file);
  const columns = header.map((h) => {
    const lower = h.trim().toLowerCase();
    return SNIPEIT_COLUMNS.find((c) => c.toLowerCase() === lower) ?? ALIASES[lower] ?? null;
  });
  if (!columns.includes('Asset Tag')) throw new JmlError('invalid_input', `${file}:1: missing column Asset Tag`);
  const problems: string[] = [];
  const parsed: { line: number; fields: AssetFields }[] = [];
  rows.forEach((cells, i) => {
    const line = i + 2;
    const raw: Record<string, string> = {};
    columns.forEach((column, index) => {
      if (column) raw[FIELD_OF[column]] = fromCsvCell((cells[index] ?? '').trim());
    });
    const result = rowSchema.safeParse(raw);
    if (!result.success) {
      for (const issue of result.error.issues) problems.push(`${file}:${line}: column ${columnName(String(issue.path[0]))}: ${issue.message}`);
      return;
    }
    parsed.push({ line, fields: result.data as AssetFields });
  });
  const newWithoutCategory = parsed.filter((p) => p.fields.kind === undefined);
  if (newWithoutCategory.length) {
    const stored = new Set((await db.selectFrom('assets').select('tag').where('tag', 'in', newWithoutCategory.map((p) => p.fields.tag)).execute()).map((r) => r.tag));
    for (const p of newWithoutCategory) if (!stored.has(p.fields.tag)) problems.push(`${file}:${p.line}: column Category: a new asset needs a category`);
  }
  return writeAssets(db, parsed, problems, { file, actor: options.actor, now: options.now ?? new Date(), columnOf: columnName });
}

function columnName(field: string): string {
  return SNIPEIT_COLUMNS.find((c) => FIELD_OF[c] === field) ?? field;
}

/** The whole register as Snipe-IT CSV, ordered by tag. */
export async function exportSnipeItAssets(db: Kysely<Database>): Promise<string> {
  const assets = await listAssets(db);
  return toCsv(SNIPEIT_COLUMNS, assets.map((a) => ({
    'Asset Tag': a.tag, 'Item Name': a.description, Category: a.kind, 'Model Name': a.model, Manufacturer: a.manufacturer, 'Serial Number': a.serial,
    Status: LABEL_OF[a.status], Location: a.location, Username: a.holder, 'Purchase Date': a.purchaseDate, 'Warranty Months': a.warrantyMonths,
    'Next Audit Date': a.nextAuditAt?.slice(0, 10) ?? null, Notes: a.notes,
  })));
}
