import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testBackends } from '../../test/support/backends.ts';
import { tempDir, testConfig, writeHr } from '../../test/support/hr-files.ts';
import { getIdentity, timelineOf } from '../store/identity-store.ts';
import type { Store } from '../store/open-store.ts';
import { recordIdentityEdit } from './identity-edit.ts';
import { reviewIdentityEdit } from './identity-edit-guard.ts';
import { managementChain } from './management-chain.ts';
import { isJmlError } from '../domain/errors.ts';
import type { Policy } from '../domain/policy.ts';
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

    test('a review refuses changing one’s own policy fields or becoming someone’s manager, refuses cycles, and shows the access impact', async () => {
      const policy: Policy = {
        systems: [{ name: 'fin', connector: { type: 'fake', settings: {} }, owner: 'E1', criticality: 'medium', enforcement: 'full', leaver: { action: 'disable', deleteAfterDays: 30 }, correlation: { account: 'name', identity: 'key' }, account: { name: null, attributes: {} }, identityProvider: false, sessions: false, orphans: { disableAfterDays: 7 }, credentials: { onDisable: 'keep', onEnable: 'keep' } }],
        entitlements: [{ system: 'fin', name: 'ledger', displayName: 'ledger', privileged: false, maxDurationDays: null }],
        roles: [],
        rules: [{ name: 'finance', description: '', when: { equals: { department: 'Finance' } }, grant: { roles: [], entitlements: [{ system: 'fin', entitlement: 'ledger' }] } }],
        approvals: [],
      };
      assert.deepEqual(await managementChain(store.db, 'E2'), ['E2', 'E1']);
      const own = await reviewIdentityEdit(store.db, policy, { identityKey: 'E1', attributes: { department: 'Finance', phone: '1' } }, 'E1', at);
      assert.match(own.refusal ?? '', /own identity.*\(department\)/);
      assert.deepEqual(own.gained.map((g) => `${g.system}:${g.entitlement} ${g.reasons.join()}`), ['fin:ledger rule finance']);
      assert.equal((await reviewIdentityEdit(store.db, policy, { identityKey: 'E1', attributes: { phone: '1' } }, 'E1', at)).refusal, null);
      assert.match((await reviewIdentityEdit(store.db, policy, { identityKey: 'E2', sponsor: 'E9' }, 'E9', at)).refusal ?? '', /nobody makes themselves the sponsor of E2/);
      const byOther = await reviewIdentityEdit(store.db, policy, { identityKey: 'E1', attributes: { department: 'Finance' } }, 'E9', at);
      assert.deepEqual([byOther.refusal, byOther.changed], [null, ['department']]);
      await assert.rejects(reviewIdentityEdit(store.db, policy, { identityKey: 'E1', attributes: { manager: 'E2' } }, null, at), (e) => isJmlError(e, 'invalid_input') && /cycle \(E1 → E2 → E1\)/.test(e.message));
    });

    test('recording an edit refuses a manager that would make a cycle, also when two such edits race', async () => {
      const row = (key: string) => ({ key, kind: 'employee', status: 'active', source: 'hr', attributes: JSON.stringify({ first_name: key, last_name: 'Test' }) });
      await store.db.insertInto('identities').values([row('C1'), row('C2'), row('C3')]).execute();
      await edit(store, { identityKey: 'C2', attributes: { manager: 'C1' } });
      await assert.rejects(edit(store, { identityKey: 'C1', attributes: { manager: 'C2' } }), (e) => isJmlError(e, 'invalid_input') && /cycle \(C1 → C2 → C1\)/.test(e.message));
      assert.equal((await getIdentity(store.db, 'C1'))!.attributes.manager ?? null, null);
      // Each alone is fine; together they would be C1 → C3 → C1. Whichever commits second sees the first.
      const race = await Promise.allSettled([edit(store, { identityKey: 'C3', attributes: { manager: 'C1' } }), edit(store, { identityKey: 'C1', attributes: { manager: 'C3' } })]);
      assert.deepEqual(race.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
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
