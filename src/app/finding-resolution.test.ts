import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Connector } from '../connectors/connector.ts';
import { createFakeConnector, type FakeConnector } from '../connectors/fake/fake-connector.ts';
import { addAccount } from '../connectors/fake/fake-system.ts';
import { verifyAudit } from '../store/audit-log.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../../test/support/jml-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import { executePlan } from '../jobs/plan-executor.ts';
import { createPlanner } from './compute-plan.ts';
import { listFindings } from './findings-store.ts';
import { reconcileSystem } from './reconcile.ts';

const RECONCILED = new Date('2026-03-02T09:00:00Z');
const APPLIED = new Date('2026-03-02T10:00:00Z');
const policyDir = writePolicyDir(FAKE_WIKI_POLICY);

/** E1 lacks eng and holds admins nobody gave; E2 left with an enabled account; E3 has no account. */
function seededWiki(): FakeConnector {
  const wiki = createFakeConnector({ groups: ['staff', 'eng', 'admins'] }, { system: 'wiki' });
  const e1 = addAccount(wiki.state, 'E1', { user_name: 'ada.e1' });
  wiki.state.grants.get(e1.accountId)!.add('staff').add('admins');
  addAccount(wiki.state, 'E2', { user_name: 'bob.e2' });
  return wiki;
}

const kinds = (findings: { kind: string; identityKey: string | null; entitlement: string | null }[]) =>
  findings.map((f) => `${f.kind}:${f.identityKey ?? '-'}:${f.entitlement ?? '-'}`).sort();

for (const backend of testBackends()) {
  describe(`findings fixed by a confirmed apply (${backend.name})`, () => {
    async function setup(wiki: Connector) {
      const store = await backend.open();
      await seedIdentities(store.db, [
        person('E1', { department: 'Engineering' }),
        person('E2', {}, { status: 'left', endDate: '2026-02-28' }),
        person('E3'),
      ]);
      let now = RECONCILED;
      const planner = createPlanner({ db: store.db, config: { policy_dir: policyDir, timezone: 'UTC' }, actor: 'test', now: () => now });
      await reconcileSystem({ db: store.db, policy: (await planner.loadPolicy()).policy, connectorFor: () => wiki, actor: 'test', now: () => now }, 'wiki');
      now = APPLIED;
      const apply = async () => executePlan({ store, connectorFor: () => wiki, actor: 'test:apply', now: () => now }, (await planner.compute()).plan, () => planner.currentFingerprint());
      return { store, apply };
    }

    test('a confirmed change resolves the findings it fixed at once, with an audit entry, without waiting for a reconcile', async () => {
      const { store, apply } = await setup(seededWiki());
      try {
        assert.deepEqual(kinds(await listFindings(store.db, { state: 'open' })), [
          'leaver_account_enabled:E2:-', 'missing_account:E3:-', 'missing_grant:E1:eng', 'out_of_policy_grant:E1:admins',
          'privileged_grant_outside_workflow:E1:admins',
        ]);
        const report = await apply();
        assert.equal(report.status, 'applied');
        assert.deepEqual(await listFindings(store.db, { state: 'open' }), []);
        const resolved = await listFindings(store.db, { state: 'resolved' });
        assert.deepEqual(new Set(resolved.map((f) => f.resolvedAt)), new Set([APPLIED.toISOString()]));

        const entries = await store.db.selectFrom('audit_log').select(['actor', 'subject', 'trigger', 'details']).where('action', '=', 'finding.resolved').orderBy('seq').execute();
        const byKind = entries.map((e) => `${e.subject} ${(e.details as { changeKind: string }).changeKind} ${(e.details as { kinds: string[] }).kinds.join(',')}`).sort();
        assert.deepEqual(byKind, [
          'E1 add_grant missing_grant', 'E1 remove_grant out_of_policy_grant,privileged_grant_outside_workflow', 'E2 disable_account leaver_account_enabled', 'E3 create_account missing_account',
        ]);
        assert.ok(entries.every((e) => e.actor === 'test:apply' && e.trigger.startsWith('change:')));
        assert.equal((await verifyAudit(store.db)).ok, true);
      } finally {
        await store.close();
      }
    });

    test('a change that is parked leaves its finding open', async () => {
      const wiki = seededWiki();
      const refusing: Connector = {
        ...wiki,
        readBack: (c) => wiki.readBack(c),
        apply: async (c) => (c.kind === 'add_grant' && c.entitlement === 'eng' ? { status: 'failed', retryable: false, message: 'refused' } : wiki.apply(c)),
      };
      const { store, apply } = await setup(refusing);
      try {
        await apply();
        // The grant is still missing, and the durable executor reports the parked change as a finding of its own.
        assert.deepEqual(kinds(await listFindings(store.db, { state: 'open' })), ['missing_grant:E1:eng', 'parked_change:E1:-']);
      } finally {
        await store.close();
      }
    });
  });
}
