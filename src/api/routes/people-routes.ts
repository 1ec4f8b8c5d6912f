/**
 * People: the list (search, filters, keyset paging, scoped to what the caller
 * may see), the identity page, and field-level edits.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import { JmlError } from '../../domain/errors.ts';
import { displayName, IDENTITY_KINDS, IDENTITY_STATUSES } from '../../domain/identity.ts';
import type { ApiDeps } from '../api-deps.ts';
import { seesEveryone, type Principal } from '../auth/principal.ts';
import { canSeeIdentity, reportsQuery } from '../identity-scope.ts';
import { defineRoute, page, pageQuery, type RouteDefinition } from '../route-definition.ts';
import { recordIdentityEdit } from '../../app/identity-edit.ts';
import { reviewIdentityEdit } from '../../app/identity-edit-guard.ts';
import { holdEditForApproval } from '../../app/identity-edit-approval.ts';
import type { Policy } from '../../domain/policy.ts';
import type { IdentityStatus } from '../../domain/identity.ts';
import { boundedAttributes, boundedString } from '../request-limits.ts';
import { findUnstorableText } from '../request-text.ts';
import { containing } from '../../store/like-pattern.ts';
import { readIdentityPage } from '../identity-page-queries.ts';
import { readPeopleByKey, readPersonRows, whereFiltered, type PersonRow } from '../people-list-queries.ts';
import { readChangeMark } from '../../store/change-mark.ts';
import { createListTotals, LIST_TOTAL_TTL_MS } from '../list-totals.ts';

const personSummary = z.object({
  key: z.string(),
  displayName: z.string(),
  kind: z.string(),
  status: z.string(),
  email: z.string().nullable(),
  department: z.string().nullable(),
  title: z.string().nullable(),
  manager: z.string().nullable(),
  startDate: z.string().nullable(),
  endDate: z.string().nullable(),
});

const attributes = z.record(z.string(), z.string().nullable());

const identityPage = z.object({
  identity: personSummary.extend({ source: z.string(), owner: z.string().nullable(), sponsor: z.string().nullable(), attributes, managerName: z.string().nullable() }),
  timeline: z.array(z.object({ id: z.string(), type: z.string(), effectiveDate: z.string(), detectedAt: z.string(), state: z.string(), source: z.string(), changes: z.record(z.string(), z.unknown()) })),
  access: z.object({
    available: z.boolean(),
    entitlements: z.array(z.object({ system: z.string(), entitlement: z.string(), state: z.enum(['ok', 'missing', 'not_desired']), because: z.array(z.string()), accountIds: z.array(z.string()), enforcement: z.string().nullable() })),
    desired: z.array(z.object({ system: z.string(), entitlement: z.string(), reasons: z.array(z.string()) })),
    accounts: z.array(z.object({ system: z.string(), accountId: z.string(), name: z.string(), enabled: z.boolean(), situation: z.string().nullable(), lastLoginAt: z.string().nullable(), grants: z.array(z.string()) })),
    /** A joiner whose activation waits on a joiner approval (pending), or was refused it (denied): the plan holds their accounts. */
    joinerHold: z.object({ requestId: z.string(), state: z.enum(['pending', 'denied']), stage: z.string().nullable(), approvers: z.array(z.string()) }).nullable(),
  }),
  assignments: z.array(z.object({ id: z.string(), system: z.string(), entitlement: z.string(), reasonType: z.string(), validTo: z.string().nullable(), state: z.string() })),
  credentials: z.array(z.object({ id: z.string(), system: z.string(), kind: z.string(), name: z.string(), createdAt: z.string(), lastRotatedAt: z.string().nullable(), expiresAt: z.string().nullable(), status: z.string() })),
  owned: z.array(z.object({ key: z.string(), displayName: z.string(), kind: z.string(), status: z.string(), relation: z.enum(['owner', 'sponsor']) })),
  reports: z.array(z.object({ key: z.string(), displayName: z.string(), status: z.string() })),
  tasks: z.array(z.object({ id: z.string(), system: z.string(), kind: z.string(), instruction: z.string(), status: z.string(), dueAt: z.string() })),
  changes: z.array(z.object({ planId: z.string(), changeId: z.string(), kind: z.string(), system: z.string().nullable(), state: z.string(), updatedAt: z.string() })),
  assets: z.array(z.object({ tag: z.string(), kind: z.string(), description: z.string(), status: z.string() })),
});

/** Attributes a person may change on their own record; everything else comes from HR. */
export const SELF_EDITABLE_ATTRIBUTES: readonly string[] = ['display_name', 'phone', 'pronouns'];

