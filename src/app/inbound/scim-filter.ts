/**
 * SCIM filters (RFC 7644 §3.4.2.2): parsed into a tree and evaluated against
 * resources in memory — the reference meaning, which the SQL translation
 * (scim-filter-sql.ts) follows and is tested against. A filter is untrusted
 * text: its length, nesting and number of terms are bounded, values are
 * compared as values (no regular expression is built from it; SQL receives
 * them as bound parameters), and every refusal is a JmlError carrying SCIM's
 * `invalidFilter`. Pure.
 */
import { JmlError } from '../../domain/errors.ts';
import { attributeOf, CORE_USER_SCHEMA, scimBoolean, type ScimObject } from '../../sources/scim-user-table.ts';

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
const COMPARE_OPS: readonly string[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];

/** `urn:…:User:manager.value` → schema `urn:…:User`, attribute `manager`, sub `value`. */
export interface AttributePath {
  readonly schema: string | null;
  readonly attribute: string;
  readonly sub: string | null;
}

export type ScimFilter =
  | { readonly op: 'and' | 'or'; readonly left: ScimFilter; readonly right: ScimFilter }
  | { readonly op: 'not'; readonly filter: ScimFilter }
  | { readonly op: 'pr'; readonly path: AttributePath }
  | { readonly op: CompareOp; readonly path: AttributePath; readonly value: string | number | boolean | null }
  | { readonly op: 'valuePath'; readonly path: AttributePath; readonly filter: ScimFilter };

export const FILTER_LIMITS = { length: 2048, depth: 8, terms: 64 } as const;

/** Attributes whose values compare case-sensitively (RFC 7643 caseExact); every other string ignores case. */
const CASE_EXACT = new Set(['id', 'externalid', 'meta.location', 'meta.version']);

/** Whether a path's values compare case-sensitively (RFC 7643 caseExact): id, externalId, meta.location, meta.version. */
export function isCaseExact(path: AttributePath): boolean {
  return CASE_EXACT.has(pathName(path));
}

/**
 * A string that compares as a number against a numeric filter value: decimal,
 * optionally signed, with an exponent of at most two digits (so that every
 * backend reads it as the same double, and none overflows). The SQL
 * translation (scim-filter-sql.ts) applies the same pattern.
 */
export const NUMERIC_TEXT = '^\\s*[+-]?([0-9]{1,100}(\\.[0-9]{0,100})?|\\.[0-9]{1,100})([eE][+-]?[0-9]{1,2})?\\s*$';
const NUMERIC = new RegExp(NUMERIC_TEXT);

/** Whether a path names the core User schema's attribute (no URN, or the core URN): those sit at the resource's top level. */
export function isCoreSchema(schema: string | null): boolean {
  return schema === null || schema.toLowerCase() === CORE_USER_SCHEMA.toLowerCase();
}

function invalid(message: string): JmlError {
  return new JmlError('invalid_input', `invalid filter: ${message}`, { details: { scimType: 'invalidFilter' } });
}

/** The refusal of a filter (SCIM's invalidFilter), for the SQL translation's checks too. */
export const invalidFilter = invalid;

type Token = { readonly kind: 'word' | 'string' | '(' | ')' | '[' | ']'; readonly text: string; readonly at: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i += 1;
    else if ('()[]'.includes(c)) tokens.push({ kind: c as Token['kind'], text: c, at: i++ });
    else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw invalid(`unterminated string at position ${i + 1}`);
      let value: unknown;
      try {
        value = JSON.parse(text.slice(i, j + 1));
      } catch {
        throw invalid(`malformed string at position ${i + 1}`);
      }
      tokens.push({ kind: 'string', text: String(value), at: i });
      i = j + 1;
    } else {
      const start = i;
      while (i < text.length && /[A-Za-z0-9:._$+\-]/.test(text[i]!)) i += 1;
      if (i === start) throw invalid(`unexpected character "${c}" at position ${i + 1}`);
      tokens.push({ kind: 'word', text: text.slice(start, i), at: start });
    }
  }
  return tokens;
}

