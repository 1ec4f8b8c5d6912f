import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import { addAccount } from '../connectors/fake/fake-system.ts';
import { loadPolicy } from '../policy/index.ts';
import { person, seedIdentities, writePolicyDir } from '../../test/support/jml-fixture.ts';
import { SOD_POLICY } from '../../test/support/sod-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import { verifyAudit } from '../store/audit-log.ts';
import { listFindings } from './findings-store.ts';
import { reconcileSystem } from './reconcile.ts';
import { recordConfirmedChange } from './observed-snapshot-update.ts';
import { executePlan } from '../jobs/plan-executor.ts';
import type { Alert } from './alert.ts';
import { createPlanner } from './compute-plan.ts';

const T0 = new Date('2026-03-02T09:00:00Z');
const later = (hours: number) => new Date(T0.getTime() + hours * 3_600_000);

for (const backend of testBackends()) {
  describe(`SoD findings (${backend.name})`, () => {
    test('a reconcile turns conflicting access a person or an AI agent holds into one finding each, opened once and resolved when the conflict is gone or mitigated', async () => {
      const { policy } = await loadPolicy(writePolicyDir(SOD_POLICY));
      const erp = createFakeConnector({ groups: ['pay-create', 'pay-approve', 'pay-approve-eu', 'pay-view'] }, { system: 'erp' });
      const e1 = addAccount(erp.state, 'E1', { user_name: 'ana' });
      erp.state.grants.get(e1.accountId)!.add('pay-create').add('pay-approve');
      const bot = addAccount(erp.state, 'BOT1', { user_name: 'payments-agent' });
      erp.state.grants.get(bot.accountId)!.add('pay-create').add('pay-approve-eu');
      const e2 = addAccount(erp.state, 'E2', { user_name: 'eve' });
      erp.state.grants.get(e2.accountId)!.add('pay-create').add('pay-view');
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1'), person('E2'), person('BOT1', {}, { kind: 'ai_agent', owner: 'E1' })]);
        const deps = { db: store.db, policy, connectorFor: () => erp, actor: 'test', sleep: async () => undefined };
        const sod = async () => (await listFindings(store.db, { kind: 'sod_violation', state: 'open' })).map((f) => `${f.identityKey}:${f.entitlement}`).sort();
        const found = async () => (await store.db.selectFrom('audit_log').select('subject').where('action', '=', 'sod.violation_found').orderBy('seq').execute()).map((r) => r.subject);

        await reconcileSystem({ ...deps, now: () => T0 }, 'erp');
        assert.deepEqual(await sod(), ['BOT1:erp:pay-approve-eu + erp:pay-create', 'E1:erp:pay-approve + erp:pay-create']);
        await reconcileSystem({ ...deps, now: () => later(1) }, 'erp');
        assert.deepEqual(await found(), ['BOT1', 'E1'], 'each violation is audited once, not on every run');
        const ids = (await listFindings(store.db, { kind: 'sod_violation' })).map((f) => f.id).sort();

        // E1's violation is mitigated; the agent loses one side.
        await store.db.insertInto('access_requests').values({
          id: 'req-m1', kind: 'exception', requester: 'E1', identity_key: 'E1', role: null, entitlements: JSON.stringify([{ system: 'erp', entitlement: 'pay-approve' }]),
          justification: 'month end', duration_days: 14, state: 'approved', created_at: T0.toISOString(), decided_at: T0.toISOString(), valid_to: later(24 * 14).toISOString(),
          sod_rule: 'payments', compensating_control: 'dual-signature-review', control_owner: 'E2',
        }).execute();
        erp.state.grants.get(bot.accountId)!.delete('pay-approve-eu');
        await reconcileSystem({ ...deps, now: () => later(2) }, 'erp');
        assert.deepEqual(await sod(), []);
        const all = await listFindings(store.db, { kind: 'sod_violation' });
        assert.deepEqual(all.map((f) => `${f.id}:${f.state}`).sort(), ids.map((id) => `${id}:resolved`));

        // The mitigation ends: the violation is back under the same key.
        await reconcileSystem({ ...deps, now: () => later(24 * 15) }, 'erp');
        assert.deepEqual(await sod(), ['E1:erp:pay-approve + erp:pay-create']);
        assert.ok(ids.includes((await listFindings(store.db, { kind: 'sod_violation', state: 'open' }))[0]!.id));
        assert.equal((await verifyAudit(store.db)).ok, true);
      } finally {
        await store.close();
      }
    });

    test('a grant jml confirms that completes a conflict opens the finding, audits it and alerts at once, before any reconcile', async () => {
      const dir = writePolicyDir(SOD_POLICY);
      const { policy } = await loadPolicy(dir);
      const erp = createFakeConnector({ groups: ['pay-create', 'pay-approve', 'pay-view'] }, { system: 'erp' });
      const e1 = addAccount(erp.state, 'E1', { user_name: 'ana' });
      erp.state.grants.get(e1.accountId)!.add('pay-create');
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1')]);
        await reconcileSystem({ db: store.db, policy, connectorFor: () => erp, actor: 'test', now: () => T0 }, 'erp');
        assert.deepEqual(await listFindings(store.db, { kind: 'sod_violation', state: 'open' }), []);
        // Two requests checked one at a time can each pass the gate; the second grant completes the pair.
        const requested = (id: string, entitlement: string) => ({
          id, identity_key: 'E1', system: 'erp', entitlement, reason_type: 'request' as const, reason: JSON.stringify({ type: 'request', requestId: id, roleChain: [] }), created_by: 'test',
        });
        await store.db.insertInto('assignments').values([requested('r1', 'pay-create'), requested('r2', 'pay-approve')]).execute();
        const planner = createPlanner({ db: store.db, config: { policy_dir: dir, timezone: 'UTC' }, actor: 'test', now: () => later(1) });
        const { plan } = await planner.compute();
        assert.deepEqual(plan.changes.map((c) => `${c.kind}:${c.entitlement}`), ['add_grant:pay-approve']);
        const alerts: Alert[] = [];
        const report = await executePlan(
          { store, connectorFor: () => erp, actor: 'test', now: () => later(1), pollMs: 20, policy: () => policy, alert: (a) => void alerts.push(a) },
          plan,
          () => planner.currentFingerprint(),
        );
        assert.equal(report.counts.confirmed, 1);

        const open = await listFindings(store.db, { kind: 'sod_violation', state: 'open' });
        assert.deepEqual(open.map((f) => `${f.identityKey}:${f.entitlement}`), ['E1:erp:pay-approve + erp:pay-create']);
        const audited = await store.db.selectFrom('audit_log').select(['subject', 'trigger']).where('action', '=', 'sod.violation_found').execute();
        assert.deepEqual(audited, [{ subject: 'E1', trigger: `change:${plan.changes[0]!.id}` }]);
        assert.deepEqual(alerts.map((a) => [a.kind, a.severity, a.findingId, a.entitlement]), [['sod_violation', 'critical', open[0]!.id, 'erp:pay-approve + erp:pay-create']]);

        // The next reconcile sees the same conflict: the same finding, not a second entry.
        await reconcileSystem({ db: store.db, policy, connectorFor: () => erp, actor: 'test', now: () => later(2) }, 'erp');
        assert.equal((await store.db.selectFrom('audit_log').select('seq').where('action', '=', 'sod.violation_found').execute()).length, 1);
        assert.equal((await verifyAudit(store.db)).ok, true);
      } finally {
        await store.close();
      }
    });

    test('a confirmed removal of one side resolves the violation at once', async () => {
      const { policy } = await loadPolicy(writePolicyDir(SOD_POLICY));
      const erp = createFakeConnector({ groups: ['pay-create', 'pay-approve'] }, { system: 'erp' });
      const e1 = addAccount(erp.state, 'E1', { user_name: 'ana' });
      erp.state.grants.get(e1.accountId)!.add('pay-create').add('pay-approve');
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1')]);
        await reconcileSystem({ db: store.db, policy, connectorFor: () => erp, actor: 'test', now: () => T0 }, 'erp');
        assert.equal((await listFindings(store.db, { kind: 'sod_violation', state: 'open' })).length, 1);
        await store.db.transaction().execute((trx) => recordConfirmedChange(trx, {
          id: 'chg-1', kind: 'remove_grant', identityKey: 'E1', system: 'erp', accountId: e1.accountId, entitlement: 'pay-approve', reason: 'SoD', dependsOn: [],
        }, { accountId: e1.accountId, actor: 'test', at: later(1) }));
        assert.deepEqual(await listFindings(store.db, { kind: 'sod_violation', state: 'open' }), []);
      } finally {
        await store.close();
      }
    });
  });
}
