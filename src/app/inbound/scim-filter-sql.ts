/**
 * A parsed SCIM filter (scim-filter.ts) as a condition on scim_resources, so a
 * list is filtered, counted, sorted and paged by the database instead of in
 * memory. The condition means exactly what matchesScimFilter means over the
 * resource GET answers (toScimUser): attribute names in any case, a
 * multi-valued attribute matching when any value does (`ne`: when none
 * equals), complex values compared by their `value`, caseExact only for id,
 * externalId and meta.version, Entra's "True"/"False" as booleans, an
 * extension's manager string as `{ value }`. Every value is a bound parameter;
 * co/sw/ew are LIKE patterns with the value's `%`, `_` and `\` escaped; string
 * order is byte order (COLLATE "C"), as JavaScript compares.
 *
 * What SQL is not given (`schemas`, `meta` as a whole, `meta.location`, whose
 * value depends on the URL the client used) leaves its part of the filter to
 * the in-memory evaluator: the translation then says it is not exact, and its
 * condition only narrows the rows that evaluator reads.
 *
 * So are, for now, extension attributes, sub-attributes (`name.givenName`,
 * `emails.value`) and value paths (`emails[…]`), although this module can
 * write them: attribute names match in any case, so each step is a key
 * look-up with a case-insensitive fallback in a subquery, and PostgreSQL runs
 * those subqueries per row — measured 11 s for `<enterprise>:department eq`
 * over 10,000 Users where reading them into memory took 0.5 s
 * (bench/scim-filter-bench.ts). `deepPaths` turns them on.
 */
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { escapeLike } from '../../store/like-pattern.ts';
import { invalidFilter, isCaseExact, isCoreSchema, NUMERIC_TEXT, type AttributePath, type CompareOp, type ScimFilter } from './scim-filter.ts';
import { canonicalAttributeName } from './scim-resource-store.ts';

type Sql = RawBuilder<unknown>;

/** A filter's condition: with `exact`, the rows it holds for are the matches; otherwise a superset of them (null: every row). */
export interface FilterCondition {
  readonly where: RawBuilder<SqlBool> | null;
  readonly exact: boolean;
}

/** Where values are looked up: the stored row (with its columns) or one value of a multi-valued attribute (inside `[…]`). */
type Scope = { readonly kind: 'row' } | { readonly kind: 'item'; readonly value: Sql };

const RESOURCE = sql.ref('scim_resources.resource');
const WHITESPACE = ' \t\n\r';
const TRUE = sql<boolean>`TRUE`;
const FALSE = sql<boolean>`FALSE`;

export interface TranslationOptions {
  /**
   * Translate extension attributes, sub-attributes and value paths too (see the module comment): off by
   * default until their look-ups are cheap; the differential test runs with it on as well.
   */
  readonly deepPaths?: boolean;
}

/** One translation's state: fresh alias names for nested subqueries (generated here, never from the filter), and its options. */
interface Translation {
  alias(): Sql;
  readonly deep: boolean;
}

function translation(options: TranslationOptions): Translation {
  let n = 0;
  return { alias: () => sql.raw(`f${n++}`), deep: options.deepPaths ?? false };
}

/** attributeOf in SQL: the exact key, else the first key equal ignoring case; SQL NULL when absent. */
function lookup(object: Sql, name: string): Sql {
  return sql`coalesce(${object} -> ${name}::text, (SELECT e.value FROM jsonb_each(CASE WHEN jsonb_typeof(${object}) = 'object' THEN ${object} END) e WHERE lower(e.key) = lower(${name}::text) LIMIT 1))`;
}

