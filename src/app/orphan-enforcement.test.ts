import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import { addAccount } from '../connectors/fake/fake-system.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../../test/support/jml-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import { executePlan } from '../jobs/plan-executor.ts';
import { createPlanner } from './compute-plan.ts';
import { listFindings } from './findings-store.ts';
import { reconcileSystem } from './reconcile.ts';

const DAY = 86_400_000;
const FOUND = new Date('2026-03-02T09:00:00Z');

/** The wiki policy with the given enforcement and a 7-day grace period for orphans. */
function wikiPolicy(enforcement: 'full' | 'relative'): string {
  return writePolicyDir({
    ...FAKE_WIKI_POLICY,
    'systems.yaml': `systems:
  - name: wiki
    connector: { type: fake, settings: { groups: [staff, eng, admins] } }
    owner: E0
    enforcement: ${enforcement}
    correlation: { account: identity_key, identity: key }
    orphans: { disable_after_days: 7 }
`,
  });
}

for (const backend of testBackends()) {
  describe(`orphans under enforcement modes (${backend.name})`, () => {
    async function setup(enforcement: 'full' | 'relative') {
      const store = await backend.open();
      let now = FOUND;
      const clock = { set: (at: Date) => void (now = at) };
      const planner = createPlanner({ db: store.db, config: { policy_dir: wikiPolicy(enforcement), timezone: 'UTC' }, actor: 'test', now: () => now });
      const wiki = createFakeConnector({ groups: ['staff', 'eng', 'admins'] }, { system: 'wiki' });
      await seedIdentities(store.db, [person('E1')]);
      const e1 = addAccount(wiki.state, 'E1', { user_name: 'ada.e1' });
      wiki.state.grants.get(e1.accountId)!.add('staff');
      const orphan = addAccount(wiki.state, 'X9', { user_name: 'made.by.hand' });
      const reconcile = async () => reconcileSystem({ db: store.db, policy: (await planner.loadPolicy()).policy, connectorFor: () => wiki, actor: 'test', now: () => now }, 'wiki');
      const apply = (plan: Parameters<typeof executePlan>[1]) =>
        executePlan({ store, connectorFor: () => wiki, actor: 'test', now: () => now }, plan, () => planner.currentFingerprint());
      return { store, clock, planner, wiki, orphan, reconcile, apply };
    }
    const summary = (plan: { changes: readonly { identityKey: string; kind: string }[] }) => plan.changes.map((c) => `${c.kind} ${c.identityKey}`);

    test('under full enforcement an orphan is disabled after its grace period, apply confirms it and its finding resolves', async () => {
      const { store, clock, planner, wiki, orphan, reconcile, apply } = await setup('full');
      try {
        await reconcile();
        const [finding] = await listFindings(store.db, { state: 'open', kind: 'orphan_account' });
        assert.equal(finding?.accountId, orphan.accountId);

        clock.set(new Date(FOUND.getTime() + 7 * DAY - 1));
        assert.deepEqual(summary((await planner.compute()).plan), [], 'within the grace period the orphan is only reported');

        clock.set(new Date(FOUND.getTime() + 7 * DAY));
        const { plan } = await planner.compute();
        assert.deepEqual(summary(plan), [`disable_account orphan:${orphan.accountId}`]);
        assert.match(plan.changes[0]!.reason, new RegExp(`finding ${finding!.id} first seen ${FOUND.toISOString()}`));

        const report = await apply(plan);
        assert.deepEqual(report.changes.map((c) => c.state), ['confirmed']);
        assert.equal(wiki.state.accounts.get(orphan.accountId)?.enabled, false);
        assert.equal(wiki.state.accounts.size, 2, 'disabled, never deleted');
        const resolved = await listFindings(store.db, { kind: 'orphan_account' });
        assert.deepEqual(resolved.map((f) => [f.id, f.state, f.resolvedAt]), [[finding!.id, 'resolved', new Date(FOUND.getTime() + 7 * DAY).toISOString()]]);
        assert.deepEqual(summary((await planner.compute()).plan), [], 'the plan right after apply has nothing left');

        clock.set(new Date(FOUND.getTime() + 8 * DAY));
        await reconcile();
        assert.deepEqual(await listFindings(store.db, { state: 'open' }), [], 'the disabled orphan is what policy asks for: the next reconcile does not reopen it');
        assert.deepEqual(summary((await planner.compute()).plan), []);
      } finally {
        await store.close();
      }
    });

    test('under relative enforcement an orphan is only reported, however long it has been', async () => {
      const { store, clock, planner, wiki, orphan, reconcile } = await setup('relative');
      try {
        await reconcile();
        clock.set(new Date(FOUND.getTime() + 365 * DAY));
        assert.deepEqual(summary((await planner.compute()).plan), []);
        assert.equal(wiki.state.accounts.get(orphan.accountId)?.enabled, true);
        assert.equal((await listFindings(store.db, { state: 'open', kind: 'orphan_account' })).length, 1);
      } finally {
        await store.close();
      }
    });
  });
}
