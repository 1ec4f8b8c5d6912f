import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { person, seedIdentities, writePolicyDir } from '../../test/support/jml-fixture.ts';
import { SOD_POLICY } from '../../test/support/sod-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import { addAccount } from '../connectors/fake/fake-system.ts';
import { executePlan } from '../jobs/plan-executor.ts';
import { createPlanner } from './compute-plan.ts';
import { reconcileSystem } from './reconcile.ts';

const NOW = new Date('2026-03-02T09:00:00Z');
/** Treasury staff create payments by birthright; a mover into team leads would also approve them. */
const RULES = `rules:
  - name: treasury
    when: { equals: { department: Treasury } }
    grant: { entitlements: ["erp:pay-create"] }
  - name: team-leads
    when: { equals: { title: Team Lead } }
    grant: { entitlements: ["erp:pay-approve"] }
`;

for (const backend of testBackends()) {
  describe(`SoD in plans from the store (${backend.name})`, () => {
    test('a mover whose new title would add the other side of an SoD rule gets that grant held with the rule as reason, and applying the plan leaves it out', async () => {
      const store = await backend.open();
      try {
        const dir = writePolicyDir({ ...SOD_POLICY, 'rules.yaml': RULES });
        const planner = createPlanner({ db: store.db, config: { policy_dir: dir, timezone: 'UTC' }, actor: 'test', now: () => NOW });
        const erp = createFakeConnector({ groups: ['pay-create', 'pay-approve', 'pay-view'] }, { system: 'erp' });
        const ana = addAccount(erp.state, 'E1', { user_name: 'ana' });
        erp.state.grants.get(ana.accountId)!.add('pay-create');
        await seedIdentities(store.db, [person('E1', { department: 'Treasury', title: 'Team Lead' })]);
        await reconcileSystem({ db: store.db, policy: (await planner.loadPolicy()).policy, connectorFor: () => erp, actor: 'test', now: () => NOW }, 'erp');

        const { plan } = await planner.compute();
        assert.deepEqual(plan.changes.filter((c) => c.kind === 'add_grant').map((c) => c.entitlement), []);
        assert.deepEqual(plan.sodHeld?.map((h) => [h.identityKey, h.rule, h.pair.join(' + ')]), [['E1', 'payments', 'erp:pay-approve + erp:pay-create']]);
        assert.match(plan.sodHeld![0]!.reason, /team-leads/);
        const report = await executePlan({ store, connectorFor: () => erp, actor: 'test', now: () => NOW, pollMs: 50 }, plan, () => planner.currentFingerprint());
        assert.equal(report.status, 'applied');
        assert.deepEqual([...erp.state.grants.get(ana.accountId)!].sort(), ['pay-create'], 'the conflicting grant was not applied');
      } finally {
        await store.close();
      }
    });
  });
}