/** The attribute's value as toScimUser answers it, or 'memory' for what only the in-memory evaluator knows. */
function topValue(path: AttributePath, scope: Scope): Sql | 'memory' {
  if (scope.kind === 'item') return isCoreSchema(path.schema) ? lookup(scope.value, path.attribute) : lookup(lookup(scope.value, path.schema!), path.attribute);
  if (!isCoreSchema(path.schema)) {
    const value = lookup(lookup(RESOURCE, path.schema!), path.attribute);
    // toScimUser answers an extension's manager given as a string as { value }.
    if (path.attribute.toLowerCase() !== 'manager') return value;
    return sql`(SELECT CASE WHEN jsonb_typeof(m.v) = 'string' THEN jsonb_build_object('value', m.v) ELSE m.v END FROM (SELECT ${value} AS v) m)`;
  }
  const name = path.attribute.toLowerCase();
  if (name === 'id') return sql`to_jsonb(${sql.ref('scim_resources.id')})`;
  // schemas is made up by toScimUser from the resource's extensions; meta's sub-attributes are metaValue's.
  if (name === 'schemas' || name === 'meta') return 'memory';
  const canonical = canonicalAttributeName(path.attribute);
  const value = canonical ? sql`(${RESOURCE} -> ${canonical}::text)` : lookup(RESOURCE, path.attribute);
  if (name !== 'active') return value;
  // toScimUser answers Entra's "True"/"False" as booleans.
  const folded = sql`lower(btrim(a.v #>> '{}', ${WHITESPACE}))`;
  return sql`(SELECT CASE WHEN jsonb_typeof(a.v) = 'string' AND ${folded} IN ('true', 'false') THEN to_jsonb(${folded} = 'true') ELSE a.v END FROM (SELECT ${value} AS v) a)`;
}

/** meta's sub-attributes from the row's columns; 'memory' for meta.location; null for one meta does not have. */
function metaValue(sub: string): Sql | 'memory' | null {
  const iso = (column: string) => sql`to_jsonb(to_char(${sql.ref(column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`;
  switch (sub.toLowerCase()) {
    case 'resourcetype': return sql`'"User"'::jsonb`;
    case 'created': return iso('scim_resources.created_at');
    case 'lastmodified': return iso('scim_resources.updated_at');
    case 'version': return sql`to_jsonb('W/"' || ${sql.ref('scim_resources.version')} || '"')`;
    case 'location': return 'memory';
    default: return null;
  }
}

/** The values a path reaches, as a jsonb array (valuesAt); 'memory' when SQL cannot know them. */
function valueList(path: AttributePath, scope: Scope, cx: Translation): Sql | 'memory' {
  if (!cx.deep && (scope.kind === 'item' || !isCoreSchema(path.schema) || (path.sub !== null && path.attribute.toLowerCase() !== 'meta'))) return 'memory';
  if (scope.kind === 'row' && isCoreSchema(path.schema) && path.attribute.toLowerCase() === 'meta') {
    if (path.sub === null) return 'memory';
    const meta = metaValue(path.sub);
    if (meta === 'memory') return 'memory';
    return meta === null ? sql`'[]'::jsonb` : sql`jsonb_build_array(${meta})`;
  }
  const top = topValue(path, scope);
  if (top === 'memory') return 'memory';
  const t = cx.alias();
  const list = sql`(SELECT CASE WHEN ${t}.v IS NULL OR jsonb_typeof(${t}.v) = 'null' THEN '[]'::jsonb WHEN jsonb_typeof(${t}.v) = 'array' THEN ${t}.v ELSE jsonb_build_array(${t}.v) END FROM (SELECT ${top} AS v) ${t})`;
  if (path.sub === null) return list;
  const e = cx.alias();
  const s = cx.alias();
  return sql`(SELECT coalesce(jsonb_agg(${s}.v ORDER BY ${s}.n), '[]'::jsonb) FROM (SELECT ${lookup(sql`${e}.v`, path.sub)} AS v, ${e}.n FROM jsonb_array_elements(${list}) WITH ORDINALITY ${e}(v, n) WHERE jsonb_typeof(${e}.v) = 'object') ${s} WHERE ${s}.v IS NOT NULL AND jsonb_typeof(${s}.v) <> 'null')`;
}

