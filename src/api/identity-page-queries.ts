/**
 * What the identity page reads about one identity besides its access: the
 * record, its manager's name, the timeline, credentials, owned and sponsored
 * identities, reports, tasks, changes, assignments and equipment. Each section
 * is a JSON aggregate of one prepared statement: every statement has a fixed
 * cost worth more than its index lookups (a round trip and a pooled
 * connection; on the embedded database even more), and planning this one
 * costs far more than running it (see prepared-query.ts). With access to
 * explain, identity-access.ts reads these sections and the access in one
 * statement; `readIdentityPage` is the page without it.
 */
import { sql, type Kysely } from 'kysely';
import { jsonArrayFrom, jsonObjectFrom } from 'kysely/helpers/postgres';
import type { Database } from '../store/database.ts';
import { preparedQuery, type ParamStandIns } from '../store/prepared-query.ts';

/** The identity's own columns, named (a prepared statement never selects `*`). */
export const IDENTITY_COLUMNS = ['key', 'kind', 'status', 'source', 'attributes', 'start_date', 'end_date', 'owner', 'sponsor'] as const;

/**
 * The page's sections of the identity `key` (a parameter's stand-in), to select
 * from `identities as i`; also read, with its access, by identity-access.ts.
 */
export function identityPageSections(db: Kysely<Database>, key: string) {
  return [
    jsonArrayFrom(db.selectFrom('lifecycle_events as e').select(['e.id', 'e.type', 'e.effective_date', 'e.detected_at', 'e.state', 'e.source', 'e.changes']).where('e.identity_key', '=', key).orderBy('e.effective_at', 'desc').orderBy('e.seq', 'desc').limit(100)).as('events'),
    jsonArrayFrom(db.selectFrom('credentials as c').select(['c.id', 'c.system', 'c.kind', 'c.name', 'c.created_at', 'c.last_rotated_at', 'c.expires_at', 'c.status']).where('c.identity_key', '=', key).orderBy('c.system')).as('credentials'),
    jsonArrayFrom(
      db.selectFrom('identities as o').select(['o.key', 'o.kind', 'o.status', 'o.attributes', 'o.owner']).where('o.owner', '=', key).union(db.selectFrom('identities as s').select(['s.key', 's.kind', 's.status', 's.attributes', 's.owner']).where('s.sponsor', '=', key)).limit(200),
    ).as('owned'),
    jsonArrayFrom(db.selectFrom('identities as r').select(['r.key', 'r.status', 'r.attributes']).where(sql`r.attributes->>'manager'`, '=', key).orderBy('r.key').limit(200)).as('reports'),
    jsonArrayFrom(db.selectFrom('tasks as t').select(['t.id', 't.system', 't.kind', 't.instruction', 't.status', 't.due_at']).where('t.identity_key', '=', key).orderBy('t.created_at', 'desc').limit(100)).as('tasks'),
    jsonArrayFrom(db.selectFrom('plan_changes as pc').select(['pc.plan_id', 'pc.change_id', 'pc.kind', 'pc.system', 'pc.state', 'pc.updated_at']).where('pc.identity_key', '=', key).orderBy('pc.updated_at', 'desc').limit(100)).as('changes'),
    jsonArrayFrom(db.selectFrom('assignments as a').select(['a.id', 'a.system', 'a.entitlement', 'a.reason_type', 'a.valid_to', 'a.state']).where('a.identity_key', '=', key).orderBy('a.created_at', 'desc').limit(200)).as('assignments'),
    jsonArrayFrom(db.selectFrom('assets as h').select(['h.tag', 'h.kind', 'h.description', 'h.status']).where('h.holder_key', '=', key).orderBy('h.tag')).as('assets'),
    jsonObjectFrom(db.selectFrom('identities as m').select(['m.key', 'm.attributes']).where('m.key', '=', sql<string>`i.attributes->>'manager'`)).as('manager'),
  ] as const;
}

const identityPage = preparedQuery('identity-page', (db: Kysely<Database>, p: ParamStandIns<{ key: string }>) =>
  db
    .selectFrom('identities as i')
    .select(IDENTITY_COLUMNS.map((c) => `i.${c}` as const))
    .select(identityPageSections(db, p.key))
    .where('i.key', '=', p.key),
);

/** The identity page's sections for one identity; undefined when no such identity exists. */
export async function readIdentityPage(db: Kysely<Database>, key: string) {
  const [row] = await identityPage.execute(db, { key });
  return row;
}

/** What `readIdentityPage` finds. */
export type IdentityPageRow = NonNullable<Awaited<ReturnType<typeof readIdentityPage>>>;
