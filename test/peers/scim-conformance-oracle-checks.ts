/**
 * Differential conformance checks: the provider's answers are compared with
 * what two independent implementations of RFC 7644 compute from the same
 * input — `scim2-parse-filter` (filters, §3.4.2.2) and `scim-patch` (PATCH,
 * §3.5.2), both by a third party and public domain. Here the judgement is
 * not jml's: when the provider and the oracle disagree, the check names the
 * filter or operations and both results.
 *
 * The oracles are loaded when the check runs; without them installed the
 * checks are skipped, saying so. Inputs avoid the
 * corners where the RFC leaves room and the oracles pick one reading (value
 * case-sensitivity, `ne` on an absent attribute).
 */
import { CheckFailed, CheckSkipped, LIST_RESPONSE, expect, expectStatus, field, hasSchema, literal, query, resources, userById, type CheckContext, type ConformanceCheck } from './scim-conformance-expect.ts';

type FilterOracle = { parse(filter: string): unknown; filter(ast: unknown): (resource: unknown) => boolean };
type PatchOracle = { scimPatch(resource: unknown, operations: unknown[]): unknown };

async function oracle<T>(name: string): Promise<T> {
  const specifier: string = name;
  try {
    return (await import(specifier)) as T;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') throw new CheckSkipped(`the independent oracle ${name} is not installed`);
    throw error;
  }
}

const FAMILY = ['Alpha', 'Beta', 'Gamma', 'Delta', 'Epsilon', 'Zeta'] as const;

/** Six users that differ in every attribute a filter below reads. */
async function population(context: CheckContext) {
  const users = [];
  for (const [i, family] of FAMILY.entries()) {
    const seed = context.seed('orc');
    const emails = [{ value: `${seed.externalId}@work.example.test`, type: 'work', primary: true }];
    if (i % 2 === 0) emails.push({ value: `${seed.externalId}@home.example.test`, type: 'home', primary: false });
    const attributes = {
      name: { givenName: 'Ada', familyName: family },
      displayName: `${family} Person`,
      emails,
      active: i % 3 !== 2,
      ...(i < 3 ? { title: 'Engineer' } : i < 5 ? { title: 'Manager' } : {}),
    };
    users.push(await context.createUser(attributes, seed));
  }
  // The oracle judges the users as the provider stores them, not as they were sent.
  const stored = [];
  for (const user of users) stored.push(await userById(context, user.id));
  return { stored, stem: `${context.prefix}-orc-` };
}

const FILTERS = [
  'title eq "Engineer"',
  'displayName ne "Alpha Person"',
  'displayName co "eta"',
  'displayName sw "Ga"',
  'displayName ew "Zeta Person"',
  'title pr',
  'name.familyName gt "Delta"',
  'name.familyName ge "Delta"',
  'name.familyName lt "Delta"',
  'name.familyName le "Delta"',
  'active eq false',
  'title eq "Manager" or displayName sw "Alpha"',
  'not (title eq "Engineer")',
  'emails[type eq "home"]',
  'emails[type eq "work" and value ew "@work.example.test"]',
  'emails.type eq "home"',
  'title eq "Engineer" and active eq true',
  '(title eq "Manager" or title eq "Engineer") and not (active eq false)',
  'DISPLAYNAME co "mm"',
  'externalId pr and name.familyName ne "Zeta"',
];

/** PATCH bodies, each applied to a fresh user that has a title and a work and a home email. */
const PATCHES: readonly (readonly Record<string, unknown>[])[] = [
  [{ op: 'replace', path: 'name.familyName', value: 'Oracle' }],
  [{ op: 'add', path: 'nickName', value: 'Orry' }],
  [{ op: 'remove', path: 'title' }],
  [{ op: 'replace', value: { displayName: 'Replaced Whole', title: 'Chief' } }],
  [{ op: 'add', path: 'emails', value: [{ value: 'extra@other.example.test', type: 'other' }] }],
  [{ op: 'remove', path: 'emails[type eq "home"]' }],
  [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'changed@work.example.test' }],
  [
    { op: 'replace', path: 'active', value: false },
    { op: 'replace', path: 'displayName', value: 'Two Operations' },
  ],
];