const patchBody = z
  .object({
    attributes: boundedAttributes().optional(),
    status: z.enum(IDENTITY_STATUSES).optional(),
    owner: boundedString('key').nullable().optional(),
    sponsor: boundedString('key').nullable().optional(),
  })
  .strict();

const accessChange = z.object({ system: z.string(), entitlement: z.string(), reasons: z.array(z.string()) });

/** With no policy wired, only the fields every policy relies on (manager, status…) are protected. */
const NO_POLICY: Policy = { systems: [], entitlements: [], roles: [], rules: [], approvals: [] };

type Row = { key: string; kind: string; status: string; attributes: Record<string, string | null>; start_date: string | null; end_date: string | null };

function summary(row: Row): z.input<typeof personSummary> {
  const a = row.attributes;
  return {
    key: row.key,
    displayName: displayName({ key: row.key, attributes: a }),
    kind: row.kind,
    status: row.status,
    email: a.email ?? null,
    department: a.department ?? null,
    title: a.title ?? null,
    manager: a.manager ?? null,
    startDate: row.start_date,
    endDate: row.end_date,
  };
}

/** The display name as `displayName` derives it, lower-cased, in SQL: the `sort=name` order. */
const SORT_NAME = sql<string>`lower(coalesce(nullif(attributes->>'display_name', ''), nullif(concat_ws(' ', nullif(attributes->>'first_name', ''), nullif(attributes->>'last_name', '')), ''), key))`;

/** A `sort=name` cursor back to its (name, key); anything else is a 400 naming the field. */
function nameCursor(cursor: string): { name: string; key: string } {
  try {
    const [name, key] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    // Decoded text never reached the request's own check for what the database cannot store (NUL, lone surrogates).
    if (typeof name === 'string' && typeof key === 'string' && findUnstorableText([name, key]) === null) return { name, key };
  } catch {
    // falls through to the refusal
  }
  throw new JmlError('invalid_input', 'query.cursor: not a cursor from this list', { details: { problems: [{ path: 'query.cursor', message: 'not a cursor from this list' }] } });
}

/** The fields of a patch this principal may not set on this identity. */
export function forbiddenFields(principal: Principal, targetKey: string, body: z.output<typeof patchBody>): string[] {
  const asked = [...Object.keys(body).filter((k) => k !== 'attributes' && body[k as keyof typeof body] !== undefined), ...Object.keys(body.attributes ?? {}).map((a) => `attributes.${a}`)];
  if (principal.roles.has('admin')) return [];
  if (principal.roles.has('hr')) return asked.filter((f) => f !== 'status' && !f.startsWith('attributes.'));
  if (principal.identityKey === targetKey) return asked.filter((f) => !SELF_EDITABLE_ATTRIBUTES.some((a) => f === `attributes.${a}`));
  return asked;
}