/** Parses an attribute path; a schema URN prefix is everything up to its last colon. */
export function parseAttributePath(text: string): AttributePath {
  let schema: string | null = null;
  let rest = text;
  if (text.toLowerCase().startsWith('urn:')) {
    const colon = text.lastIndexOf(':');
    schema = text.slice(0, colon);
    rest = text.slice(colon + 1);
  }
  const [attribute, sub, more] = rest.split('.');
  if (!attribute || !/^[A-Za-z$][A-Za-z0-9_$-]*$/.test(attribute) || more !== undefined || (sub !== undefined && !/^[A-Za-z$][A-Za-z0-9_$-]*$/.test(sub))) {
    throw invalid(`"${text}" is not an attribute path`);
  }
  return { schema, attribute, sub: sub ?? null };
}

/**
 * Parses a filter expression.
 * @throws JmlError('invalid_input', details.scimType 'invalidFilter') on anything malformed or too large.
 * @example parseScimFilter('userName eq "ada@example.com" and not (active eq false)')
 */
export function parseScimFilter(text: string): ScimFilter {
  if (text.length > FILTER_LIMITS.length) throw invalid(`longer than ${FILTER_LIMITS.length} characters`);
  const tokens = tokenize(text);
  let pos = 0;
  let terms = 0;
  const peek = () => tokens[pos];
  const word = (w: string) => peek()?.kind === 'word' && peek()!.text.toLowerCase() === w;
  const expect = (kind: Token['kind']) => {
    const t = tokens[pos];
    if (t?.kind !== kind) throw invalid(`expected "${kind}" ${t ? `at position ${t.at + 1}` : 'at the end'}`);
    pos += 1;
  };
  const or = (depth: number): ScimFilter => {
    if (depth > FILTER_LIMITS.depth) throw invalid(`nested deeper than ${FILTER_LIMITS.depth}`);
    let left = and(depth);
    while (word('or')) {
      pos += 1;
      left = { op: 'or', left, right: and(depth) };
    }
    return left;
  };
  const and = (depth: number): ScimFilter => {
    let left = unary(depth);
    while (word('and')) {
      pos += 1;
      left = { op: 'and', left, right: unary(depth) };
    }
    return left;
  };
  const unary = (depth: number): ScimFilter => {
    if (++terms > FILTER_LIMITS.terms) throw invalid(`more than ${FILTER_LIMITS.terms} terms`);
    if (word('not')) {
      pos += 1;
      expect('(');
      const filter = or(depth + 1);
      expect(')');
      return { op: 'not', filter };
    }
    if (peek()?.kind === '(') {
      pos += 1;
      const filter = or(depth + 1);
      expect(')');
      return filter;
    }
    const t = peek();
    if (t?.kind !== 'word') throw invalid(t ? `expected an attribute at position ${t.at + 1}` : 'expected an attribute at the end');
    pos += 1;
    const path = parseAttributePath(t.text);
    if (peek()?.kind === '[') {
      pos += 1;
      const filter = or(depth + 1);
      expect(']');
      return { op: 'valuePath', path, filter };
    }
    const opToken = peek();
    const op = opToken?.kind === 'word' ? opToken.text.toLowerCase() : '';
    pos += 1;
    if (op === 'pr') return { op: 'pr', path };
    if (!COMPARE_OPS.includes(op)) throw invalid(`expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after ${t.text}`);
    return { op: op as CompareOp, path, value: compareValue(tokens[pos++]) };
  };
  const filter = or(0);
  if (pos < tokens.length) throw invalid(`unexpected "${tokens[pos]!.text}" at position ${tokens[pos]!.at + 1}`);
  return filter;
}

function compareValue(t: Token | undefined): string | number | boolean | null {
  if (!t) throw invalid('a comparison value is missing at the end');
  if (t.kind === 'string') return t.text;
  if (t.kind !== 'word') throw invalid(`expected a value at position ${t.at + 1}`);
  const w = t.text.toLowerCase();
  if (w === 'true') return true;
  if (w === 'false') return false;
  if (w === 'null') return null;
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t.text)) return Number(t.text);
  throw invalid(`"${t.text}" is not a value (strings are quoted)`);
}

/** The values an attribute path reaches in a resource (multi-valued attributes give several). */
export function valuesAt(resource: ScimObject, path: AttributePath): unknown[] {
  const holder = isCoreSchema(path.schema) ? resource : attributeOf(resource, path.schema!);
  if (!holder || typeof holder !== 'object') return [];
  const top = attributeOf(holder as ScimObject, path.attribute);
  const list = Array.isArray(top) ? top : top === undefined || top === null ? [] : [top];
  if (path.sub === null) return list;
  return list.flatMap((v) => (v && typeof v === 'object' ? [attributeOf(v as ScimObject, path.sub!)] : [])).filter((v) => v !== undefined && v !== null);
}