/** JSON with sorted keys and multi-valued attributes in a fixed order, so only content is compared. */
function canonical(value: unknown): string {
  const normal = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(normal).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k.toLowerCase(), normal((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(normal(value));
}

/** The top-level attributes a PATCH body touches: what the comparison looks at. */
function touched(operations: readonly Record<string, unknown>[]): string[] {
  const names = new Set<string>();
  for (const op of operations) {
    if (typeof op.path === 'string') names.add(op.path.split(/[.[]/)[0]!);
    else if (op.value && typeof op.value === 'object') for (const key of Object.keys(op.value)) names.add(key);
  }
  return [...names];
}

export const ORACLE_CHECKS: readonly ConformanceCheck[] = [
  {
    id: 'filter-oracle',
    name: 'twenty filters over eq ne co sw ew pr gt ge lt le, and/or/not and value paths select the same users as an independent filter implementation',
    source: 'RFC 7644 §3.4.2.2, judged by scim2-parse-filter',
    async run(context) {
      const { parse, filter } = await oracle<FilterOracle>('scim2-parse-filter');
      const { stored, stem } = await population(context);
      const disagreements: string[] = [];
      for (const expression of FILTERS) {
        const scoped = `userName sw ${literal(stem)} and (${expression})`;
        const answer = await context.request('GET', query(scoped, '&count=100'));
        const expected = stored.filter(filter(parse(scoped))).map((u) => field(u, 'id') as string).sort();
        if (answer.status !== 200 || !hasSchema(answer.json, LIST_RESPONSE)) {
          disagreements.push(`${expression}: provider answered ${answer.status} ${answer.text.slice(0, 120)}, oracle selects ${expected.length}`);
          continue;
        }
        const got = resources(answer).map((u) => field(u, 'id') as string).sort();
        const name = (ids: string[]) => ids.map((id) => field(stored.find((u) => u.id === id), 'name.familyName') ?? id).join(',') || '∅';
        if (got.join() !== expected.join()) disagreements.push(`${expression}: provider selects {${name(got)}}, oracle {${name(expected)}}`);
      }
      expect(disagreements.length === 0, `${disagreements.length} of ${FILTERS.length} filters disagree:\n${disagreements.join('\n')}`);
    },
  },
  {
    id: 'patch-oracle',
    name: 'eight PATCH bodies (paths, no path, value-path filters, several operations) leave the user as an independent PATCH implementation computes',
    source: 'RFC 7644 §3.5.2, judged by scim-patch',
    async run(context) {
      const { scimPatch } = await oracle<PatchOracle>('scim-patch');
      const disagreements: string[] = [];
      for (const operations of PATCHES) {
        const seed = context.seed('pat');
        const emails = [
          { value: `${seed.externalId}@work.example.test`, type: 'work', primary: true },
          { value: `${seed.externalId}@home.example.test`, type: 'home', primary: false },
        ];
        const user = await context.createUser({ title: 'Engineer', emails }, seed);
        const before = await userById(context, user.id);
        const answer = await context.request('PATCH', `/Users/${encodeURIComponent(user.id)}`, {
          body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: operations },
        });
        const label = JSON.stringify(operations);
        try {
          expectStatus(answer, [200, 204], `PATCH ${label}`);
        } catch (error) {
          disagreements.push((error as CheckFailed).message);
          continue;
        }
        const after = await userById(context, user.id);
        const expected = scimPatch(structuredClone(before), structuredClone(operations) as unknown[]);
        for (const attribute of touched(operations)) {
          const got = canonical(field(after, attribute) ?? null);
          const want = canonical(field(expected, attribute) ?? null);
          if (got !== want) disagreements.push(`${label}: ${attribute} is ${got}, oracle computes ${want}`);
        }
      }
      expect(disagreements.length === 0, `${disagreements.length} disagreement(s):\n${disagreements.join('\n')}`);
    },
  },
];
