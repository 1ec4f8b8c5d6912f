/**
 * The vocabulary the SCIM conformance checks are written in: the check and
 * context types, the two verdict errors, and small expectations over SCIM
 * answers (status, error format, schema URNs, case-insensitive attribute
 * access per RFC 7643 §2.1).
 */

/** The values a check wants a created user to carry. */
export interface UserSeed {
  readonly userName: string;
  readonly externalId: string;
  readonly givenName: string;
  readonly familyName: string;
  readonly email: string;
}

/** A check that cannot run on this provider (an optional feature it does not advertise). */
export class CheckSkipped extends Error {}

/** An expectation the provider did not meet. */
export class CheckFailed extends Error {}

export interface ScimAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed body, or undefined when it was empty or not JSON. */
  readonly json: any;
  readonly text: string;
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Send no Authorization header, or this one instead of the run's token. */
  readonly authorization?: string | null;
}

/** What a check gets: requests against the provider, user factories, the provider's configuration. */
export interface CheckContext {
  request(method: string, path: string, options?: RequestOptions): Promise<ScimAnswer>;
  /**
   * Creates a user through POST /Users from the run's user template (with `seed`, or a fresh one),
   * then `overrides` on top; a failure here fails the check as "setup".
   */
  createUser(overrides?: Record<string, unknown>, seed?: UserSeed): Promise<Record<string, any>>;
  /** A seed with fresh, run-unique values; `tag` groups users a check will filter for. */
  seed(tag?: string): UserSeed;
  userBody(seed: UserSeed): Record<string, unknown>;
  /** GET /ServiceProviderConfig, fetched once per run (undefined when the provider does not answer 200). */
  serviceProviderConfig(): Promise<Record<string, any> | undefined>;
  /** The run's unique prefix: every userName it creates starts with it. */
  readonly prefix: string;
}

export interface ConformanceCheck {
  readonly id: string;
  readonly name: string;
  readonly source: string;
  run(context: CheckContext): Promise<void>;
}

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

export function brief(answer: ScimAnswer): string {
  return `${answer.status} ${answer.text.replace(/\s+/g, ' ').slice(0, 240)}`;
}

export function expectStatus(answer: ScimAnswer, allowed: number | readonly number[], what: string): void {
  const statuses = typeof allowed === 'number' ? [allowed] : allowed;
  expect(statuses.includes(answer.status), `${what}: expected HTTP ${statuses.join(' or ')}, got ${brief(answer)}`);
}

/** Reads a dotted path (`Resources.0.id`, `Operations.length`); attribute names are case-insensitive (RFC 7643 §2.1). */
export function field(value: unknown, path: string): any {
  let current: any = value;
  let rest = path;
  while (rest !== '') {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current) && (rest === 'length' || rest.startsWith('length.'))) {
      current = current.length;
      rest = rest.slice('length.'.length);
      continue;
    }
    // A key may itself hold dots: an extension's URN ("…:enterprise:2.0:User") is one key, not three (RFC 7644 §3.10).
    const lower = rest.toLowerCase();
    const key = Object.keys(current)
      .filter((k) => lower === k.toLowerCase() || lower.startsWith(`${k.toLowerCase()}.`))
      .sort((a, b) => b.length - a.length)[0];
    if (key === undefined) return undefined;
    current = current[key];
    rest = rest.slice(key.length + 1);
  }
  return current;
}

export function hasSchema(body: unknown, urn: string): boolean {
  const schemas = field(body, 'schemas');
  return Array.isArray(schemas) && schemas.some((s) => typeof s === 'string' && s.toLowerCase() === urn.toLowerCase());
}

export function resources(answer: ScimAnswer): any[] {
  const list = field(answer.json, 'Resources');
  return Array.isArray(list) ? list : [];
}

/** SCIM filter string literal: a JSON string (RFC 7644 §3.4.2.2). */
export const literal = (value: string) => JSON.stringify(value);
export const query = (filter: string, extra = '') => `/Users?filter=${encodeURIComponent(filter)}${extra}`;

export async function userById(context: CheckContext, id: string): Promise<any> {
  const answer = await context.request('GET', `/Users/${encodeURIComponent(id)}`);
  expectStatus(answer, 200, `GET /Users/${id}`);
  return answer.json;
}

export async function patch(context: CheckContext, id: string, operations: unknown[]): Promise<any> {
  const answer = await context.request('PATCH', `/Users/${encodeURIComponent(id)}`, { body: { schemas: [PATCH_OP], Operations: operations } });
  expectStatus(answer, [200, 204], `PATCH /Users/${id}`);
  return userById(context, id);
}

export async function feature(context: CheckContext, name: string): Promise<void> {
  const config = await context.serviceProviderConfig();
  if (field(config, `${name}.supported`) !== true) throw new CheckSkipped(`ServiceProviderConfig does not advertise ${name}.supported = true`);
}

export async function expectError(answer: ScimAnswer, status: number, what: string, scimType?: string): Promise<void> {
  expectStatus(answer, status, what);
  expect(hasSchema(answer.json, ERROR), `${what}: the error body does not carry the schema ${ERROR}: ${brief(answer)}`);
  expect(String(field(answer.json, 'status')) === String(status), `${what}: the error body's status is ${JSON.stringify(field(answer.json, 'status'))}, not "${status}"`);
  if (scimType) expect(field(answer.json, 'scimType') === scimType, `${what}: scimType is ${JSON.stringify(field(answer.json, 'scimType'))}, expected "${scimType}"`);
}

