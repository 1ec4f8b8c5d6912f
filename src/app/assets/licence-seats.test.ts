import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Change } from '../../domain/change.ts';
import { isJmlError } from '../../domain/errors.ts';
import { createFakeConnector } from '../../connectors/fake/fake-connector.ts';
import { BUILT_IN_CONNECTORS, createConnectorRegistry } from '../../connectors/registry.ts';
import { executePlan } from '../../jobs/plan-executor.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../../../test/support/jml-fixture.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { createPlanner } from '../compute-plan.ts';
import { openPolicyConnectors } from '../connectors-from-policy.ts';
import { reconcileSystem } from '../reconcile.ts';
import { assignSeat, licenceUse, reclaimSeatsFreedBy, saveLicence, seatHistory } from './licence-seats.ts';

const NOW = new Date('2026-12-01T09:00:00Z');
const seat = (licence: string, identityKey: string, accountId: string) => ({ licence, identityKey, system: 'wiki', accountId, by: 'cli:it' });

for (const backend of testBackends()) {
  describe(`licence seats (${backend.name})`, () => {
    test('a licence with two seats refuses a third, a second seat on one account, a leaver and fewer seats than are in use; in use and free are listed', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1'), person('E2'), person('E3'), person('L1', {}, { status: 'left' })]);
        await saveLicence(store.db, { name: 'wiki-pro', product: 'Wiki Pro', seats: 2, system: 'wiki', productKey: 'KEY-SECRET-1' }, 'cli:it', NOW);
        await assignSeat(store.db, seat('wiki-pro', 'E1', 'wiki-E1'), NOW);
        await assert.rejects(assignSeat(store.db, seat('wiki-pro', 'E1', 'wiki-E1'), NOW), (e) => isJmlError(e, 'conflict') && /already holds a seat/.test(e.message));
        await assert.rejects(assignSeat(store.db, seat('wiki-pro', 'L1', 'wiki-L1'), NOW), (e) => isJmlError(e, 'conflict') && /has left/.test(e.message));
        await assert.rejects(assignSeat(store.db, { ...seat('wiki-pro', 'E2', 'gh-E2'), system: 'github' }, NOW), (e) => isJmlError(e, 'invalid_input') && /used through wiki/.test(e.message));
        await assignSeat(store.db, seat('wiki-pro', 'E2', 'wiki-E2'), NOW);
        await assert.rejects(assignSeat(store.db, seat('wiki-pro', 'E3', 'wiki-E3'), NOW), (e) => isJmlError(e, 'conflict') && /all 2 seats are in use/.test(e.message));
        await assert.rejects(saveLicence(store.db, { name: 'wiki-pro', seats: 1 }, 'cli:it', NOW), (e) => isJmlError(e, 'conflict') && /2 seats in use/.test(e.message));
        const [use] = await licenceUse(store.db);
        assert.deepEqual([use!.seats, use!.inUse, use!.free, use!.held.map((s) => s.identityKey)], [2, 2, 0, ['E1', 'E2']]);
        assert.equal(use!.product, 'Wiki Pro', 'an update that names only the seats keeps the rest');
        const trail = await store.db.selectFrom('audit_log').select(['after']).where('action', '=', 'licence.added').executeTakeFirstOrThrow();
        assert.ok(!JSON.stringify(trail.after).includes('KEY-SECRET-1'), 'the product key is not written to the audit trail');
      } finally {
        await store.close();
      }
    });

    test('a seat tied to an entitlement comes back when the removal of that entitlement is confirmed, and not for another one', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('M1')]);
        await saveLicence(store.db, { name: 'eng-tools', seats: 5, system: 'wiki', entitlement: 'eng' }, 'cli:it', NOW);
        await assignSeat(store.db, seat('eng-tools', 'M1', 'wiki-M1'), NOW);
        const removal = (entitlement: string): Change => ({ id: `rm-${entitlement}`, kind: 'remove_grant', identityKey: 'M1', system: 'wiki', accountId: 'wiki-M1', entitlement, reason: 'mover: no longer desired', dependsOn: [] });
        assert.equal(await reclaimSeatsFreedBy(store.db, removal('staff'), { accountId: 'wiki-M1', actor: 'worker', at: NOW }), 0);
        assert.equal(await reclaimSeatsFreedBy(store.db, removal('eng'), { accountId: 'wiki-M1', actor: 'worker', at: NOW }), 1);
        const [history] = await seatHistory(store.db, 'eng-tools');
        assert.equal(history!.reclaimReason, 'remove grant confirmed: mover: no longer desired');
        assert.equal((await licenceUse(store.db, 'eng-tools'))[0]!.free, 5);
      } finally {
        await store.close();
      }
    });

    test('a leaver\'s seat stays while the disable is only planned and comes back in the transaction that confirms it', async () => {
      const store = await backend.open();
      try {
        const wiki = createFakeConnector({ groups: ['staff', 'eng', 'admins'] }, { system: 'wiki' });
        const registry = createConnectorRegistry({ ...BUILT_IN_CONNECTORS, fake: () => wiki });
        const planner = createPlanner({ db: store.db, config: { policy_dir: writePolicyDir(FAKE_WIKI_POLICY), timezone: 'UTC' }, actor: 'test', now: () => NOW });
        const { policy } = await planner.loadPolicy();
        const connectors = await openPolicyConnectors({ db: store.db, policy, registry, now: () => NOW, actor: 'test' });
        const apply = async () => {
          const { plan } = await planner.compute();
          await executePlan({ store, actor: 'test', now: () => NOW, connectorFor: connectors.connectorFor, tasksFor: connectors.tasksFor, pollMs: 50 }, plan, () => planner.currentFingerprint({}));
          return plan;
        };
        await seedIdentities(store.db, [person('L1')]);
        await apply();
        await reconcileSystem({ db: store.db, policy, connectorFor: connectors.get, actor: 'test', now: () => NOW }, 'wiki');
        const account = await store.db.selectFrom('observed_accounts').select('account_id').where('identity_key', '=', 'L1').executeTakeFirstOrThrow();
        await saveLicence(store.db, { name: 'wiki-pro', seats: 1, system: 'wiki' }, 'cli:it', NOW);
        await assignSeat(store.db, seat('wiki-pro', 'L1', account.account_id), NOW);

        await seedIdentities(store.db, [person('L1', {}, { status: 'left', endDate: '2026-11-30' })]);
        const { plan: planned } = await planner.compute();
        assert.ok(planned.changes.some((c) => c.kind === 'disable_account' && c.identityKey === 'L1'));
        assert.equal((await licenceUse(store.db, 'wiki-pro'))[0]!.inUse, 1, 'a planned disable frees nothing');
        const applied = await apply();
        const disable = applied.changes.find((c) => c.kind === 'disable_account')!;
        const [use] = await licenceUse(store.db, 'wiki-pro');
        assert.deepEqual([use!.inUse, use!.free], [0, 1]);
        const entry = await store.db.selectFrom('audit_log').select(['trigger']).where('action', '=', 'licence.seat_reclaimed').executeTakeFirstOrThrow();
        assert.equal(entry.trigger, `change:${disable.id}`);
        await connectors.close();
      } finally {
        await store.close();
      }
    });
  });
}
