/**
 * What a push costs the database, statement by statement: each statement is a
 * round trip, and a Bulk of 50 records must not pay one per record, nor one for
 * work that does not depend on what was pushed. Statements are read from the
 * push's own handle (a Kysely plugin compiles each one as it is sent).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, PostgresQueryCompiler, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type UnknownRow } from 'kysely';
import { testBackends } from '../../../test/support/backends.ts';
import { testConfig } from '../../../test/support/hr-files.ts';
import { getIdentity } from '../../store/identity-store.ts';
import type { Store } from '../../store/open-store.ts';
import type { ScimObject } from '../../sources/scim-user-table.ts';
import { scimUser } from '../../../test/support/scim-user.ts';
import { scopedStateQuery } from '../import-state.ts';
import { pushTargetsQuery } from './scim-push-targets.ts';
import { pushUsers, type PushInput } from './scim-push.ts';

const config = testConfig({ timezone: 'Europe/Berlin', sources: { entra: { type: 'scim' } }, mass_change: { minimum: 100, percent: 50 } });

/**
 * Every statement sent through the handle, as SQL, in the order they were answered. A query embedded in
 * another (a sub-select) is compiled through the plugin too but never sent: only queries that come back
 * with a result are statements.
 */
class StatementLog implements KyselyPlugin {
  readonly sql: string[] = [];
  readonly #compiler = new PostgresQueryCompiler();
  readonly #compiled = new Map<unknown, string>();
  transformQuery({ node, queryId }: PluginTransformQueryArgs) {
    this.#compiled.set(queryId, this.#compiler.compileQuery(node, queryId).sql);
    return node;
  }
  async transformResult({ result, queryId }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    this.sql.push(this.#compiled.get(queryId)!);
    this.#compiled.delete(queryId);
    return result;
  }
  /** The tables written, in order: `insert into "t"`, `update "t"`, `delete from "t"` (an upsert's DO UPDATE and a FOR UPDATE are not writes of their own). */
  written(): string[] {
    return this.sql.flatMap((s) => [...s.matchAll(/(?<!(?:do|for)\s+)\b(?:insert\s+into|update|delete\s+from)\s+"?(\w+)"?/gi)].map((m) => m[1]!));
  }
}

/** Everyone but M0 reports to M0. */
const user = (id: string, department = 'Engineering', startDate = '2026-01-05'): ScimObject =>
  scimUser(id, { enterprise: { department, ...(id === 'M0' ? {} : { manager: { value: 'M0' } }) }, jml: { startDate } });

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

for (const backend of testBackends()) {
  describe(`what an inbound push costs the database, on ${backend.name}`, () => {
    let store: Store;
    const now = new Date('2026-11-22T10:00:00Z');
    /** Pushes through a handle that logs its statements. */
    const push = async (users: ScimObject[], o: Partial<PushInput> = {}) => {
      const log = new StatementLog();
      const result = await pushUsers(
        { db: store.db.withPlugin(log), config },
        { source: 'entra', users: users.map((resource) => ({ id: null, resource, onExisting: 'update', ifMatch: null })), deletes: [], label: 'scim Bulk', dryRun: false, actor: 'scim:entra:test', trigger: 'test', now, ...o },
      );
      return { result, log };
    };

    before(async () => {
      store = await backend.open();
      await push([user('M0')]);
    });
    after(async () => store.close());

    test('a push of new Users writes each table once, in as many statements for thirty Users as for three', async () => {
      const few = await push(ids('A', 3).map((id) => user(id)));
      const many = await push(ids('B', 30).map((id) => user(id)));
      assert.equal(many.result.counts.joiners, 30);
      assert.deepEqual(many.log.written(), ['identities', 'source_records', 'lifecycle_events', 'audit_log', 'audit_head', 'imports', 'scim_resources']);
      assert.equal(many.log.sql.length, few.log.sql.length);
      assert.ok(many.log.sql.length <= 9, `${many.log.sql.length} statements:\n${many.log.sql.join('\n')}`);
    });

    test('pushing Users already stored takes the lock, reads once and writes nothing', async () => {
      const { result, log } = await push(ids('B', 30).map((id) => user(id)));
      assert.deepEqual(result.events, []);
      assert.deepEqual(log.written(), []);
      // The stored Users and the state the diff needs come in one statement.
      assert.equal(log.sql.length, 2, log.sql.join('\n'));
    });

    test('a mover effective today is stored as applied when it is written, and audited so, not updated afterwards', async () => {
      const { result, log } = await push(ids('B', 5).map((id) => user(id, 'Sales')));
      assert.equal(result.counts.movers, 5);
      assert.equal(log.written().filter((t) => t === 'lifecycle_events').length, 1, 'the events are inserted once and not updated');
      // The re-fold reads the movers' rows and timelines in one statement: lock, one read, the re-fold's read, seven writes.
      const refoldReads = log.sql.filter((s) => /from "?identities"?|from "?lifecycle_events"?/i.test(s) && !/^\s*(with|insert|update)/i.test(s) && !/row_to_json\(t\)/.test(s));
      assert.equal(refoldReads.length, 1, log.sql.join('\n'));
      assert.equal(log.sql.length, 10, log.sql.join('\n'));
      const states = await store.db.selectFrom('lifecycle_events').select('state').where('type', '=', 'mover').execute();
      assert.deepEqual([...new Set(states.map((s) => s.state))], ['applied']);
      const audited = await store.db.selectFrom('audit_log').select('after').where('action', '=', 'lifecycle.mover').execute();
      assert.equal(audited.length, 5);
      assert.ok(audited.every((a) => (a.after as { state: string }).state === 'applied'));
      assert.equal((await getIdentity(store.db, 'B1'))!.attributes.department, 'Sales');
    });

    test('a leaver written as applied at once is still named by the status change it caused', async () => {
      const { result } = await push([{ ...user('B2', 'Sales'), active: 'False' }]);
      assert.deepEqual(result.events.map((e) => [e.type, e.key]), [['leaver', 'B2']]);
      const leaver = await store.db.selectFrom('lifecycle_events').select(['id', 'state']).where('identity_key', '=', 'B2').where('type', '=', 'leaver').executeTakeFirstOrThrow();
      assert.equal(leaver.state, 'applied');
      const change = await store.db.selectFrom('audit_log').select(['before', 'after', 'details']).where('action', '=', 'identity.status_changed').where('subject', '=', 'B2').executeTakeFirstOrThrow();
      assert.deepEqual([change.before, change.after, change.details], [{ status: 'active' }, { status: 'left' }, { events: [leaver.id] }]);
    });

    test('a push also brings into effect what fell due elsewhere, as an import does, without asking for it twice', async () => {
      await push([user('C1', 'Engineering', '2026-11-24')]);
      assert.equal((await getIdentity(store.db, 'C1'))!.status, 'pending');
      const later = new Date('2026-11-24T09:00:00Z');
      const { result, log } = await push([user('D1')], { now: later });
      assert.deepEqual(result.effective.map((e) => [e.type, e.identity]), [['joiner', 'C1']]);
      assert.equal((await getIdentity(store.db, 'C1'))!.status, 'active');
      // The due events come with the push's state: neither the import's "what crossed the instant" nor the clock's "what is due" is asked.
      assert.deepEqual(log.sql.filter((s) => /select distinct "identity_key" from "lifecycle_events"/i.test(s)), []);
    });

    test('the state a push reads finds its identities by key through the index, not by reading every identity', async () => {
      // Enough identities that reading each one costs more than looking fifty up: what a push waits for under the lock.
      await sql`INSERT INTO identities (key, kind, status, source, attributes)
        SELECT 'P' || n, 'employee', 'active', 'entra', jsonb_build_object('email', 'p' || n || '@example.com') FROM generate_series(1, 3000) n`.execute(store.db);
      await sql`ANALYZE identities`.execute(store.db);
      const keys = ids('P', 50);
      const read = scopedStateQuery(store.db, 'entra', now.toISOString(), 'email', { recordKeys: keys, references: ['M0'], correlationValues: keys.map((k) => `${k.toLowerCase()}@example.com`) }).compile();
      const { rows: [plan] } = await store.db.executeQuery<{ 'QUERY PLAN': unknown }>({ ...read, sql: `EXPLAIN (FORMAT JSON) ${read.sql}` });
      const nodes: { 'Node Type': string; 'Relation Name'?: string; Filter?: string }[] = [];
      const walk = (node: Record<string, unknown>) => { nodes.push(node as (typeof nodes)[number]); for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child); };
      const explained = plan!['QUERY PLAN'];
      walk((typeof explained === 'string' ? JSON.parse(explained) : explained)[0].Plan);
      const keyScans = nodes.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'identities' && /\bkey = ANY/.test(n.Filter ?? ''));
      assert.deepEqual(keyScans, [], 'the identities the push names by key are looked up in the primary key');
      const found = await scopedStateQuery(store.db, 'entra', now.toISOString(), 'email', { recordKeys: ['P7'], references: [], correlationValues: ['p9@example.com'] }).executeTakeFirstOrThrow();
      assert.deepEqual(found.identities?.map((i) => i.key).sort(), ['P7', 'P9'], 'by key and by correlation value, as before');
    });

    test('a push naming only Users already stored does not look for Users waiting for a manager: only a newcomer can be the one they wait for', async () => {
      /** How often the read of the waiting Users ran when the push's targets were read for these keys. */
      const waitingScans = async (keys: string[]) => {
        const read = pushTargetsQuery(store.db, 'entra', keys, [], true).compile();
        const { rows: [plan] } = await store.db.executeQuery<{ 'QUERY PLAN': unknown }>({ ...read, sql: `EXPLAIN (ANALYZE, FORMAT JSON) ${read.sql}` });
        const explained = plan!['QUERY PLAN'];
        const loops: number[] = [];
        const walk = (node: Record<string, unknown>) => {
          if (node['Relation Name'] === 'source_records') loops.push(node['Actual Loops'] as number);
          for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
        };
        walk((typeof explained === 'string' ? JSON.parse(explained) : explained)[0].Plan);
        return loops;
      };
      assert.deepEqual(await waitingScans(['B1', 'B3']), [0]);
      assert.deepEqual(await waitingScans(['B1', 'NEW1']), [1]);
    });
  });
}
