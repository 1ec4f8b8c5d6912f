/**
 * `jml source suggest <file>`: drafts a source configuration from a file's
 * header row and first rows — encoding, delimiter, header rows, a column for
 * each canonical field it recognises, date formats that read every sample
 * value, and how managers are referenced. A draft to check, never applied by
 * itself: where the data cannot decide (01/02/2024 reads under two formats, a
 * status `0`), it says so in a comment instead of guessing. Pure.
 */
import { decodeSourceBytes, parseCsvTable } from './csv-reader.ts';
import { parseCalendarDate } from './date-format.ts';
import { DEFAULT_STATUS_MAP, normaliseMapKey, type SourceEncoding, type SourceType } from './source-config.ts';
import type { SourceTable } from './source-table.ts';

/** Header names seen in exports, per canonical field, compared without case, spaces or punctuation. */
const FIELD_HEADERS: readonly (readonly [field: string, headers: readonly string[]])[] = [
  ['key', ['employee_id', 'employeeid', 'employee #', 'employee number', 'worker id', 'workerid', 'userid', 'user id', 'personalnummer', 'id', 'person id', 'associate id', 'contractor_id', 'contractor id', 'external id', 'employee_number']],
  ['first_name', ['first_name', 'first name', 'firstname', 'legal first name', 'given name', 'givenname', 'vorname', 'preferred first name']],
  ['last_name', ['last_name', 'last name', 'lastname', 'legal last name', 'surname', 'family name', 'nachname']],
  ['display_name', ['display name', 'displayname', 'full name', 'fullname', 'name', 'preferred name']],
  ['email', ['email', 'work email', 'primary work email', 'business email', 'e-mail', 'mail', 'login', 'email address', 'work email address']],
  ['department', ['department', 'abteilung', 'supervisory organization', 'team', 'org unit']],
  ['title', ['title', 'job title', 'business title', 'position', 'jobtitle', 'job']],
  ['location', ['location', 'work location', 'office', 'standort', 'site']],
  ['manager', ['manager', 'manager_id', 'manager id', 'managerid', 'manager email', 'reports to', 'reporting to', 'supervisor', 'vorgesetzter', 'line manager', 'manager name']],
  ['employment_type', ['employment_type', 'employment type', 'employment status', 'worker type', 'workertype', 'worker_type', 'contract type', 'beschäftigungsart', 'employee type']],
  ['start_date', ['start_date', 'start date', 'hire date', 'hiredate', 'original hire date', 'eintrittsdatum', 'eintritt', 'date of joining', 'contract start date']],
  ['end_date', ['end_date', 'end date', 'termination date', 'leave date', 'leavedate', 'austrittsdatum', 'austritt', 'contract end', 'contract end date', 'contract_end']],
  ['last_day_worked', ['last day worked', 'last day of work', 'last working day', 'last_day_worked']],
  ['status', ['status', 'active status', 'employee status', 'workerstatus', 'worker status', 'employment status']],
  ['company', ['company', 'vendor', 'supplier', 'agency', 'legal entity']],
];

/** Systems recognised by headers only they write together. */
const VENDOR_SIGNATURES: readonly (readonly [name: string, folder: string, headers: readonly string[]])[] = [
  ['Workday', 'workday', ['employee_id', 'worker_type']],
  ['BambooHR', 'bamboohr', ['employee #', 'reporting to']],
  ['Personio', 'personio', ['vorname', 'nachname']],
  ['SAP SuccessFactors user data file', 'successfactors-udf', ['status', 'userid', 'manager', 'hr', 'hiredate']],
  ['SAP SuccessFactors Employee Central', 'successfactors-ec', ['user-id', 'emplstatus']],
  ['Microsoft Entra inbound provisioning', 'entra-inbound', ['workerid', 'workerstatus']],
  ['Okta', 'okta', ['login', 'firstname', 'lastname']],
  ['HiBob', 'hibob', ['lifecycle status', 'reports to']],
  ['Rippling', 'rippling', ['role state', 'work email']],
  ['Deel', 'deel', ['hiring type', 'direct manager']],
  ['ADP Workforce Now', 'adp-workforce-now', ['associate id', 'position status']],
];

const DATE_FORMATS = ['iso', 'MM/DD/YYYY', 'DD/MM/YYYY', 'DD.MM.YYYY', 'YYYY/MM/DD', 'DD-MM-YYYY', 'MM-DD-YYYY', 'YYYY-MM-DDTHH:mm:ssZ'];
const DATE_FIELDS = new Set(['start_date', 'end_date', 'last_day_worked']);

const squash = (header: string): string => header.toLowerCase().replace(/[\s_\-.:/]+/g, '');

function detectEncoding(bytes: Uint8Array): SourceEncoding {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  return 'error' in decodeSourceBytes(bytes, 'utf-8') ? 'windows-1252' : 'utf-8';
}

function detectDelimiter(firstLine: string): string {
  const counts = [',', ';', '\t', '|'].map((d) => [d, firstLine.split(d).length - 1] as const);
  return counts.sort((a, b) => b[1] - a[1])[0]?.[0] ?? ',';
}

