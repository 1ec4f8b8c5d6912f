/**
 * The operations of a SCIM Bulk request (RFC 7644 §3.7), run in order:
 * consecutive operations on different users are batched into one push (one
 * transaction, one diff, one write), so a 50-record upload from Entra costs
 * one round trip to the store. `bulkId:` references are resolved to the ids
 * created before them; `failOnErrors` stops after that many failed operations.
 * A POST of a record that exists updates it (Entra's API-driven inbound posts
 * every record), so a retried Bulk changes nothing twice.
 *
 * Each operation ends in an outcome that names no HTTP status (the API renders
 * it). A run may resume one that stopped: the outcomes it already has are
 * skipped, and `record` is called inside each push's transaction with that
 * push's outcomes, so an operation's effect and the record that it ran commit
 * together — a resumed run never applies an operation twice.
 */
import type { Kysely } from 'kysely';
import { isJmlError, JmlError, type JmlErrorCode } from '../../domain/errors.ts';
import { attributeOf, type ScimObject } from '../../sources/scim-user-table.ts';
import type { Database } from '../../store/database.ts';
import { jmlErrorFromDriver } from '../../store/driver-errors.ts';
import { applyScimPatch } from './scim-patch.ts';
import type { PushedDelete, PushedUser, PushInput, PushResult } from './scim-push.ts';
import { readScimUser, type StoredUser } from './scim-resource-store.ts';

type Db = Kysely<Database>;

/** One operation as the client sent it (validated at the boundary). */
export interface BulkOperation {
  readonly method: string;
  readonly bulkId?: string | undefined;
  readonly path: string;
  readonly version?: string | undefined;
  readonly data?: unknown;
}

export interface BulkRequest {
  readonly operations: readonly BulkOperation[];
  readonly failOnErrors?: number | undefined;
}

/** What became of one operation; `position` is its place in the request. */
export type BulkOutcome =
  | { readonly position: number; readonly method: string; readonly bulkId?: string; readonly ok: true; readonly id: string; readonly created: boolean; readonly version: number | null; readonly user?: StoredUser | null }
  | { readonly position: number; readonly method: string; readonly bulkId?: string; readonly ok: false; readonly error: { readonly code: JmlErrorCode; readonly message: string; readonly details: Readonly<Record<string, unknown>> } };

export interface BulkRun {
  readonly source: string;
  readonly actor: string;
  readonly trigger: string;
  /** What each push is listed as among the imports (`scim Bulk <batch id>`). */
  readonly label: string;
  readonly dryRun: boolean;
  readonly request: BulkRequest;
  /** Outcomes of an earlier run of the same request: those operations are not run again. */
  readonly done?: readonly BulkOutcome[];
  /**
   * Called with each push's outcomes inside its transaction (and at the end with outcomes no push carried,
   * on `db`). Throwing rolls the push back and ends the run.
   */
  readonly record?: (db: Db, outcomes: readonly BulkOutcome[], push: PushResult | null) => Promise<void>;
  /**
   * Called once with every outcome and push of the run, inside the last push's transaction (or on `db` when
   * the run ends without a push), so what the caller records of the whole run commits with its last push
   * instead of in a transaction of its own. Throwing rolls that push back and ends the run.
   */
  readonly finish?: (db: Db, outcomes: readonly BulkOutcome[], pushes: readonly PushResult[]) => Promise<void>;
}

export interface BulkRunDeps {
  readonly db: Db;
  readonly push: (input: PushInput) => Promise<PushResult>;
  readonly now: () => Date;
}

/** The error of an outcome, as a JmlError again (for the API's one mapping to a status). */
export function outcomeError(outcome: Extract<BulkOutcome, { ok: false }>): JmlError {
  return new JmlError(outcome.error.code, outcome.error.message, { details: outcome.error.details });
}

function failure(position: number, method: string, bulkId: string | undefined, raised: unknown): BulkOutcome {
  const error = jmlErrorFromDriver(raised) ?? raised;
  if (!isJmlError(error)) throw raised;
  return { position, method, ...(bulkId ? { bulkId } : {}), ok: false, error: { code: error.code, message: error.message, details: error.details } };
}

/** Whether a value holds a `bulkId:` reference anywhere; looks without copying (most operations hold none). */
function mentionsBulkId(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('bulkId:');
  if (Array.isArray(value)) return value.some(mentionsBulkId);
  if (value && typeof value === 'object') {
    for (const k in value) if (mentionsBulkId((value as Record<string, unknown>)[k])) return true;
  }
  return false;
}

