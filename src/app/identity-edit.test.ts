import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testBackends } from '../../test/support/backends.ts';
import { tempDir, testConfig, writeHr } from '../../test/support/hr-files.ts';
import { getIdentity, timelineOf } from '../store/identity-store.ts';
import type { Store } from '../store/open-store.ts';
import { recordIdentityEdit } from './identity-edit.ts';
import { importSource } from './import-source.ts';

const at = new Date('2026-11-22T12:00:00Z');
const edit = (store: Store, input: Omit<Parameters<typeof recordIdentityEdit>[1], 'actor' | 'trigger' | 'at' | 'timezone'>) =>
  store.db.transaction().execute((trx) => recordIdentityEdit(trx, { actor: 'api:test', trigger: 'api:req-1', at, timezone: 'Europe/Berlin', ...input }));

for (const backend of testBackends()) {
  describe(`edits made in jml on ${backend.name}`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      const file = writeHr(tempDir(), 'hr.csv', [{ id: 'E1' }, { id: 'E2', manager: 'E1' }, { id: 'E3', manager: 'E1', start: '2027-01-04' }]);
      await importSource({ db: store.db, config: testConfig() }, { source: 'hr', file, actor: 'test', asOf: '2026-11-20' });
    });
    after(async () => store.close());

    test('an edit is a jml mover on the timeline, audited, and the stored row is its fold', async () => {
      const identity = await edit(store, { identityKey: 'E2', attributes: { title: 'Staff Engineer' }, owner: null, status: 'suspended' });
      assert.deepEqual([identity.status, identity.attributes.title, identity.attributes.manager], ['suspended', 'Staff Engineer', 'E1']);
      const last = (await timelineOf(store.db, 'E2')).at(-1)!;
      assert.deepEqual([last.type, last.source, last.effectiveDate, last.state], ['mover', 'jml', '2026-11-22', 'applied']);
      assert.deepEqual(last.changes, { title: ['Engineer', 'Staff Engineer'], status: ['active', 'suspended'] });
      const audited = await store.db.selectFrom('audit_log').select(['action', 'trigger']).where('subject', '=', 'E2').where('trigger', '=', 'api:req-1').execute();
      assert.deepEqual(audited.map((a) => a.action).sort(), ['identity.status_changed', 'lifecycle.mover']);
    });

    test('an edit that changes nothing records nothing', async () => {
      const events = (await timelineOf(store.db, 'E2')).length;
      await edit(store, { identityKey: 'E2', attributes: { title: 'Staff Engineer' } });
      assert.equal((await timelineOf(store.db, 'E2')).length, events);
    });

    test('a future joiner cannot be edited before the start date, and a leaver only by rescind', async () => {
      await assert.rejects(edit(store, { identityKey: 'E3', attributes: { title: 'Lead' } }), /has not started yet/);
      await edit(store, { identityKey: 'E1', status: 'left' });
      assert.equal((await getIdentity(store.db, 'E1'))!.status, 'left');
      assert.equal((await timelineOf(store.db, 'E1')).at(-1)!.type, 'leaver');
      await assert.rejects(edit(store, { identityKey: 'E1', status: 'active' }), /rescind/);
    });

    test('an identity stored without a timeline keeps its other fields when edited', async () => {
      await store.db.insertInto('identities').values({ key: 'X1', kind: 'service_account', status: 'active', source: 'api', attributes: JSON.stringify({ display_name: 'Robot', email: 'robot@example.com' }), start_date: null, end_date: null, owner: 'E2', sponsor: null }).execute();
      const identity = await edit(store, { identityKey: 'X1', owner: 'E3' });
      assert.deepEqual([identity.kind, identity.status, identity.owner, identity.attributes.display_name, identity.source], ['service_account', 'active', 'E3', 'Robot', 'api']);
    });
  });
}
