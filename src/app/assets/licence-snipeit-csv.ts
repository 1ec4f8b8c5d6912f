/**
 * Licences in Snipe-IT's licence import columns, both ways: `Item Name` (or
 * `Name`) is the licence's name, `Product Key` (or `Serial Number`) its key,
 * `Seats`, `Manufacturer`, `Expiration Date`, `Notes`. Which system and
 * entitlement a licence goes with, and who holds its seats, are jml's own and
 * are neither read nor written here. An import is all rows or none; a product
 * key is exported only when asked for.
 */
import type { Kysely } from 'kysely';
import { fromCsvCell, toCsv } from '../../domain/csv-text.ts';
import { JmlError } from '../../domain/errors.ts';
import type { Database } from '../../store/database.ts';
import { readCsvRows } from '../asset-register.ts';
import { licenceUse, saveLicenceIn, type LicenceInput } from './licence-seats.ts';

/** The columns jml writes, in Snipe-IT's names. */
export const SNIPEIT_LICENCE_COLUMNS = ['Item Name', 'Manufacturer', 'Product Key', 'Seats', 'Expiration Date', 'Notes'] as const;
type Column = (typeof SNIPEIT_LICENCE_COLUMNS)[number];
const ALIASES: Readonly<Record<string, Column>> = { name: 'Item Name', 'license name': 'Item Name', 'serial number': 'Product Key', serial: 'Product Key' };

/**
 * Imports licences from a Snipe-IT licence CSV: upserts by name; seats in use are never cut.
 * @example await importSnipeItLicences(db, csvText, { file: 'licenses.csv', actor: 'cli:alice', now })
 */
export async function importSnipeItLicences(db: Kysely<Database>, csv: string, options: { readonly file: string; readonly actor: string; readonly now: Date }): Promise<{ readonly saved: number }> {
  const { file } = options;
  const { header, rows } = readCsvRows(csv, file);
  const columns = header.map((h) => {
    const lower = h.trim().toLowerCase();
    return SNIPEIT_LICENCE_COLUMNS.find((c) => c.toLowerCase() === lower) ?? ALIASES[lower] ?? null;
  });
  for (const required of ['Item Name', 'Seats'] as const) if (!columns.includes(required)) throw new JmlError('invalid_input', `${file}:1: missing column ${required}`);
  const problems: string[] = [];
  const inputs: LicenceInput[] = [];
  const inUse = new Map((await licenceUse(db)).map((l) => [l.name, l.inUse]));
  const seen = new Set<string>();
  rows.forEach((cells, i) => {
    const line = i + 2;
    const cell = (column: Column) => {
      const at = columns.indexOf(column);
      return at < 0 ? undefined : fromCsvCell((cells[at] ?? '').trim());
    };
    const name = cell('Item Name') ?? '';
    const seats = cell('Seats') ?? '';
    const expires = cell('Expiration Date');
    const before = problems.length;
    if (name === '') problems.push(`${file}:${line}: column Item Name: is required`);
    else if (seen.has(name)) problems.push(`${file}:${line}: column Item Name: ${name} appears twice`);
    seen.add(name);
    if (!/^\d{1,7}$/.test(seats)) problems.push(`${file}:${line}: column Seats: must be a whole number, not "${seats}"`);
    else if (Number(seats) < (inUse.get(name) ?? 0)) problems.push(`${file}:${line}: column Seats: ${name} has ${inUse.get(name)} seats in use, more than ${seats}`);
    if (expires && !(/^\d{4}-\d{2}-\d{2}$/.test(expires) && new Date(`${expires}T00:00:00Z`).toISOString().startsWith(expires))) problems.push(`${file}:${line}: column Expiration Date: must be a date YYYY-MM-DD, not "${expires}"`);
    if (problems.length > before) return;
    const optional = (column: Column) => {
      const value = cell(column);
      return value === undefined ? undefined : value === '' ? null : value;
    };
    const manufacturer = optional('Manufacturer');
    const productKey = optional('Product Key');
    const notes = cell('Notes');
    inputs.push({
      name, seats: Number(seats),
      ...(manufacturer !== undefined ? { manufacturer } : {}),
      ...(productKey !== undefined ? { productKey } : {}),
      ...(expires !== undefined ? { expiresOn: expires === '' ? null : expires } : {}),
      ...(notes !== undefined ? { notes } : {}),
    });
  });
  if (problems.length) throw new JmlError('invalid_input', `${file}: ${problems.length} invalid row(s), nothing imported:\n${problems.join('\n')}`, { details: { problems } });
  // One transaction for all rows: a licence saved, then a failure, must not leave half a file.
  await db.transaction().execute(async (trx) => {
    for (const input of inputs) await saveLicenceIn(trx, input, options.actor, options.now);
  });
  return { saved: inputs.length };
}

/** Every licence as Snipe-IT licence CSV, by name; product keys only with `withProductKeys`. */
export async function exportSnipeItLicences(db: Kysely<Database>, options: { readonly withProductKeys?: boolean } = {}): Promise<string> {
  return toCsv(SNIPEIT_LICENCE_COLUMNS, (await licenceUse(db)).map((l) => ({
    'Item Name': l.name, Manufacturer: l.manufacturer, 'Product Key': options.withProductKeys ? l.productKey : null, Seats: l.seats, 'Expiration Date': l.expiresOn, Notes: l.notes,
  })));
}
