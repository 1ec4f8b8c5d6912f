/**
 * The invariants checked after every history, once faults are healed and the
 * queue is drained. Each returns the violations it found, as sentences; the
 * systems are read straight from their state, not through jml's connector.
 */
import { sql } from 'kysely';
import { DateTime } from 'luxon';
import { leaverStatuses } from '../../src/app/leaver-sla.ts';
import type { LifecycleEvent, LifecycleEventType } from '../../src/domain/lifecycle-event.ts';
import { foldTimeline, type TimelineEvent } from '../../src/engine/timeline.ts';
import { verifyAudit } from '../../src/store/audit-log.ts';
import { addDays, MANAGER, plannerOf, today, type SystemAccount, type World } from './campaign-world.ts';

/** Every invariant, in the order a reader would check them. */
export async function checkInvariants(world: World): Promise<string[]> {
  return [
    ...world.refusedImports.map((r) => `an import of the model's feed was refused: ${r}`),
    ...(await statesAreFolds(world)),
    ...(await statusesMatchModel(world)),
    ...(await systemsMatchModel(world)),
    ...(await planIsEmpty(world)),
    ...(await changesRecordedOnce(world)),
    ...(await auditVerifies(world)),
    ...(await leaversComplete(world)),
  ];
}

interface StoredIdentity {
  readonly key: string;
  readonly status: string;
  readonly kind: string;
  readonly attributes: Record<string, unknown>;
  readonly start_date: string | null;
  readonly end_date: string | null;
}

async function identities(world: World): Promise<StoredIdentity[]> {
  return world.store.db.selectFrom('identities').select(['key', 'status', 'kind', 'attributes', 'start_date', 'end_date']).execute();
}

