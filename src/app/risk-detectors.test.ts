import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { person, seedIdentities, writePolicyDir, FAKE_WIKI_POLICY } from '../../test/support/jml-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import { addAccount } from '../connectors/fake/fake-system.ts';
import { executePlan } from '../jobs/plan-executor.ts';
import { loadPolicy } from '../policy/index.ts';
import { createPlanner } from './compute-plan.ts';
import type { Alert } from './alert.ts';
import { listFindings } from './findings-store.ts';
import { reconcileSystem } from './reconcile.ts';
import { detectRisks, scanRisks } from './risk-detectors.ts';

const NOW = new Date('2026-12-05T12:00:00Z');

describe('risk detectors', () => {
  test('each risk is found with its severity: stale credential, ownerless agent, owner who left, leaver sign-in after leaving, own manager, a management loop', () => {
    const found = detectRisks({
      identities: [
        person('E1'), person('GONE', {}, { status: 'left', endDate: '2026-11-30' }), person('BOSS', { manager: 'BOSS' }),
        person('M1', { manager: 'M2' }), person('M2', { manager: 'M1' }), person('R1', { manager: 'M1' }),
        person('BOT1', {}, { kind: 'ai_agent', owner: null }), person('SVC1', {}, { kind: 'service_account', owner: 'GONE' }), person('SVC2', {}, { kind: 'service_account', owner: 'E1' }),
      ],
      credentials: [
        { id: 'k1', identityKey: 'SVC2', system: 'erp', kind: 'api_key', name: 'api-key', createdAt: '2026-01-01T00:00:00Z', lastRotatedAt: null, status: 'active' },
        { id: 'k2', identityKey: 'SVC2', system: 'erp', kind: 'api_key', name: 'new-key', createdAt: '2026-01-01T00:00:00Z', lastRotatedAt: '2026-11-01T00:00:00Z', status: 'active' },
      ],
      accounts: [
        { system: 'vpn', accountId: 'a1', name: 'gone', identityKey: 'GONE', lastLoginAt: '2026-12-02T08:00:00Z' },
        { system: 'mail', accountId: 'a2', name: 'gone', identityKey: 'GONE', lastLoginAt: '2026-11-30T17:00:00Z' },
      ],
      now: NOW,
      credentialMaxAgeDays: 90,
    });
    assert.deepEqual(found.map((f) => `${f.kind}:${f.subject}:${f.severity}`).sort(), [
      'leaver_activity:vpn:a1:critical', 'ownerless_nhi:BOT1:high', 'ownerless_nhi:SVC1:medium', 'self_approver:BOSS:high', 'self_approver:M1:high', 'self_approver:M2:high', 'stale_credential:k1:medium',
    ]);
  });

  test('a credential is stale after its kind\'s maximum age in its system, else the system\'s, else the default', () => {
    const set = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();
    const credential = (id: string, system: string, kind: 'api_key' | 'certificate', ageDays: number) => ({ id, identityKey: 'SVC1', system, kind, name: id, createdAt: set(ageDays), lastRotatedAt: null, status: 'active' });
    const keep = { onDisable: 'keep', onEnable: 'keep' } as const;
    const found = detectRisks({
      identities: [],
      credentials: [
        credential('erp-key-31', 'erp', 'api_key', 31), // erp: api keys 30 days
        credential('erp-cert-31', 'erp', 'certificate', 31), // erp: everything else 60
        credential('erp-cert-61', 'erp', 'certificate', 61),
        credential('wiki-key-89', 'wiki', 'api_key', 89), // wiki names nothing: the default, 90
        credential('wiki-key-91', 'wiki', 'api_key', 91),
      ],
      accounts: [],
      now: NOW,
      credentialMaxAgeDays: 90,
      systems: [{ name: 'erp', credentials: { ...keep, maxAgeDays: 60, maxAgeDaysByKind: { api_key: 30 } } }, { name: 'wiki', credentials: keep }],
    });
    assert.deepEqual(found.map((f) => f.subject).sort(), ['erp-cert-61', 'erp-key-31', 'wiki-key-91']);
    assert.match(found.find((f) => f.subject === 'erp-key-31')!.detail, /31 days ago \(maximum 30\)/);
  });

  for (const backend of testBackends()) {
    test(`a privileged grant made outside jml raises one high alert right after the reconcile that sees it, and is resolved once gone (${backend.name})`, async () => {
      const { policy } = await loadPolicy(writePolicyDir(FAKE_WIKI_POLICY));
      const wiki = createFakeConnector({ groups: ['staff', 'eng', 'admins'] }, { system: 'wiki' });
      const e1 = addAccount(wiki.state, 'E1', { user_name: 'ada' });
      wiki.state.grants.get(e1.accountId)!.add('staff').add('admins');
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1')]);
        const alerts: Alert[] = [];
        const deps = { db: store.db, policy, connectorFor: () => wiki, actor: 'test', alert: (a: Alert) => void alerts.push(a) };
        await reconcileSystem({ ...deps, now: () => NOW }, 'wiki');
        await reconcileSystem({ ...deps, now: () => new Date(NOW.getTime() + 60_000) }, 'wiki');
        assert.deepEqual(alerts.map((a) => [a.kind, a.severity, a.entitlement]), [['privileged_grant_outside_workflow', 'high', 'admins']], 'alerted once');
        const audited = await store.db.selectFrom('audit_log').select('details').where('action', '=', 'alert.raised').execute();
        assert.equal(audited.length, 1);
        assert.equal((audited[0]!.details as { severity: string }).severity, 'high');

        wiki.state.grants.get(e1.accountId)!.delete('admins');
        await reconcileSystem({ ...deps, now: () => new Date(NOW.getTime() + 120_000) }, 'wiki');
        assert.deepEqual(await listFindings(store.db, { kind: 'privileged_grant_outside_workflow', state: 'open' }), []);
      } finally {
        await store.close();
      }
    });

    test(`a privileged grant made outside jml is removed by the next plan where the system's enforcement is full, and left (still open) where it is relative (${backend.name})`, async () => {
      for (const enforcement of ['full', 'relative'] as const) {
        const dir = writePolicyDir({ ...FAKE_WIKI_POLICY, 'systems.yaml': FAKE_WIKI_POLICY['systems.yaml']!.replace('enforcement: full', `enforcement: ${enforcement}`) });
        const { policy } = await loadPolicy(dir);
        const wiki = createFakeConnector({ groups: ['staff', 'eng', 'admins'] }, { system: 'wiki' });
        const e1 = addAccount(wiki.state, 'E1', { user_name: 'ada' });
        wiki.state.grants.get(e1.accountId)!.add('staff').add('admins');
        const store = await backend.open();
        try {
          await seedIdentities(store.db, [person('E1')]);
          const alerts: Alert[] = [];
          await reconcileSystem({ db: store.db, policy, connectorFor: () => wiki, actor: 'test', now: () => NOW, alert: (a: Alert) => void alerts.push(a) }, 'wiki');
          assert.deepEqual(alerts.map((a) => [a.kind, a.severity]), [['privileged_grant_outside_workflow', 'high']], `${enforcement}: alerted right after the reconcile`);

          const planner = createPlanner({ db: store.db, config: { policy_dir: dir, timezone: 'UTC' }, actor: 'test', now: () => NOW });
          const { plan } = await planner.compute();
          const removals = plan.changes.filter((c) => c.kind === 'remove_grant').map((c) => c.entitlement);
          const open = async () => (await listFindings(store.db, { kind: 'privileged_grant_outside_workflow', state: 'open' })).length;
          if (enforcement === 'relative') {
            assert.deepEqual(removals, [], 'relative: access granted by others is left alone');
            assert.equal(await open(), 1);
            continue;
          }
          assert.deepEqual(removals, ['admins']);
          const report = await executePlan({ store, connectorFor: () => wiki, actor: 'test', now: () => NOW, pollMs: 20 }, plan, () => planner.currentFingerprint());
          assert.equal(report.status, 'applied');
          assert.deepEqual([...wiki.state.grants.get(e1.accountId)!].sort(), ['staff']);
          assert.equal(await open(), 0, 'the confirmed removal resolves the finding');
        } finally {
          await store.close();
        }
      }
    });

    test(`the risk scan opens each finding once and resolves it when the risk is gone (${backend.name})`, async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1'), person('BOT1', {}, { kind: 'ai_agent', owner: null })]);
        await scanRisks(store.db, NOW, { credentialMaxAgeDays: 90 });
        await scanRisks(store.db, NOW, { credentialMaxAgeDays: 90 });
        assert.deepEqual((await listFindings(store.db, { kind: 'ownerless_nhi', state: 'open' })).map((f) => f.id), ['ownerless_nhi:BOT1']);
        assert.equal((await store.db.selectFrom('audit_log').select('seq').where('action', '=', 'alert.raised').execute()).length, 1);
        await seedIdentities(store.db, [person('BOT1', {}, { kind: 'ai_agent', owner: 'E1' })]);
        await scanRisks(store.db, NOW, { credentialMaxAgeDays: 90 });
        assert.deepEqual(await listFindings(store.db, { kind: 'ownerless_nhi', state: 'open' }), []);
      } finally {
        await store.close();
      }
    });
  }
});