/** Replaces every `bulkId:<id>` string in a value with the id it was created as; names an unknown one in `missing`. */
function resolveReferences(value: unknown, ids: ReadonlyMap<string, string>, missing: Set<string>): unknown {
  if (!mentionsBulkId(value)) return value;
  if (typeof value === 'string' && value.startsWith('/')) {
    // A path names the resource as `/Users/bulkId:<id>`.
    return value.replace(/bulkId:([^/?#]+)/, (whole, bulkId: string) => {
      const id = ids.get(bulkId);
      if (id === undefined) missing.add(bulkId);
      return id === undefined ? whole : encodeURIComponent(id);
    });
  }
  if (typeof value === 'string') {
    if (!value.startsWith('bulkId:')) return value;
    const id = ids.get(value.slice('bulkId:'.length));
    if (id === undefined) missing.add(value.slice('bulkId:'.length));
    return id ?? value;
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, ids, missing));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, ids, missing)]));
  return value;
}

type Round = { ops: { op: BulkOperation; at: number }[]; users: PushedUser[]; deletes: PushedDelete[]; keys: Set<string>; bulkIds: Set<string> };
const emptyRound = (): Round => ({ ops: [], users: [], deletes: [], keys: new Set(), bulkIds: new Set() });

/**
 * Runs (or resumes) the operations; answers every operation's outcome in
 * request order, and the pushes made (a dry run's diffs).
 * @example const { outcomes } = await runBulkOperations({ db, push, now }, { source: 'entra', actor, trigger, label: 'scim Bulk b1', dryRun: false, request: { operations } })
 */
