/**
 * Hostile inputs for the OpenAPI-driven fuzz test, from a seeded generator so
 * that a failing run is reproduced by its seed. Values follow the operation's
 * JSON Schema closely enough to get past the first check, then one part is
 * made hostile: NUL, lone surrogates, huge strings, wrong types, extreme
 * numbers, bad cursors, path traversal, odd Unicode, missing and extra fields,
 * JSON that is not an object.
 */

/** A JSON Schema node as zod's `toJSONSchema` writes it (the subset the API uses). */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly additionalProperties?: boolean | JsonSchema;
  readonly anyOf?: readonly JsonSchema[];
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: string;
}

/** mulberry32: small, fast and good enough to pick test inputs. */
export function seededRandom(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p: number): boolean => next() < p,
    pick: <T>(list: readonly T[]): T => list[int(list.length)]!,
  };
}
export type Random = ReturnType<typeof seededRandom>;

/** Strings a careless handler trips over. Huge ones are made on demand (see `hostileString`). */
export const HOSTILE_STRINGS: readonly string[] = [
  '\u0000',
  'alice\u0000',
  '\u0000\u0000admin',
  '\ud800',
  'x\udfffy',
  '\udc00\ud800',
  '',
  ' ',
  '\t\n\r',
  '.',
  '..',
  '../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '/etc/passwd',
  '%00',
  '%2e%2e%2f',
  'C:\\',
  "' OR 1=1 --",
  '"; drop table identities; --',
  '*)(uid=*))(|(uid=*',
  'cn=admin,dc=example,dc=org',
  'userName eq "x" or 1 eq 1',
  '=cmd|\' /C calc\'!A0',
  '<script>alert(1)</script>',
  '${jndi:ldap://127.0.0.1/a}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  'prototype',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-1',
  '0',
  '1e309',
  '99999999999999999999999999',
  '0x7fffffff',
  'true',
  '[]',
  '{}',
  '2024-13-45',
  '2024-02-30',
  '0000-00-00T00:00:00Z',
  '+275760-09-13T00:00:00.001Z',
  '-271821-04-20T00:00:00.000Z',
  'not a date',
  '9999-12-31T23:59:59.999Z',
  '1970-01-01',
  'ZZZZ',
  'eyJhbGciOiJub25lIn0.e30.',
  '🦄👩‍👩‍👧‍👦',
  'Ａｄｍｉｎ',
  'ＡＬＩＣＥ',
  'ı',
  'ß',
  '\u202eevil',
  '\u200b',
  '\ufeff',
  '\uffff',
  'e\u0301',
  '𝕒𝕝𝕚𝕔𝕖',
  'a'.repeat(201),
  'x'.repeat(5000),
];

const HOSTILE_NUMBERS: readonly number[] = [-1, 0, -0, 1.5, -1e308, 1e308, 2 ** 53 + 1, -(2 ** 63), 2 ** 31, 4294967296, 0.0000001];

/** Values of the wrong type for whatever field they land in. */
const WRONG_TYPES: readonly unknown[] = [null, true, false, 0, -1, 1e308, '', 'text', [], [null], ['\u0000'], {}, { $ne: null }, JSON.parse('{"__proto__":{"admin":true}}') as unknown, [[[[[]]]]]];

/** A string from the pool, or a huge one now and then (100 kB; 2 MB rarely). */
export function hostileString(rng: Random): string {
  if (rng.chance(0.03)) return (rng.chance(0.1) ? 'B' : 'A').repeat(rng.chance(0.1) ? 2_000_000 : 100_000);
  const base = rng.pick(HOSTILE_STRINGS);
  return rng.chance(0.15) ? `${rng.pick(PLAUSIBLE_STRINGS)}${base}` : base;
}

/** Any hostile value: mostly strings, then numbers and wrong types. */
export function hostileValue(rng: Random): unknown {
  const roll = rng.next();
  if (roll < 0.6) return hostileString(rng);
  if (roll < 0.75) return rng.pick(HOSTILE_NUMBERS);
  return rng.pick(WRONG_TYPES);
}

/** Values that pass most checks, so the hostile one is not refused first for another reason. */
const PLAUSIBLE_STRINGS: readonly string[] = ['alice', 'bob', 'mgr-a', 'ceo', 'vpn', 'full', 'hr', 'admin', 'x.csv', 'on call for the weekend', 'eng', 'active', '2026-01-01T00:00:00.000Z'];

function typesOf(schema: JsonSchema): readonly string[] {
  if (schema.enum) return ['enum'];
  if (schema.anyOf) return schema.anyOf.flatMap(typesOf);
  if (schema.type === undefined) return ['string'];
  return typeof schema.type === 'string' ? [schema.type] : schema.type;
}