export function peopleRoutes(deps: ApiDeps): RouteDefinition[] {
  const { db } = deps;
  const totals = createListTotals(deps.now, LIST_TOTAL_TTL_MS, 1_000, () => readChangeMark(db));
  return [
    defineRoute({
      method: 'GET',
      url: '/api/people',
      summary: 'People and non-human identities the caller may see, by key (or by name with `sort=name`), with the total that match (counted at most every two seconds); search by name, email or key; filter by status, kind, department, manager.',
      tag: 'people',
      access: 'signed_in',
      query: pageQuery.extend({
        q: boundedString('name').trim().optional(),
        status: z.enum(IDENTITY_STATUSES).optional(),
        kind: z.enum(IDENTITY_KINDS).optional(),
        department: boundedString('name').optional(),
        manager: boundedString('key').optional(),
        sort: z.enum(['key', 'name']).default('key').describe('`name`: by display name, then key'),
        cursor: boundedString('text').optional().describe('from the previous page’s nextCursor'),
      }),
      response: page(personSummary).extend({ total: z.number().describe('how many match the filters, over every page') }),
      async handler({ query, principal }) {
        let q = db.selectFrom('identities');
        if (!seesEveryone(principal)) {
          const self = principal.identityKey ?? '';
          q = q.where((eb) =>
            eb.or([
              eb('key', '=', self),
              eb('owner', '=', self),
              eb('sponsor', '=', self),
              ...(principal.roles.has('manager') ? [eb('key', 'in', reportsQuery(self))] : []),
            ]),
          );
        }
        q = whereFiltered(q, query);
        if (query.q) {
          const like = containing(query.q);
          q = q.where((eb) =>
            eb.or([
              eb('key', 'ilike', like),
              eb(sql`attributes->>'email'`, 'ilike', like),
              eb(sql`coalesce(attributes->>'display_name', concat_ws(' ', attributes->>'first_name', attributes->>'last_name'))`, 'ilike', like),
            ]),
          );
        }
        // Who is asking decides what is counted: everyone, or one person's own scope.
        const viewer = seesEveryone(principal) ? '*' : [principal.identityKey, principal.roles.has('manager')];
        const counted = q.select(sql<number>`count(*)::int`.as('n'));
        const total = totals.get(JSON.stringify([viewer, query.status, query.kind, query.department, query.manager, query.q]), async () => (await counted.executeTakeFirstOrThrow()).n);
        let rows: PersonRow[];
        let nameAfter: string | null = null;
        if (query.sort === 'name') {
          // Keyset on (lower-cased display name, key); the cursor carries both.
          const after = query.cursor ? nameCursor(query.cursor) : null;
          if (after) q = q.where((eb) => eb(sql`(${SORT_NAME}, key)`, '>', sql`(${after.name}::text, ${after.key}::text)`));
          const named = await readPersonRows(q.select(SORT_NAME.as('sort_name')).orderBy(SORT_NAME).orderBy('key').limit(query.limit + 1), deps.backend);
          const lastShown = named[query.limit - 1];
          if (named.length > query.limit && lastShown) nameAfter = Buffer.from(JSON.stringify([lastShown.sort_name, lastShown.key])).toString('base64url');
          rows = named;
        } else if (seesEveryone(principal) && !query.q) {
          rows = await readPeopleByKey(db, deps.backend, query, query.cursor || null, query.limit + 1);
        } else {
          if (query.cursor) q = q.where('key', '>', query.cursor);
          rows = await readPersonRows(q.orderBy('key').limit(query.limit + 1), deps.backend);
        }
        const items = rows.slice(0, query.limit).map(summary);
        const last = items[items.length - 1];
        const nextCursor = query.sort === 'name' ? nameAfter : rows.length > query.limit && last ? last.key : null;
        return { items, nextCursor, total: await total };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/people/:key',
      summary: 'The identity page: attributes, timeline, desired versus actual access with reasons, accounts, credentials, owned identities, tasks, assets.',
      tag: 'people',
      access: 'signed_in',
      params: z.object({ key: boundedString('key').min(1) }),
      response: identityPage,
      async handler({ params, principal, deny }) {
        const key = params.key;
        // With access to explain, the page and its access are one statement; without, the page alone.
        const observed = deps.services.observed;
        const read = observed ? await observed.pageOf(key) : await readIdentityPage(db, key).then((page) => (page ? { page, access: async () => null } : null));
        if (!read || !(await canSeeIdentity(db, principal, key))) return deny('not_found', key, read ? 'outside the caller’s scope' : 'no such identity');
        const row = read.page;
        const { events, credentials, owned, reports, tasks, changes, assignments, assets, manager } = row;
        const access = await read.access();
        const iso = (value: string | Date) => new Date(value).toISOString();
        return {
          identity: { ...summary(row), source: row.source, owner: row.owner, sponsor: row.sponsor, attributes: row.attributes, managerName: manager ? displayName(manager) : null },
          timeline: events.map((e) => ({ id: e.id, type: e.type, effectiveDate: e.effective_date, detectedAt: iso(e.detected_at), state: e.state, source: e.source, changes: e.changes })),
          access: {
            available: access !== null,
            entitlements: access?.entitlements?.map((e) => ({ ...e, because: [...e.because], accountIds: [...e.accountIds] })) ?? [],
            desired: access?.desired.map((d) => ({ ...d, reasons: [...d.reasons] })) ?? [],
            accounts: access?.accounts.map((a) => ({ ...a, lastLoginAt: a.lastLoginAt ?? null, grants: [...a.grants] })) ?? [],
            joinerHold: access?.joinerHold ? { ...access.joinerHold, approvers: [...access.joinerHold.approvers] } : null,
          },
          assignments: assignments.map((a) => ({ id: a.id, system: a.system, entitlement: a.entitlement, reasonType: a.reason_type, validTo: a.valid_to === null ? null : iso(a.valid_to), state: a.state })),
          credentials: credentials.map((c) => ({ id: c.id, system: c.system, kind: c.kind, name: c.name, createdAt: c.created_at, lastRotatedAt: c.last_rotated_at, expiresAt: c.expires_at, status: c.status })),
          owned: owned.map((o) => ({ key: o.key, displayName: displayName(o), kind: o.kind, status: o.status, relation: o.owner === key ? ('owner' as const) : ('sponsor' as const) })),
          reports: reports.map((r) => ({ key: r.key, displayName: displayName(r), status: r.status })),
          tasks: tasks.map((t) => ({ id: t.id, system: t.system, kind: t.kind, instruction: t.instruction, status: t.status, dueAt: iso(t.due_at) })),
          changes: changes.map((c) => ({ planId: c.plan_id, changeId: c.change_id, kind: c.kind, system: c.system, state: c.state, updatedAt: iso(c.updated_at) })),
          assets: assets.map((a) => ({ ...a })),
        };
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/api/people/:key',
      summary:
        'Changes fields of an identity and returns the access it gains and loses (`dryRun=true`: only shows that). An edit that would give access waits for approval when an approval policy says `edits: true` (`approval` names the request). ' +
        'Admin: any field; HR: attributes and status; a person: their own display_name, phone, pronouns. ' +
        'Nobody changes the fields of their own identity that policy reads, nor makes themselves (or someone below them) another identity’s manager, sponsor or owner. Refusals are 403 and audited.',
      tag: 'people',
      access: 'signed_in',
      params: z.object({ key: boundedString('key').min(1) }),
      query: z.object({ dryRun: z.enum(['true', 'false']).default('false').transform((v) => v === 'true') }),
      body: patchBody,
      response: z.object({
        key: z.string(),
        attributes,
        status: z.string(),
        owner: z.string().nullable(),
        sponsor: z.string().nullable(),
        /** What the edit adds to and removes from the identity's desired access. */
        access: z.object({ gained: z.array(accessChange), lost: z.array(accessChange) }),
        dryRun: z.boolean(),
        /** Set when policy holds this edit for a second person's approval: nothing changed yet. */
        approval: z.object({ requestId: z.string(), stages: z.array(z.object({ name: z.string(), approvers: z.array(z.string()) })) }).nullable(),
      }),
      async handler({ params, query, body, principal, deny, actor, request }) {
        const row = await db.selectFrom('identities').selectAll().where('key', '=', params.key).executeTakeFirst();
        if (!row || !(await canSeeIdentity(db, principal, params.key))) return deny('not_found', params.key, row ? 'outside the caller’s scope' : 'no such identity');
        const refused = forbiddenFields(principal, params.key, body);
        if (refused.length > 0) return deny('forbidden', params.key, `may not set ${refused.join(', ')}`);
        const fields = {
          identityKey: params.key,
          ...(body.attributes ? { attributes: body.attributes } : {}),
          ...(body.status ? { status: body.status as IdentityStatus } : {}),
          ...(body.owner !== undefined ? { owner: body.owner } : {}),
          ...(body.sponsor !== undefined ? { sponsor: body.sponsor } : {}),
        };
        const policy = deps.services.policy ? await deps.services.policy() : NO_POLICY;
        const review = await reviewIdentityEdit(db, policy, fields, principal.identityKey, deps.now(), deps.timezone ?? 'UTC');
        if (review.refusal) return deny('forbidden', params.key, review.refusal);
        const impact = { gained: review.gained.map((c) => ({ ...c, reasons: [...c.reasons] })), lost: review.lost.map((c) => ({ ...c, reasons: [...c.reasons] })) };
        const unchanged = { key: row.key, attributes: row.attributes, status: row.status, owner: row.owner, sponsor: row.sponsor, access: impact };
        if (query.dryRun) return { ...unchanged, dryRun: true, approval: null };
        const held = await holdEditForApproval({ db, policy, timezone: deps.timezone ?? 'UTC', now: deps.now() }, fields, actor, review);
        if (held) return { ...unchanged, dryRun: false, approval: { requestId: held.requestId, stages: held.stages.map((s) => ({ name: s.name, approvers: [...s.approvers] })) } };
        const result = await db.transaction().execute(async (trx) => {
          const identity = await recordIdentityEdit(trx, {
            ...fields,
            actor,
            trigger: `api:${request.id}`,
            at: deps.now(),
            timezone: deps.timezone ?? 'UTC',
          });
          return { key: identity.key, attributes: identity.attributes, status: identity.status, owner: identity.owner, sponsor: identity.sponsor, access: impact, dryRun: false, approval: null };
        });
        // Status and manager decide whether a linked user may act and as what: drop cached principals once committed.
        deps.principalCache?.forgetWhere({ identityKey: params.key });
        return result;
      },
    }),
  ];
}