function compare(op: CompareOp, actual: unknown, expected: string | number | boolean | null, caseExact: boolean): boolean {
  if (actual && typeof actual === 'object') actual = attributeOf(actual as ScimObject, 'value');
  if (expected === null) return op === 'eq' ? actual === null || actual === undefined : op === 'ne' ? actual !== null && actual !== undefined : false;
  if (typeof expected === 'boolean') {
    if (op !== 'eq' && op !== 'ne') throw invalid(`${op} does not apply to a boolean`);
    const b = scimBoolean(actual);
    return op === 'eq' ? b === expected : b !== expected;
  }
  if (typeof expected === 'number') {
    const n = typeof actual === 'number' ? actual : typeof actual === 'string' && NUMERIC.test(actual) ? Number(actual) : Number.NaN;
    if (Number.isNaN(n)) return op === 'ne';
    return op === 'eq' ? n === expected : op === 'ne' ? n !== expected : op === 'gt' ? n > expected : op === 'ge' ? n >= expected : op === 'lt' ? n < expected : op === 'le' ? n <= expected : false;
  }
  if (typeof actual !== 'string' && typeof actual !== 'number' && typeof actual !== 'boolean') return op === 'ne';
  const a = caseExact ? String(actual) : String(actual).toLowerCase();
  const e = caseExact ? expected : expected.toLowerCase();
  switch (op) {
    case 'eq': return a === e;
    case 'ne': return a !== e;
    case 'co': return a.includes(e);
    case 'sw': return a.startsWith(e);
    case 'ew': return a.endsWith(e);
    case 'gt': return a > e;
    case 'ge': return a >= e;
    case 'lt': return a < e;
    case 'le': return a <= e;
  }
}

function pathName(path: AttributePath): string {
  return `${path.attribute}${path.sub ? `.${path.sub}` : ''}`.toLowerCase();
}

/**
 * Whether a resource matches a filter. A multi-valued attribute matches when
 * any of its values does; a complex one without a sub-attribute compares its `value`.
 */
export function matchesScimFilter(resource: ScimObject, filter: ScimFilter): boolean {
  switch (filter.op) {
    case 'and': return matchesScimFilter(resource, filter.left) && matchesScimFilter(resource, filter.right);
    case 'or': return matchesScimFilter(resource, filter.left) || matchesScimFilter(resource, filter.right);
    case 'not': return !matchesScimFilter(resource, filter.filter);
    case 'pr': return valuesAt(resource, filter.path).some((v) => v !== '' && !(Array.isArray(v) && v.length === 0) && !(v && typeof v === 'object' && Object.keys(v).length === 0));
    case 'valuePath': {
      const items = valuesAt(resource, { ...filter.path, sub: null }).filter((v): v is ScimObject => Boolean(v) && typeof v === 'object');
      return items.some((item) => matchesScimFilter(item, filter.filter));
    }
    default: {
      const values = valuesAt(resource, filter.path);
      const exact = isCaseExact(filter.path);
      if (values.length === 0) return filter.op === 'ne' ? filter.value !== null : filter.op === 'eq' && filter.value === null;
      return filter.op === 'ne' ? values.every((v) => compare('ne', v, filter.value, exact)) : values.some((v) => compare(filter.op as CompareOp, v, filter.value, exact));
    }
  }
}

/**
 * The one equality a store can answer by index (`userName eq "x"`,
 * `externalId eq "x"`, `id eq "x"`), when that is the whole filter: what
 * provisioning clients send before every create.
 */
export function indexedEquality(filter: ScimFilter): { readonly attribute: 'userName' | 'externalId' | 'id'; readonly value: string } | null {
  if (filter.op !== 'eq' || typeof filter.value !== 'string' || filter.path.sub !== null) return null;
  if (!isCoreSchema(filter.path.schema)) return null;
  const name = filter.path.attribute.toLowerCase();
  if (name === 'username') return { attribute: 'userName', value: filter.value };
  if (name === 'externalid') return { attribute: 'externalId', value: filter.value };
  if (name === 'id') return { attribute: 'id', value: filter.value };
  return null;
}