/**
 * A value that fits the schema (as far as this generator understands it),
 * with `depth` limiting nested objects and arrays.
 */
export function plausibleValue(schema: JsonSchema, rng: Random, depth = 0): unknown {
  const type = rng.pick(typesOf(schema));
  switch (type) {
    case 'enum':
      return rng.pick(schema.enum!);
    case 'null':
      return null;
    case 'boolean':
      return rng.chance(0.5);
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? 0;
      const max = Math.min(schema.maximum ?? min + 100, min + 100);
      return min + rng.int(max - min + 1);
    }
    case 'array':
      return depth > 3 ? [] : Array.from({ length: rng.int(3) + (schema.items ? 1 : 0) }, () => plausibleValue(schema.items ?? {}, rng, depth + 1));
    case 'object':
      return depth > 3 ? {} : plausibleObject(schema, rng, depth + 1);
    default: {
      if (schema.pattern === '^[0-9a-fA-F]{64}$') return 'ab'.repeat(32);
      if (schema.pattern === '^[a-z][a-z0-9_-]*$') return rng.pick(['hr', 'vendor', 'x']);
      const s = rng.pick(PLAUSIBLE_STRINGS);
      return s.length >= (schema.minLength ?? 0) ? s : s.padEnd(schema.minLength!, 'x');
    }
  }
}

function plausibleObject(schema: JsonSchema, rng: Random, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const required = new Set(schema.required ?? []);
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (required.has(name) || rng.chance(0.6)) out[name] = plausibleValue(property, rng, depth);
  }
  if (typeof schema.additionalProperties === 'object' && rng.chance(0.7)) {
    for (let i = rng.int(3); i >= 0; i--) out[rng.pick(['phone', 'department', 'title', 'location', 'manager', 'email', 'start_date', 'end_date', 'status', 'employment_type'])] = plausibleValue(schema.additionalProperties, rng, depth);
  }
  return out;
}

/**
 * Makes one part of a plausible object hostile: a field replaced (at any
 * depth), a required field dropped, an extra or hostile-named field added.
 */
export function mutateObject(value: Record<string, unknown>, schema: JsonSchema, rng: Random): Record<string, unknown> {
  const out = { ...value };
  const names = Object.keys(schema.properties ?? {});
  const roll = rng.next();
  if (roll < 0.55 && names.length > 0) {
    const name = rng.pick(names);
    const property = schema.properties![name]!;
    const current = out[name];
    out[name] =
      current !== null && typeof current === 'object' && !Array.isArray(current) && rng.chance(0.5)
        ? mutateObject(current as Record<string, unknown>, property, rng)
        : Array.isArray(current) && rng.chance(0.5)
          ? [...current, hostileValue(rng)]
          : hostileValue(rng);
  } else if (roll < 0.7 && (schema.required ?? []).length > 0) {
    delete out[rng.pick(schema.required!)];
  } else if (roll < 0.85) {
    out[hostileString(rng).slice(0, 200)] = hostileValue(rng);
  } else if (typeof schema.additionalProperties === 'object') {
    out[rng.pick(HOSTILE_STRINGS)] = hostileValue(rng);
  } else {
    out[rng.pick(['admin', 'roles', 'isAdmin', '__proto__', 'id'])] = hostileValue(rng);
  }
  return out;
}

/** A request body that is not a JSON object, or not JSON at all. */
export function malformedBody(rng: Random): { payload: string; contentType: string } {
  return rng.pick([
    { payload: '[]', contentType: 'application/json' },
    { payload: '"a string"', contentType: 'application/json' },
    { payload: '42', contentType: 'application/json' },
    { payload: 'null', contentType: 'application/json' },
    { payload: 'true', contentType: 'application/json' },
    { payload: '{"a":', contentType: 'application/json' },
    { payload: '{"a":"\\u0000"}', contentType: 'application/json' },
    { payload: '{"__proto__":{"admin":true}}', contentType: 'application/json' },
    { payload: '{"constructor":{"prototype":{"admin":true}}}', contentType: 'application/json' },
    { payload: `${'['.repeat(5000)}${']'.repeat(5000)}`, contentType: 'application/json' },
    { payload: '', contentType: 'application/json' },
    { payload: 'username=root&password=x', contentType: 'application/x-www-form-urlencoded' },
    { payload: '<a/>', contentType: 'text/xml' },
    { payload: '\u0000\u0001\u0002', contentType: 'application/octet-stream' },
  ]);
}