/** One value against the filter's value (compare() of scim-filter.ts); never NULL. */
function compareValue(op: CompareOp, value: Sql, expected: string | number | boolean | null, caseExact: boolean, cx: Translation): Sql {
  const a = cx.alias();
  const x = sql`${a}.x`;
  const nullish = sql`(${x} IS NULL OR jsonb_typeof(${x}) = 'null')`;
  let test: Sql;
  if (expected === null) test = op === 'eq' ? nullish : op === 'ne' ? sql`NOT ${nullish}` : FALSE;
  else if (typeof expected === 'boolean') {
    const b = sql`(CASE jsonb_typeof(${x}) WHEN 'boolean' THEN (${x})::boolean WHEN 'string' THEN CASE lower(btrim(${x} #>> '{}', ${WHITESPACE})) WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END END)`;
    test = op === 'eq' ? sql`coalesce(${b} = ${expected}, FALSE)` : sql`(${b} IS DISTINCT FROM ${expected})`;
  } else if (typeof expected === 'number') {
    const n = sql`(CASE jsonb_typeof(${x}) WHEN 'number' THEN (${x})::float8 WHEN 'string' THEN CASE WHEN (${x} #>> '{}') ~ ${NUMERIC_TEXT} THEN btrim(${x} #>> '{}', ${WHITESPACE})::float8 END END)`;
    const e = sql`${expected}::float8`;
    const ordered: Partial<Record<CompareOp, Sql>> = { eq: sql`${n} = ${e}`, gt: sql`${n} > ${e}`, ge: sql`${n} >= ${e}`, lt: sql`${n} < ${e}`, le: sql`${n} <= ${e}` };
    test = op === 'ne' ? sql`(${n} IS NULL OR ${n} <> ${e})` : ordered[op] ? sql`coalesce(${ordered[op]}, FALSE)` : FALSE;
  } else {
    const wanted = expected;
    const text = caseExact ? sql`(${x} #>> '{}')` : sql`lower(${x} #>> '{}')`;
    const given = (v: string) => (caseExact ? sql`${v}::text` : sql`lower(${v}::text)`);
    const like = (pattern: string) => sql`${text} LIKE ${given(pattern)}`;
    const byteOrder = (symbol: string) => sql`${text} COLLATE "C" ${sql.raw(symbol)} ${given(wanted)} COLLATE "C"`;
    const comparison: Record<CompareOp, Sql> = {
      eq: sql`${text} = ${given(wanted)}`,
      ne: sql`${text} <> ${given(wanted)}`,
      co: like(`%${escapeLike(wanted)}%`),
      sw: like(`${escapeLike(wanted)}%`),
      ew: like(`%${escapeLike(wanted)}`),
      gt: byteOrder('>'),
      ge: byteOrder('>='),
      lt: byteOrder('<'),
      le: byteOrder('<='),
    };
    // Objects and arrays are not compared as text: they match only `ne`.
    test = sql`(CASE WHEN jsonb_typeof(${x}) IN ('string', 'number', 'boolean') THEN coalesce(${comparison[op]}, FALSE) ELSE ${op === 'ne' ? TRUE : FALSE} END)`;
  }
  // A complex value compares by its `value`; an array has none.
  const actual = sql`CASE jsonb_typeof(${value}) WHEN 'object' THEN ${lookup(value, 'value')} WHEN 'array' THEN NULL ELSE ${value} END`;
  return sql`(SELECT ${test} FROM (SELECT ${actual} AS x) ${a})`;
}

