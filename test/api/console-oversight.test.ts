/**
 * The API behind the console's oversight pages, on every backend: people by
 * name with a total, findings with the plan that fixes them and resolution by
 * hand, audit search and chain verification, systems with health and last
 * reconcile, and the inbox counts.
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { after, before, describe, test } from 'node:test';
import { syncFindings } from '../../src/app/findings-store.ts';
import { recordSystemFailure } from '../../src/app/quarantine.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { person, seedIdentities } from '../support/jml-fixture.ts';
import { seedOrganisation, startApi } from './api-fixture.ts';

for (const backend of testBackends()) {
  describe(`console oversight API (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;
    const get = async (url: string, role: keyof typeof api.sessions = 'admin') => {
      const res = await api.app.inject({ method: 'GET', url, headers: { cookie: api.sessions[role].cookie } });
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
      return res.json() as Record<string, unknown>;
    };
    const post = (url: string, payload: unknown, role: keyof typeof api.sessions = 'admin') =>
      api.app.inject({ method: 'POST', url, headers: { cookie: api.sessions[role].cookie, 'x-csrf-token': api.sessions[role].csrf }, payload: payload as Record<string, unknown> });

    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      await seedIdentities(store.db, [person('zz-1', { display_name: 'Aaron Zed' }), person('aa-1', { first_name: 'Zoe', last_name: 'Young' })]);
      api = await startApi(store);
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });

    test('people sorted by name come in display-name order across pages, with the total of every page', async () => {
      const first = (await get('/api/people?sort=name&limit=3')) as { items: { key: string; displayName: string }[]; nextCursor: string; total: number };
      assert.equal(first.total, 8);
      assert.deepEqual(first.items.map((p) => p.displayName), ['Aaron Zed', 'alice Test', 'bob Test']);
      const seen = [...first.items];
      let cursor: string | null = first.nextCursor;
      while (cursor) {
        const next = (await get(`/api/people?sort=name&limit=3&cursor=${encodeURIComponent(cursor)}`)) as typeof first;
        assert.equal(next.total, 8, 'the total does not shrink with the cursor');
        seen.push(...next.items);
        cursor = next.nextCursor;
      }
      assert.deepEqual(seen.map((p) => p.key), ['zz-1', 'alice', 'bob', 'ceo', 'mgr-a', 'mgr-b', 'own-1', 'aa-1']);
      const byKey = (await get('/api/people?limit=2')) as typeof first;
      assert.deepEqual(byKey.items.map((p) => p.key), ['aa-1', 'alice'], 'the default order stays by key');
      const filtered = (await get('/api/people?sort=name&q=mgr&limit=1')) as typeof first;
      assert.deepEqual([filtered.total, filtered.items.length], [2, 1], 'the total counts what the filters match');
      assert.equal(((await get('/api/people?sort=name&q=_')) as typeof first).total, 0, 'a wildcard in the search is taken literally');
      assert.equal(((await get('/api/audit?q=%25')) as { items: unknown[] }).items.length, 0, 'in the audit search too');
    });

    test('a name cursor that is not one from the list is a 400 naming the field, even one hiding a NUL', async () => {
      for (const cursor of ['not-a-cursor', Buffer.from(JSON.stringify(['a\u0000', 'b'])).toString('base64url')]) {
        const res = await api.app.inject({ method: 'GET', url: `/api/people?sort=name&cursor=${cursor}`, headers: { cookie: api.sessions.admin.cookie } });
        assert.equal(res.statusCode, 400, res.body);
        assert.match(res.body, /query\.cursor/);
      }
    });

    test('an open finding names the plan that fixes it; one resolved by hand is audited with its note and cannot be resolved twice', async () => {
      await syncFindings(store.db, 'vpn', ['missing_account', 'orphan_account'], [
        { id: 'missing_account:vpn:alice', kind: 'missing_account', system: 'vpn', identityKey: 'alice', accountId: null, entitlement: null, detail: 'alice should have a vpn account' },
        { id: 'orphan_account:vpn:ghost', kind: 'orphan_account', system: 'vpn', identityKey: null, accountId: 'ghost', entitlement: null, detail: 'ghost matches no identity' },
      ], new Date());
      const plan = { id: 'plan-fix', computedAt: new Date().toISOString(), fingerprint: 'f', changes: [{ id: 'c1', kind: 'create_account', identityKey: 'alice', system: 'vpn', reason: 'rule', dependsOn: [] }] };
      await store.db.insertInto('plan_previews').values({ id: 'plan-fix', scope: JSON.stringify({}), plan: JSON.stringify(plan), changes: 1, status: 'awaiting_approval', created_by: 'test', approved_by: null, created_at: new Date().toISOString(), updated_at: new Date().toISOString() }).execute();
      const list = (await get('/api/findings?state=open', 'security')) as { items: { id: string; fixedBy: { planId: string } | null }[]; total: number };
      assert.equal(list.total, 2);
      assert.deepEqual(list.items.map((f) => [f.id, f.fixedBy?.planId ?? null]), [['missing_account:vpn:alice', 'plan-fix'], ['orphan_account:vpn:ghost', null]]);
      assert.deepEqual(((await get('/api/findings?kind=orphan_account')) as typeof list).items.map((f) => f.id), ['orphan_account:vpn:ghost']);

      assert.equal((await post('/api/findings/orphan_account:vpn:ghost/resolve', { note: 'x' })).statusCode, 400, 'a note says why');
      assert.equal((await post('/api/findings/orphan_account:vpn:ghost/resolve', { note: 'test account, removed by hand' }, 'security')).statusCode, 200);
      assert.equal((await post('/api/findings/orphan_account:vpn:ghost/resolve', { note: 'again please' })).statusCode, 409);
      const audit = (await get('/api/audit?kind=finding&q=removed%20by%20hand')) as { items: { action: string; actor: string; details: { note: string } }[] };
      assert.deepEqual(audit.items.map((a) => [a.action, a.actor, a.details.note]), [['finding.resolved', 'user:sec', 'test account, removed by hand']]);
      await store.db.deleteFrom('plan_previews').execute();
    });

    test('the audit chain verifies as intact, and names the entry a database owner edited', async () => {
      const intact = (await get('/api/audit/verify', 'security')) as { ok: boolean; entries: number };
      assert.equal(intact.ok, true);
      assert.ok(intact.entries > 5);
      // A superuser can switch the append-only trigger off: the tampering the chain must reveal.
      await store.db.transaction().execute(async (trx) => {
        await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update`.execute(trx);
        await sql`UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3`.execute(trx);
        await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update`.execute(trx);
      });
      const broken = (await get('/api/audit/verify')) as { ok: boolean; brokenAt: number; reason: string };
      assert.deepEqual([broken.ok, broken.brokenAt], [false, 3]);
      assert.match(broken.reason, /entry 3 was edited/);
    });

    test('systems list their health and last reconcile, quarantined or not, policy or not', async () => {
      await recordSystemFailure(store.db, 'vpn', 'connect ECONNREFUSED', { after: 1, unreachableAfter: 1, retryDelayMs: 1000 }, new Date(), undefined, true);
      await store.db.insertInto('reconcile_runs').values({ id: 'run-a', system: 'hr-app', status: 'failed', phase: 'accounts', cursor: null, pages: 1, summary: null, error: 'bind refused', actor: 'test', started_at: '2026-12-01T10:00:00Z', updated_at: '2026-12-01T10:00:00Z', finished_at: null }).execute();
      const systems = (await get('/api/systems', 'security')) as { items: { system: string; state: string; lastError: string | null; lastReconcile: { status: string; error: string | null } | null; openFindings: number; inPolicy: boolean }[] };
      const vpn = systems.items.find((s) => s.system === 'vpn')!;
      assert.deepEqual([vpn.state, vpn.lastError, vpn.inPolicy], ['quarantined', 'connect ECONNREFUSED', false]);
      assert.ok(vpn.openFindings >= 1, 'the quarantine and the missing account are open findings');
      assert.deepEqual(systems.items.find((s) => s.system === 'hr-app')!.lastReconcile, { status: 'failed', startedAt: '2026-12-01T10:00:00.000Z', finishedAt: null, error: 'bind refused' });
    });

    test('an admin links a user to an identity and unlinks it, audited; an unknown identity or their own link is refused', async () => {
      const admin = { cookie: api.sessions.admin.cookie, 'x-csrf-token': api.sessions.admin.csrf };
      const users = ((await get('/api/users')) as { items: { id: string; username: string; identityKey: string | null }[] }).items;
      const sec = users.find((u) => u.username === 'sec')!;
      const root = users.find((u) => u.username === 'root')!;
      const patch = (id: string, payload: unknown) => api.app.inject({ method: 'PATCH', url: `/api/users/${id}`, headers: admin, payload: payload as Record<string, unknown> });
      const linked = await patch(sec.id, { identityKey: 'own-1' });
      assert.equal(linked.statusCode, 200, linked.body);
      assert.equal((linked.json() as { identityKey: string }).identityKey, 'own-1');
      const unknown = await patch(sec.id, { identityKey: 'nobody' });
      assert.equal(unknown.statusCode, 400);
      assert.match(unknown.body, /identityKey: there is no identity nobody/);
      assert.equal((await patch(root.id, { identityKey: 'ceo' })).statusCode, 409, 'an admin does not give themselves a manager’s reach');
      assert.equal(((await patch(sec.id, { identityKey: null })).json() as { identityKey: string | null }).identityKey, null);
      const changes = await store.db.selectFrom('audit_log').select(['after']).where('action', '=', 'user.changed').where('subject', '=', `user:${sec.id}`).orderBy('seq').execute();
      assert.deepEqual(changes.map((c) => (c.after as { identityKey: string | null }).identityKey), ['own-1', null]);
    });

    test('the inbox counts what the caller may decide and the open tasks they can close', async () => {
      api.approvals.items.set('req-alice', { id: 'req-alice', kind: 'access_request', identityKey: 'alice', summary: 'vpn:full', requestedBy: 'alice', requestedAt: new Date().toISOString(), system: 'vpn', stage: 'manager', approvers: ['mgr-a'], state: 'pending' });
      assert.deepEqual(await get('/api/inbox', 'manager'), { approvals: 1, reviews: 0, tasks: 0 });
      assert.deepEqual(await get('/api/inbox', 'user'), { approvals: 0, reviews: 0, tasks: 0 }, 'nobody decides their own request');
    });
  });
}