export async function runBulkOperations(deps: BulkRunDeps, run: BulkRun): Promise<{ readonly outcomes: readonly BulkOutcome[]; readonly pushes: readonly PushResult[] }> {
  const outcomes = new Map<number, BulkOutcome>((run.done ?? []).map((o) => [o.position, o]));
  const created = new Map<string, string>();
  for (const o of outcomes.values()) if (o.ok && o.bulkId) created.set(o.bulkId, o.id);
  let failed = [...outcomes.values()].filter((o) => !o.ok).length;
  const pushes: PushResult[] = [];
  // Failures found before their push runs are recorded with the next push (or at the end), in request order.
  let unrecorded: BulkOutcome[] = [];
  let round = emptyRound();
  const settle = (outcome: BulkOutcome) => {
    outcomes.set(outcome.position, outcome);
    unrecorded.push(outcome);
    if (!outcome.ok) failed += 1;
  };

  const sorted = (list: Iterable<BulkOutcome>) => [...list].sort((a, b) => a.position - b.position);
  /** Runs the round as one push; `last`: nothing follows it, so the run's `finish` goes in its transaction. */
  const flush = async (last = false) => {
    if (round.ops.length === 0) return;
    const { ops, users, deletes } = round;
    round = emptyRound();
    const pending = unrecorded;
    unrecorded = [];
    let settled: BulkOutcome[] = [];
    const { record, finish } = run;
    const inTransaction = async (trx: Db, pushed: PushResult) => {
      settled = roundOutcomes(ops, users.length, pushed);
      await record?.(trx, [...pending, ...settled], pushed);
      if (last && finish) await finish(trx, sorted([...outcomes.values(), ...settled]), [...pushes, pushed]);
    };
    const result = await deps.push({
      source: run.source, users, deletes, label: run.label, dryRun: run.dryRun, actor: run.actor, trigger: run.trigger, now: deps.now(),
      ...(record || (last && finish) ? { inTransaction } : {}),
    });
    pushes.push(result);
    if (!record && !(last && finish)) settled = roundOutcomes(ops, users.length, result);
    for (const o of settled) {
      outcomes.set(o.position, o);
      if (!o.ok) failed += 1;
      else if (o.bulkId) created.set(o.bulkId, o.id);
    }
  };

  // With failOnErrors every operation is its own push, so the count of failures is known before the next one runs.
  const stopOnErrors = run.request.failOnErrors !== undefined && run.request.failOnErrors > 0 ? run.request.failOnErrors : null;
  for (const [at, op] of run.request.operations.entries()) {
    if (outcomes.has(at)) continue;
    if (stopOnErrors !== null) await flush();
    if (stopOnErrors !== null && failed >= stopOnErrors) break;
    const method = op.method.toUpperCase();
    const refs = new Set<string>();
    resolveReferences([op.path, op.data], created, refs);
    // A reference to an operation still waiting in this round: run the round first, so its id is known.
    if ([...refs].some((r) => round.bulkIds.has(r))) await flush();
    const missing = new Set<string>();
    const [path, data] = resolveReferences([op.path, op.data], created, missing) as [string, unknown];
    if (missing.size > 0) {
      await flush();
      settle(failure(at, method, op.bulkId, new JmlError('conflict', `bulkId ${[...missing].join(', ')} names no operation that succeeded before this one`, { details: { scimType: 'invalidValue' } })));
      continue;
    }
    const match = /^\/Users(?:\/([^/?#]+))?$/i.exec(path);
    const id = match?.[1] ? decodeURIComponent(match[1]) : null;
    const validPath = match && (method === 'POST' ? id === null : id !== null) && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method);
    if (!validPath) {
      settle(failure(at, method, op.bulkId, new JmlError('invalid_input', `${method} ${path}: a Bulk operation is POST /Users, or PUT, PATCH or DELETE /Users/<id>`, { details: { scimType: 'invalidPath' } })));
      continue;
    }
    const resource = method === 'DELETE' || method === 'PATCH' ? null : data;
    if (resource !== null && (!resource || typeof resource !== 'object' || Array.isArray(resource))) {
      settle(failure(at, method, op.bulkId, new JmlError('invalid_input', `${method} ${path}: data must be a User resource`, { details: { scimType: 'invalidSyntax' } })));
      continue;
    }
    const key = (id ?? String(attributeOf(resource as ScimObject, 'externalId') ?? attributeOf(resource as ScimObject, 'userName') ?? '')).toLowerCase();
    if (round.keys.has(key)) await flush();
    try {
      if (method === 'DELETE') round.deletes.push({ id: id!, ifMatch: op.version ?? null });
      else if (method === 'PATCH') {
        const user = await readScimUser(deps.db, run.source, id!);
        if (!user) throw new JmlError('not_found', `no User ${id}`);
        const patch = data as { Operations?: unknown; operations?: unknown } | undefined;
        const operations = patch?.Operations ?? patch?.operations;
        if (!Array.isArray(operations)) throw new JmlError('invalid_input', 'PATCH data must carry Operations', { details: { scimType: 'invalidSyntax' } });
        round.users.push({ id: id!, resource: applyScimPatch(user.resource, operations), onExisting: 'update', ifMatch: op.version ?? `W/"${user.version}"` });
      } else round.users.push({ id, resource: resource as ScimObject, onExisting: 'update', ifMatch: op.version ?? null });
    } catch (error) {
      settle(failure(at, method, op.bulkId, error));
      continue;
    }
    round.ops.push({ op, at });
    round.keys.add(key);
    if (op.bulkId) round.bulkIds.add(op.bulkId);
  }
  const lastPushFinishes = round.ops.length > 0;
  await flush(true);
  if (unrecorded.length > 0 && run.record) await run.record(deps.db, unrecorded, null);
  if (!lastPushFinishes && run.finish) await run.finish(deps.db, sorted(outcomes.values()), pushes);
  return { outcomes: sorted(outcomes.values()), pushes };
}

/** The outcomes of one push's operations: users come first in a push's results, deletions after, each in request order. */
function roundOutcomes(ops: readonly { op: BulkOperation; at: number }[], userCount: number, result: PushResult): BulkOutcome[] {
  const isDelete = (o: { op: BulkOperation }) => o.op.method.toUpperCase() === 'DELETE';
  const index = new Map([...ops.filter((o) => !isDelete(o)).map((o, i) => [o, i] as const), ...ops.filter(isDelete).map((o, j) => [o, userCount + j] as const)]);
  return ops.map((entry) => {
    const { op, at } = entry;
    const method = op.method.toUpperCase();
    const outcome = result.operations[index.get(entry)!]!;
    if (!outcome.ok) return failure(at, method, op.bulkId, outcome.error);
    if (result.status === 'held') return failure(at, method, op.bulkId, new JmlError('held', result.heldReason ?? 'held', { details: { importId: result.importId } }));
    return { position: at, method, ...(op.bulkId ? { bulkId: op.bulkId } : {}), ok: true, id: outcome.id, created: outcome.created, version: outcome.user?.version ?? null, user: outcome.user };
  });
}