function condition(filter: ScimFilter, scope: Scope, cx: Translation): { readonly where: Sql | null; readonly exact: boolean } {
  switch (filter.op) {
    case 'and': {
      const left = condition(filter.left, scope, cx);
      const right = condition(filter.right, scope, cx);
      const where = left.where && right.where ? sql`(${left.where} AND ${right.where})` : (left.where ?? right.where);
      return { where, exact: left.exact && right.exact };
    }
    case 'or': {
      const left = condition(filter.left, scope, cx);
      const right = condition(filter.right, scope, cx);
      return { where: left.where && right.where ? sql`(${left.where} OR ${right.where})` : null, exact: left.exact && right.exact };
    }
    case 'not': {
      const inner = condition(filter.filter, scope, cx);
      return inner.exact ? { where: sql`NOT ${inner.where!}`, exact: true } : { where: null, exact: false };
    }
    case 'pr': {
      const list = valueList(filter.path, scope, cx);
      if (list === 'memory') return { where: null, exact: false };
      const v = cx.alias();
      return { where: sql`EXISTS (SELECT 1 FROM jsonb_array_elements(${list}) ${v}(v) WHERE NOT (${v}.v = '""'::jsonb OR ${v}.v = '[]'::jsonb OR ${v}.v = '{}'::jsonb))`, exact: true };
    }
    case 'valuePath': {
      const list = valueList({ ...filter.path, sub: null }, scope, cx);
      if (list === 'memory') return { where: null, exact: false };
      const item = cx.alias();
      const inner = condition(filter.filter, { kind: 'item', value: sql`${item}.v` }, cx);
      if (!inner.exact) return { where: null, exact: false };
      return { where: sql`EXISTS (SELECT 1 FROM jsonb_array_elements(${list}) ${item}(v) WHERE jsonb_typeof(${item}.v) IN ('object', 'array') AND ${inner.where!})`, exact: true };
    }
    default: {
      const { op, path, value } = filter;
      if (typeof value === 'boolean' && op !== 'eq' && op !== 'ne') throw invalidFilter(`${op} does not apply to a boolean`);
      const list = valueList(path, scope, cx);
      if (list === 'memory') return { where: null, exact: false };
      const l = cx.alias();
      const v = cx.alias();
      const each = compareValue(op, sql`${v}.v`, value, isCaseExact(path), cx);
      const whenEmpty = op === 'ne' ? value !== null : op === 'eq' && value === null;
      const some = op === 'ne' ? sql`NOT EXISTS (SELECT 1 FROM jsonb_array_elements(${l}.l) ${v}(v) WHERE NOT ${each})` : sql`EXISTS (SELECT 1 FROM jsonb_array_elements(${l}.l) ${v}(v) WHERE ${each})`;
      return { where: sql`(SELECT CASE WHEN jsonb_array_length(${l}.l) = 0 THEN ${whenEmpty ? TRUE : FALSE} ELSE ${some} END FROM (SELECT ${list} AS l) ${l})`, exact: true };
    }
  }
}

/**
 * The condition a filter puts on rows of scim_resources (alias-free: it names
 * `scim_resources.resource`, `.id`, `.version`, `.created_at`, `.updated_at`).
 * @throws JmlError (invalidFilter) for a boolean compared with gt, ge, lt or le.
 * @example const { where, exact } = filterCondition(parseScimFilter('emails[type eq "work" and value co "@example.com"]'))
 */
export function filterCondition(filter: ScimFilter, options: TranslationOptions = {}): FilterCondition {
  const { where, exact } = condition(filter, { kind: 'row' }, translation(options));
  return { where: where as RawBuilder<SqlBool> | null, exact };
}

/**
 * The sort key of sortResources in SQL: the path's first value (a complex
 * one's `value`) as lower-cased text; null when SQL cannot know it.
 */
export function sortKey(path: AttributePath, options: TranslationOptions = {}): Sql | null {
  const cx = translation(options);
  const list = valueList(path, { kind: 'row' }, cx);
  if (list === 'memory') return null;
  const f = cx.alias();
  return sql`(SELECT lower(CASE jsonb_typeof(${f}.v) WHEN 'object' THEN ${lookup(sql`${f}.v`, 'value')} WHEN 'array' THEN NULL ELSE ${f}.v END #>> '{}') FROM (SELECT ${list} -> 0 AS v) ${f})`;
}
