/**
 * A SCIM 2.0 service provider for tests, run as its own process (SCIMMY keeps
 * its resource handlers in static, process-wide state, so one server per
 * process is also the only safe arrangement). The RFC 7643/7644 logic —
 * filters, PATCH, list responses, schemas — is SCIMMY's; this wrapper only
 * stores resources in memory (indexed, as a provider would: see
 * scim-resource-store.ts), applies group member PATCHes itself (see
 * memberPatch), checks the bearer token, fills the gaps a real
 * SaaS would not have (Location on 201, WWW-Authenticate on 401, userName
 * uniqueness) and injects faults on request from the parent over IPC.
 *
 * Started by `startScimServer()` in scim-server.ts; can also be run by hand:
 * `SCIM_TOKEN=t node test/peers/scim-server-process.ts` prints its URL.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';
import { createResourceStore, type ParsedFilter, type ResourceStore, type Stored } from './scim-resource-store.ts';

export interface FaultPlan {
  /** Answer the next `count` requests with 429 and this Retry-After (seconds). */
  readonly tooManyRequests?: { readonly count: number; readonly retryAfterSeconds: number };
  /** Answer the next `count` requests with 503, with Retry-After when given. */
  readonly unavailable?: { readonly count: number; readonly retryAfterSeconds?: number };
  /** Delay every response by this many milliseconds until cleared (0). */
  readonly delayMs?: number;
}

export interface RequestLogEntry {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Milliseconds since the epoch when the request arrived. */
  readonly at: number;
}

const token = process.env.SCIM_TOKEN ?? '';
if (!token) throw new Error('SCIM_TOKEN must be set');

const users = createResourceStore();
const groups = createResourceStore();
const log: RequestLogEntry[] = [];
let faults = { tooMany: 0, tooManyAfter: 0, unavailable: 0, unavailableAfter: -1, delayMs: 0 };

/**
 * Resolves a resource handler call against one collection: by id, or the
 * filtered list. Filters are checked against the stored resources (SCIMMY's
 * match only reads them) and only the matches are copied out.
 */
function egressFrom(store: ResourceStore) {
  return (resource: { id?: string; filter?: ParsedFilter & { match(values: unknown[]): unknown[] }; attributes?: ParsedFilter }, escaped?: EscapedFilter) => {
    const copy = withoutMembers(resource.attributes) ? ({ members: _, ...rest }: Stored) => structuredClone(rest) : (r: Stored) => structuredClone(r);
    if (resource.id) {
      const found = store.get(resource.id);
      if (!found) throw new SCIMMY.Types.Error(404, null as unknown as string, `Resource ${resource.id} not found`);
      return [copy(found)];
    }
    let matched: Stored[];
    if (escaped) {
      const candidates = store.candidates([{ [escaped.path.join('.')]: ['eq', escaped.value] }]) ?? [...store.values()];
      matched = candidates.filter((r) => matchesEscaped(r, escaped));
    } else if (resource.filter) {
      matched = resource.filter.match(store.candidates(resource.filter) ?? [...store.values()]) as Stored[];
    } else {
      matched = [...store.values()];
    }
    return matched.map(copy);
  };
}

/**
 * Whether the request's `attributes` leave out a group's members (or its
 * `excludedAttributes` name them): then they are not copied out, and SCIMMY
 * does not coerce thousands of members only to drop them.
 */
function withoutMembers(attributes: ParsedFilter | undefined): boolean {
  const term = attributes?.[0];
  if (!term) return false;
  const operators = Object.entries(term).map(([name, expression]) => [name.toLowerCase(), Array.isArray(expression) ? String(expression[0]).toLowerCase() : ''] as const);
  const members = operators.find(([name]) => name === 'members');
  if (operators.every(([, operator]) => operator === 'pr')) return !members;
  return members?.[1] === 'np';
}

/**
 * SCIMMY's filter lexer ends a string at the first `"` and keeps backslashes
 * as they are, so a JSON-escaped value (RFC 7644 §3.4.2.2: values are JSON
 * strings) can neither be parsed nor matched. A real provider decodes them.
 * The wrapper handles the one shape a client sends for look-ups — `attr eq
 * "json string"` — itself whenever the filter contains an escape.
 */
interface EscapedFilter {
  readonly path: readonly string[];
  readonly value: string;
}

const ESCAPED_EQ = /^\s*([A-Za-z][\w:.]*)\s+eq\s+("(?:[^"\\]|\\.)*")\s*$/i;

function parseEscapedFilter(filter: unknown): EscapedFilter | null | 'invalid' {
  if (typeof filter !== 'string' || !filter.includes('\\')) return null;
  const match = ESCAPED_EQ.exec(filter);
  if (!match) return null;
  try {
    return { path: match[1]!.split('.'), value: JSON.parse(match[2]!) as string };
  } catch {
    return 'invalid';
  }
}