/** Each identity's stored state equals the pure fold of its lifecycle events at the history's end. */
async function statesAreFolds(world: World): Promise<string[]> {
  const rows = await world.store.db
    .selectFrom('lifecycle_events')
    .select(['id', 'seq', 'type', 'identity_key', sql<string>`to_char(effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.as('effective_at'), 'changes', 'state'])
    .execute();
  const timelines = new Map<string, TimelineEvent[]>();
  for (const r of rows) {
    const list = timelines.get(r.identity_key) ?? [];
    list.push({ id: r.id, seq: r.seq, type: r.type as LifecycleEventType, effectiveAt: r.effective_at, changes: r.changes, state: r.state as LifecycleEvent['state'] });
    timelines.set(r.identity_key, list);
  }
  const out: string[] = [];
  for (const stored of await identities(world)) {
    // A person first seen after they had already left is kept as history, with no event (src/sources/snapshot-diff.ts).
    if (!timelines.has(stored.key) && stored.status === 'left') continue;
    const fold = foldTimeline(stored.key, timelines.get(stored.key) ?? [], world.now.toISOString()).identity;
    const same = fold.status === stored.status && fold.kind === stored.kind && fold.startDate === stored.start_date && fold.endDate === stored.end_date
      && JSON.stringify(sorted(fold.attributes)) === JSON.stringify(sorted(stored.attributes));
    if (!same) out.push(`${stored.key}: stored state ${JSON.stringify(pick(stored))} differs from the fold of its events ${JSON.stringify({ status: fold.status, start: fold.startDate, end: fold.endDate, attributes: sorted(fold.attributes) })}`);
  }
  return out;
}

function sorted(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== null && v !== undefined && v !== '').sort(([a], [b]) => a.localeCompare(b)));
}

function pick(s: StoredIdentity) {
  return { status: s.status, start: s.start_date, end: s.end_date, attributes: sorted(s.attributes) };
}

/**
 * The model's own reading of HR at the end, with luxon rather than jml's
 * calendar: a start takes effect at the start of its day, a last working day
 * ends at midnight after it, both in the organisation's time zone (so across
 * a daylight-saving change too). A rehire not yet started is not judged:
 * whether jml saw the person leave depends on which feeds it was given.
 */
function modelStatus(world: World, key: string): 'active' | 'left' | 'pending' | null {
  const p = world.people.get(key);
  if (!p) return null;
  const at = (day: string) => DateTime.fromISO(day, { zone: world.timeZone }).startOf('day').toMillis();
  const now = world.now.getTime();
  if (p.status === 'terminated' && now >= at(addDays(p.end, 1))) return 'left';
  if (now >= at(p.start)) return 'active';
  return p.rehired ? null : 'pending';
}

async function statusesMatchModel(world: World): Promise<string[]> {
  const stored = new Map((await identities(world)).map((i) => [i.key, i.status]));
  const out: string[] = [];
  for (const key of world.people.keys()) {
    const expected = modelStatus(world, key);
    if (expected && stored.get(key) !== expected) out.push(`${key}: HR says ${expected} at ${today(world)} (${JSON.stringify(world.people.get(key))}), jml has ${stored.get(key) ?? 'no identity'}`);
  }
  return out;
}

/** Grants the model says an active person holds, by system. */
function modelGrants(world: World, key: string): Record<string, string[]> {
  const p = world.people.get(key);
  const wiki = ['staff'];
  if (p?.department === 'Engineering' && world.engineeringRule) wiki.push('eng');
  const crm = p?.department === 'Sales' || key === MANAGER ? ['users'] : [];
  // The real directory, where a target has one, gets what the wiki gets from rules.
  return { wiki: wiki.sort(), crm, dir: [...wiki].sort() };
}

/** Accounts and grants in each system, read from the system's own state. */
async function systemsMatchModel(world: World): Promise<string[]> {
  const out: string[] = [];
  const status = new Map((await identities(world)).map((i) => [i.key, i.status]));
  for (const [name, list] of await world.target.accounts(world)) {
    const byIdentity = new Map<string, SystemAccount[]>();
    for (const account of list) byIdentity.set(account.identityKey, [...(byIdentity.get(account.identityKey) ?? []), account]);
    for (const [key, accounts] of byIdentity) {
      if (accounts.length > 1) out.push(`${name}: ${key} has ${accounts.length} accounts (duplicate create)`);
      const s = status.get(key);
      if (s === 'left' && accounts.some((a) => a.enabled || a.grants.length > 0)) out.push(`${name}: leaver ${key} still has ${JSON.stringify(accounts)}`);
    }
    for (const [key, s] of status) {
      if (s !== 'active') continue;
      const admins = name === 'wiki' && world.approvedAdmins.has(key) ? ['admins'] : [];
      const expected = [...(modelGrants(world, key)[name] ?? []), ...admins].sort();
      const accounts = byIdentity.get(key) ?? [];
      const held = accounts.filter((a) => a.enabled).flatMap((a) => a.grants).sort();
      if (expected.length > 0 && accounts.filter((a) => a.enabled).length !== 1) out.push(`${name}: active ${key} should have one enabled account, has ${JSON.stringify(accounts)}`);
      // An approved admins grant may have been taken away since by a leave and rehire: only an unexpected grant is judged for it.
      const unexplained = held.filter((g) => !expected.includes(g) && !(g === 'admins' && world.approvedAdmins.has(key)));
      const missing = expected.filter((g) => !held.includes(g) && g !== 'admins');
      if (unexplained.length || missing.length) out.push(`${name}: active ${key} holds ${JSON.stringify(held)}, the model says ${JSON.stringify(expected)}`);
    }
  }
  return out;
}

/** Once healed, a fresh plan has nothing left to do: the systems hold what the desired state says. */
async function planIsEmpty(world: World): Promise<string[]> {
  const { plan } = await plannerOf(world).compute();
  return plan.changes.length === 0 ? [] : [`after healing a fresh plan still has ${plan.changes.length} change(s): ${plan.changes.slice(0, 4).map((c) => c.id).join(', ')}`];
}

/**
 * No change is left planned or running once the queue drained (a change parked
 * by faults is fine when the fresh plan is empty: a later plan did it), and
 * each is confirmed at most once in the audit trail.
 */
async function changesRecordedOnce(world: World): Promise<string[]> {
  const out: string[] = [];
  const open = await world.store.db.selectFrom('plan_changes').select(['plan_id', 'change_id', 'state', 'last_error']).where('state', 'in', ['planned', 'running']).execute();
  for (const o of open) out.push(`plan ${o.plan_id}: change ${o.change_id} left ${o.state} (${o.last_error ?? ''})`);
  const confirmed = await world.store.db.selectFrom('audit_log').select(['trigger', sql<string>`details->>'change'`.as('change')]).where('action', '=', 'change.confirmed').execute();
  const seen = new Map<string, number>();
  for (const c of confirmed) seen.set(`${c.trigger} ${c.change}`, (seen.get(`${c.trigger} ${c.change}`) ?? 0) + 1);
  for (const [change, n] of seen) if (n > 1) out.push(`${change} confirmed ${n} times in the audit trail`);
  return out;
}

async function auditVerifies(world: World): Promise<string[]> {
  const verdict = await verifyAudit(world.store.db);
  return verdict.ok ? [] : [`audit verify failed: ${JSON.stringify(verdict)}`];
}

/** Every identity that has left (after a leaver event: history kept with no event never had access) has a complete leaver in the SLA report. */
async function leaversComplete(world: World): Promise<string[]> {
  const withLeaver = new Set((await world.store.db.selectFrom('lifecycle_events').select('identity_key').where('type', '=', 'leaver').execute()).map((e) => e.identity_key));
  const left = (await identities(world)).filter((i) => i.status === 'left' && withLeaver.has(i.key)).map((i) => i.key);
  const statuses = await leaverStatuses(world.store.db, world.now);
  const out: string[] = [];
  for (const key of left) {
    const latest = statuses.filter((s) => s.identityKey === key).sort((a, b) => b.effectiveAt.localeCompare(a.effectiveAt))[0];
    if (!latest) out.push(`leaver ${key} is missing from the leaver SLA report`);
    else if (latest.state !== 'complete') out.push(`leaver ${key} is ${latest.state} in the SLA report: ${JSON.stringify(latest.steps.filter((s) => !s.confirmedAt).map((s) => `${s.changeId} ${s.state}`))}`);
  }
  return out;
}