/** A YAML scalar: plain when safe, else double-quoted (JSON strings are valid YAML). */
function q(text: string): string {
  return /^[A-Za-z_][A-Za-z0-9_ #()]*$/.test(text) && !text.includes(' #') ? text : JSON.stringify(text);
}

function sampleValues(table: SourceTable, column: string): string[] {
  return table.rows.slice(0, 200).map((r) => r.values[column]?.trim() ?? '').filter(Boolean);
}

function dateLine(values: readonly string[]): { format: string | null; note: string | null } {
  if (values.length === 0) return { format: 'iso', note: 'no values to check the format against' };
  const fits = DATE_FORMATS.filter((f) => values.every((v) => parseCalendarDate(v, f, 'UTC') !== null));
  if (fits.length === 0) return { format: null, note: `no known format reads "${values[0]}": set format` };
  return { format: fits[0] ?? 'iso', note: fits.length > 1 ? `ambiguous: ${fits.join(' and ')} both read every value — check` : null };
}

function referenceMode(values: readonly string[], keys: ReadonlySet<string>): string {
  if (values.some((v) => v.includes('@'))) return 'email';
  if (values.every((v) => keys.has(v))) return 'id';
  if (values.some((v) => v.includes(',') || /\s/.test(v))) return 'name';
  return 'id';
}

function fieldsOf(columns: readonly string[]): Map<string, string> {
  const byField = new Map<string, string>();
  const used = new Set<string>();
  for (const [field, headers] of FIELD_HEADERS) {
    const wanted = new Set(headers.map(squash));
    const column = columns.find((c) => !used.has(c) && wanted.has(squash(c)));
    if (column) {
      byField.set(field, column);
      used.add(column);
    }
  }
  return byField;
}

/**
 * The draft configuration (YAML text with comments) for a file's bytes.
 * @example suggestSourceMapping(readFileSync('export.csv'), 'export.csv', 'hr')
 */
export function suggestSourceMapping(bytes: Uint8Array, file: string, type: SourceType, name: string = type): string {
  const encoding = detectEncoding(bytes);
  const decoded = decodeSourceBytes(bytes, encoding);
  const text = 'text' in decoded ? decoded.text : '';
  const delimiter = detectDelimiter(text.split('\n').find((l) => l.trim() !== '') ?? '');
  // Some exports put field IDs or a title above the labels: take the header row that names more known fields.
  const tables = [1, 2].map((headerRows) => parseCsvTable(text, { file, delimiter, headerRows }));
  const known = fieldsOf(tables[0]!.columns).size;
  const secondRow = Object.values(tables[0]!.rows[0]?.values ?? {});
  const secondIsHeader = fieldsOf(tables[1]!.columns).size > known || (known >= 2 && fieldsOf(secondRow).size >= known / 2);
  const [table, headerRows] = secondIsHeader ? [tables[1]!, 2] : [tables[0]!, 1];
  const fields = fieldsOf(table.columns);
  const keys = new Set(sampleValues(table, fields.get('key') ?? ''));
  const lines = [
    `# Drafted by \`jml source suggest\` from ${file}: check every line, then run \`jml source check ${name} ${file}\`.`,
    'sources:',
    `  ${name}:`,
    `    type: ${type}`,
    `    encoding: ${encoding}`,
    `    delimiter: ${JSON.stringify(delimiter)}`,
    `    headerRows: ${headerRows}`,
    '    mapping:',
  ];
  // With two header rows the field ids (row 1) identify a layout as well as the labels do.
  const squashed = new Set((headerRows === 2 ? [...tables[0]!.columns, ...table.columns] : table.columns).map(squash));
  for (const [vendor, folder, headers] of VENDOR_SIGNATURES) {
    if (headers.every((h) => squashed.has(squash(h)))) lines.splice(1, 0, `# Looks like a ${vendor} export: see examples/sources/${folder}/ for a worked mapping.`);
  }
  for (const [field, column] of fields) {
    const values = sampleValues(table, column);
    if (DATE_FIELDS.has(field)) {
      const { format, note } = dateLine(values);
      lines.push(`      ${field}: { column: ${q(column)}${format ? `, format: ${q(format)}` : ''} }${note ? `   # ${note}` : ''}`);
    } else if (field === 'manager') {
      const by = referenceMode(values, keys);
      // A word in capitals among ids is a "no manager" marker (SuccessFactors writes NO_MANAGER).
      const sentinels = by === 'id' ? [...new Set(values.filter((v) => !keys.has(v) && /^[A-Z][A-Z_ ]+$/.test(v)))] : [];
      const map = sentinels.length > 0 ? `, map: { ${sentinels.map((v) => `${q(v)}: ""`).join(', ')} }` : '';
      lines.push(`      ${field}: { column: ${q(column)}, by: ${by}${map} }${map ? '   # no manager' : ''}`);
    } else if (field === 'status') {
      const seen = [...new Set(values)].slice(0, 12);
      const unknown = seen.filter((v) => DEFAULT_STATUS_MAP[normaliseMapKey(v)] === undefined);
      const note = unknown.length > 0 ? `   # map these: ${unknown.join(', ')} (to active, pending, suspended, terminated or from_dates)` : '';
      lines.push(`      ${field}: ${q(column)}${note}`);
    } else lines.push(`      ${field}: ${q(column)}`);
  }
  const unmapped = table.columns.filter((c) => c !== '' && ![...fields.values()].includes(c));
  if (unmapped.length > 0) lines.push(`      # not mapped (add as attributes if jml needs them): ${unmapped.join(', ')}`);
  for (const required of ['key', 'start_date']) if (!fields.has(required)) lines.push(`      # ${required}: <column>   # required: no column looked like it`);
  return `${lines.join('\n')}\n`;
}