function matchesEscaped(resource: Record<string, unknown>, filter: EscapedFilter): boolean {
  let current: unknown = resource;
  for (const part of filter.path) {
    if (!current || typeof current !== 'object') return false;
    const key = Object.keys(current).find((k) => k.toLowerCase() === part.toLowerCase());
    current = key === undefined ? undefined : (current as Record<string, unknown>)[key];
  }
  if (typeof current !== 'string') return false;
  // userName is case-insensitive in RFC 7643 §4.1.1; other strings compared exactly.
  const last = filter.path.at(-1)?.toLowerCase();
  return last === 'username' ? current.toLowerCase() === filter.value.toLowerCase() : current === filter.value;
}

function ingressInto(store: ResourceStore, uniqueAttribute: string) {
  return (resource: { id?: string }, instance: Record<string, unknown>) => {
    const now = new Date().toISOString();
    // SCIMMY hands over a schema instance of getters; keep plain data only.
    const data = JSON.parse(JSON.stringify(instance)) as Record<string, unknown>;
    const value = instance[uniqueAttribute];
    // RFC 7643 makes userName unique and case-insensitive; a real provider answers 409.
    if (typeof value === 'string' && store.holder(uniqueAttribute, value, resource.id)) {
      throw new SCIMMY.Types.Error(409, 'uniqueness', `${uniqueAttribute} ${JSON.stringify(value)} is already taken`);
    }
    if (resource.id) {
      const existing = store.get(resource.id);
      if (!existing) throw new SCIMMY.Types.Error(404, null as unknown as string, `Resource ${resource.id} not found`);
      const updated: Stored = { ...data, id: existing.id, meta: { created: existing.meta.created, lastModified: now } };
      store.set(updated);
      return structuredClone(updated);
    }
    const created: Stored = { ...data, id: randomUUID(), meta: { created: now, lastModified: now } };
    store.set(created);
    return structuredClone(created);
  };
}

function degressFrom(store: ResourceStore, onDelete?: (id: string) => void) {
  return (resource: { id?: string }) => {
    if (!resource.id || !store.delete(resource.id)) throw new SCIMMY.Types.Error(404, null as unknown as string, `Resource ${resource.id} not found`);
    onDelete?.(resource.id);
  };
}

SCIMMY.Resources.declare(
  SCIMMY.Resources.User.ingress(ingressInto(users, 'userName') as never)
    .egress(egressFrom(users) as never)
    .degress(
      degressFrom(users, (id) => {
        // A deleted user leaves every group, as on real providers.
        for (const group of groups.values()) {
          const members = group.members as { value: string }[] | undefined;
          if (members) group.members = members.filter((m) => m.value !== id);
        }
      }) as never,
    ),
);
SCIMMY.Resources.declare(
  SCIMMY.Resources.Group.ingress(ingressInto(groups, 'displayName') as never)
    .egress(egressFrom(groups) as never)
    .degress(degressFrom(groups) as never),
);

const app = express();

app.use((req: Request, res: Response, next: NextFunction) => {
  const entry = { method: req.method, path: req.originalUrl, at: Date.now() };
  res.on('finish', () => log.push({ ...entry, status: res.statusCode }));
  // Express 5 re-parses req.query on every read, so scimmy-routers' cast of
  // startIndex/count to numbers would be lost and paging ignored: pin a copy.
  const query: Record<string, unknown> = { ...req.query };
  Object.defineProperty(req, 'query', { value: query, writable: true, configurable: true });
  const escaped = parseEscapedFilter(query.filter);
  if (escaped === 'invalid') {
    res.status(400).type('application/scim+json');
    res.send(JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: 'invalidFilter', detail: 'Malformed string in filter' }));
    return;
  }
  if (escaped) {
    delete query.filter;
    res.locals.escapedFilter = escaped;
  }
  const respond = () => {
    if (faults.tooMany > 0) {
      faults.tooMany--;
      res.status(429).set('Retry-After', String(faults.tooManyAfter)).type('application/scim+json');
      res.send(JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429', detail: 'Too many requests' }));
      return;
    }
    if (faults.unavailable > 0) {
      faults.unavailable--;
      if (faults.unavailableAfter >= 0) res.set('Retry-After', String(faults.unavailableAfter));
      res.status(503).type('application/scim+json');
      res.send(JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '503', detail: 'Service unavailable' }));
      return;
    }
    next();
  };
  if (faults.delayMs > 0) setTimeout(respond, faults.delayMs);
  else respond();
});

// Gaps in scimmy-routers that real providers fill: Location on 201 (RFC 7644 §3.3), WWW-Authenticate on 401 (RFC 6750 §3).
app.use((req: Request, res: Response, next: NextFunction) => {
  const send = res.send.bind(res);
  res.send = (body?: unknown) => {
    if (res.statusCode === 201 && !res.get('Location')) {
      const id = readId(body);
      if (id) res.set('Location', `${req.protocol}://${req.get('host')}${req.originalUrl.split('?')[0]!.replace(/\/$/, '')}/${id}`);
    }
    if (res.statusCode === 401) res.set('WWW-Authenticate', 'Bearer realm="scim"');
    return send(body);
  };
  next();
});

