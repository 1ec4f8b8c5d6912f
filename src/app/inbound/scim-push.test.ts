import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testBackends } from '../../../test/support/backends.ts';
import { testConfig } from '../../../test/support/hr-files.ts';
import { getIdentity } from '../../store/identity-store.ts';
import type { Store } from '../../store/open-store.ts';
import { ENTERPRISE_USER_SCHEMA, type ScimObject } from '../../sources/scim-user-table.ts';
import { scimUser } from '../../../test/support/scim-user.ts';
import { pushUsers, type PushInput } from './scim-push.ts';

const config = testConfig({ timezone: 'Europe/Berlin', sources: { entra: { type: 'scim' }, brief: { type: 'scim', guard_window_minutes: 5 } }, mass_change: { minimum: 2, percent: 5 } });

const user = (id: string, extra: Record<string, unknown> = {}, jml: Record<string, unknown> = {}): ScimObject => scimUser(id, { extra, jml });

async function count(store: Store, table: string): Promise<number> {
  return Number((await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(store.db)).rows[0]!.n);
}

for (const backend of testBackends()) {
  describe(`inbound SCIM push on ${backend.name}`, () => {
    let store: Store;
    const now = new Date('2026-11-22T10:00:00Z');
    const push = (users: ScimObject[], o: Partial<PushInput> = {}) =>
      pushUsers({ db: store.db, config }, { source: 'entra', users: users.map((resource) => ({ id: null, resource, onExisting: 'update', ifMatch: null })), deletes: [], label: 'scim Bulk', dryRun: false, actor: 'scim:entra:test', trigger: 'test', now, ...o });

    before(async () => {
      store = await backend.open();
    });
    after(async () => store.close());

    test('a pushed User becomes a joiner through the source mapping, future-dated by its start date', async () => {
      const r = await push([user('E1'), user('E2'), user('E3'), user('E4', {}, { startDate: '2026-12-01' })]);
      assert.equal(r.status, 'applied');
      assert.deepEqual(r.events.map((e) => [e.type, e.key, e.effective]), [['joiner', 'E1', '2026-01-05'], ['joiner', 'E2', '2026-01-05'], ['joiner', 'E3', '2026-01-05'], ['joiner', 'E4', '2026-12-01']]);
      const e1 = await getIdentity(store.db, 'E1');
      assert.equal(e1!.status, 'active');
      assert.equal(e1!.attributes.department, 'Engineering');
      assert.equal(e1!.attributes.email, 'e1@example.com');
      assert.equal((await getIdentity(store.db, 'E4'))!.status, 'pending');
      assert.ok(r.operations.every((o) => o.ok && o.created && o.user?.version === 1));
    });

    test('pushing the same Users again changes nothing: no event, same version', async () => {
      const events = await count(store, 'lifecycle_events');
      const r = await push([user('E1'), user('E2')]);
      assert.deepEqual(r.events, []);
      assert.equal(await count(store, 'lifecycle_events'), events);
      assert.ok(r.operations.every((o) => o.ok && !o.created && o.user?.version === 1));
      assert.equal(r.recorded, false, 'no import is recorded for a push that changed nothing');
      assert.equal(await count(store, 'imports'), 1);
    });

    test('a changed department is a mover of that one identity', async () => {
      const r = await push([user('E2', { [ENTERPRISE_USER_SCHEMA]: { department: 'Sales' } })]);
      assert.deepEqual(r.events.map((e) => [e.type, e.key, e.changes.department]), [['mover', 'E2', ['Engineering', 'Sales']]]);
      assert.equal((await getIdentity(store.db, 'E2'))!.attributes.department, 'Sales');
      assert.equal((await getIdentity(store.db, 'E1'))!.attributes.department, 'Engineering', 'records not pushed are left alone');
    });

    test('a value the mapping refuses fails that operation naming the SCIM attribute, and writes nothing for it', async () => {
      const events = await count(store, 'lifecycle_events');
      const r = await push([user('E9', {}, { startDate: '05.01.2026' })]);
      const op = r.operations[0]!;
      assert.equal(op.ok, false);
      assert.match(!op.ok ? op.error.message : '', /urn:ietf:params:scim:schemas:extension:jml:2\.0:User:startDate: invalid date "05\.01\.2026"/);
      assert.equal(await count(store, 'lifecycle_events'), events);
      assert.equal(await getIdentity(store.db, 'E9'), null);
    });

    test('active "False" (as Entra sends it) is a leaver today; a dry run reports it and writes nothing', async () => {
      const before = await count(store, 'audit_log');
      const dry = await push([user('E3', { active: 'False' })], { dryRun: true });
      assert.equal(dry.status, 'dry_run');
      assert.deepEqual(dry.events.map((e) => [e.type, e.key]), [['leaver', 'E3']]);
      assert.equal(await count(store, 'audit_log'), before);
      assert.equal((await getIdentity(store.db, 'E3'))!.status, 'active');
      const r = await push([user('E3', { active: 'False' })]);
      assert.deepEqual(r.events.map((e) => [e.type, e.key, e.effective]), [['leaver', 'E3', '2026-11-22']]);
      assert.equal((await getIdentity(store.db, 'E3'))!.status, 'left');
    });

    test('a left person pushed again with a new start date is a rehire of the same identity', async () => {
      const r = await push([user('E3', { active: true }, { startDate: '2026-12-07' })]);
      assert.deepEqual(r.events.map((e) => [e.type, e.key, e.effective]), [['rehire', 'E3', '2026-12-07']]);
    });

    test('deleting a User is that record leaving the source: a leaver', async () => {
      const r = await pushUsers({ db: store.db, config }, { source: 'entra', users: [], deletes: [{ id: 'E1', ifMatch: null }], label: 'scim DELETE', dryRun: false, actor: 'scim:entra:test', trigger: 'test', now });
      assert.deepEqual(r.events.map((e) => [e.type, e.key]), [['leaver', 'E1']]);
      assert.equal((await getIdentity(store.db, 'E1'))!.status, 'left');
    });

    test('more deactivations within the window than the guard allows are held, change nothing, and are kept for release', async () => {
      await push([user('E5'), user('E6'), user('E7'), user('E8')]);
      const events = await count(store, 'lifecycle_events');
      // E1 (deleted) and E3 (a leaver) already left within the hour; two more exceed max(2, 5%).
      const r = await push([user('E5', { active: false }), user('E6', { active: false })]);
      assert.equal(r.status, 'held');
      assert.match(r.heldReason ?? '', /would leave within 60 minutes/);
      assert.equal(await count(store, 'lifecycle_events'), events);
      assert.equal((await getIdentity(store.db, 'E5'))!.status, 'active');
      const held = await store.db.selectFrom('held_import_files').select(['import_id', 'source']).where('import_id', '=', r.importId).executeTakeFirst();
      assert.equal(held?.source, 'entra');
    });

    test('the guard counts only the leavers of the source\'s own guard_window_minutes: earlier ones no longer hold a push', async () => {
      const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000);
      const brief = (users: ScimObject[], minutes: number) => push(users, { source: 'brief', now: at(minutes) });
      const people = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6'];
      assert.equal((await brief(people.map((id) => user(id)), 0)).status, 'applied');
      assert.equal((await brief([user('B1', { active: false }), user('B2', { active: false })], 0)).status, 'applied', 'two leavers: within max(2, 5%)');
      const inside = await brief([user('B3', { active: false })], 3);
      assert.equal(inside.status, 'held', 'three minutes later the first two still count');
      assert.match(inside.heldReason ?? '', /within 5 minutes/);
      const later = await brief([user('B3', { active: false }), user('B4', { active: false })], 10);
      assert.equal(later.status, 'applied', 'ten minutes later they are outside the five-minute window (an hour would still hold this)');
      assert.equal((await getIdentity(store.db, 'B4'))!.status, 'left');
    });

    test('a User without a userName is refused, as RFC 7643 requires one', async () => {
      const { userName: _u, ...nameless } = user('E20') as Record<string, unknown>;
      const r = await push([nameless]);
      assert.equal(r.operations[0]!.ok, false);
      assert.match(!r.operations[0]!.ok ? r.operations[0]!.error.message : '', /userName is required/);
      assert.equal(await getIdentity(store.db, 'E20'), null);
    });

    test('a push to a source that is not of type scim is refused', async () => {
      await assert.rejects(pushUsers({ db: store.db, config }, { source: 'hr', users: [], deletes: [], label: 'x', dryRun: false, actor: 'a', trigger: 't', now }), /source hr is of type hr/);
    });
  });
}