function readId(body: unknown): string | null {
  if (body && typeof body === 'object' && 'id' in body) return String((body as { id: unknown }).id);
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { id?: unknown };
      return typeof parsed.id === 'string' ? parsed.id : null;
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * Group member PATCHes (`add` of `members` values, `remove` of
 * `members[value eq "id"]`) are applied to the stored group here, and a
 * group's members alone are read here, rather than by SCIMMY, which coerces the whole group through its schema twice per
 * PATCH: measured 3.5 s per PATCH at 3,000 members (load ~17), where a
 * provider with a membership table spends microseconds. Anything else —
 * another operation, a member that is not there to remove, a missing group —
 * goes on to SCIMMY and gets its answer. The request log and faults apply as
 * to every request (the middleware above runs first).
 */
const MEMBER_FILTER = /^members\[value eq ("(?:[^"\\]|\\.)*")\]$/i;

function memberPatch(body: unknown, members: readonly { value: string }[]): { value: string }[] | null {
  const operations = (body as { Operations?: unknown } | null)?.Operations;
  if (!Array.isArray(operations) || operations.length === 0) return null;
  let next = [...members];
  for (const operation of operations as { op?: unknown; path?: unknown; value?: unknown }[]) {
    const op = typeof operation.op === 'string' ? operation.op.toLowerCase() : '';
    const path = typeof operation.path === 'string' ? operation.path : '';
    if (op === 'add' && path.toLowerCase() === 'members' && Array.isArray(operation.value) && operation.value.every((v: { value?: unknown }) => typeof v?.value === 'string')) {
      next = [...next, ...(operation.value as { value: string }[]).map((v) => ({ value: v.value }))];
      continue;
    }
    const filter = op === 'remove' ? MEMBER_FILTER.exec(path) : null;
    if (!filter) return null;
    const id = JSON.parse(filter[1]!) as string;
    if (!next.some((m) => m.value === id)) return null;
    next = next.filter((m) => m.value !== id);
  }
  return next;
}

app.patch('/scim/v2/Groups/:id', express.json({ type: ['application/scim+json', 'application/json'], limit: '10mb' }), (req: Request, res: Response, next: NextFunction) => {
  const group = groups.get(String(req.params.id));
  if (req.header('Authorization') !== `Bearer ${token}` || !group) return next();
  const members = memberPatch(req.body, (group.members as { value: string }[] | undefined) ?? []);
  if (!members) return next();
  groups.set({ ...group, members, meta: { ...group.meta, lastModified: new Date().toISOString() } });
  res.status(204).end();
});

// The same for reading a group's members alone (`?attributes=members`), which a client does before each add.
app.get('/scim/v2/Groups/:id', (req: Request, res: Response, next: NextFunction) => {
  const group = groups.get(String(req.params.id));
  if (req.header('Authorization') !== `Bearer ${token}` || !group || String(req.query.attributes ?? '').toLowerCase() !== 'members') return next();
  res.status(200).type('application/scim+json');
  res.send(JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: group.id, members: group.members ?? [] }));
});

app.use(
  '/scim/v2',
  new SCIMMYRouters({
    type: 'bearer',
    docUri: 'http://127.0.0.1/docs/auth',
    handler: (request: Request) => {
      if (request.header('Authorization') !== `Bearer ${token}`) throw new Error('Bearer token missing or invalid');
      return 'jml-test-client';
    },
    context: (request: Request) => request.res?.locals.escapedFilter,
  }),
);

const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/scim/v2`;
  if (process.send) process.send({ type: 'ready', url });
  else console.log(url);
});

type ControlMessage =
  | { id: number; type: 'faults'; plan: FaultPlan }
  | { id: number; type: 'users' | 'groups' | 'requests' | 'reset' };

process.on('message', (message: ControlMessage) => {
  const reply = (value: unknown) => process.send?.({ type: 'reply', id: message.id, value });
  switch (message.type) {
    case 'faults': {
      const { tooManyRequests, unavailable, delayMs } = message.plan;
      faults = {
        tooMany: tooManyRequests?.count ?? faults.tooMany,
        tooManyAfter: tooManyRequests?.retryAfterSeconds ?? faults.tooManyAfter,
        unavailable: unavailable?.count ?? faults.unavailable,
        unavailableAfter: unavailable ? (unavailable.retryAfterSeconds ?? -1) : faults.unavailableAfter,
        delayMs: delayMs ?? faults.delayMs,
      };
      return reply(null);
    }
    case 'users':
      return reply([...users.values()]);
    case 'groups':
      return reply([...groups.values()]);
    case 'requests':
      return reply(log);
    case 'reset':
      users.clear();
      groups.clear();
      log.length = 0;
      faults = { tooMany: 0, tooManyAfter: 0, unavailable: 0, unavailableAfter: -1, delayMs: 0 };
      return reply(null);
  }
});
process.on('disconnect', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
