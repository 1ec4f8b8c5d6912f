import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Change } from '../domain/change.ts';
import { isJmlError, JmlError } from '../domain/errors.ts';
import type { Connector } from '../connectors/connector.ts';
import { createFakeConnector, type FakeConnector } from '../connectors/fake/fake-connector.ts';
import { addAccount } from '../connectors/fake/fake-system.ts';
import { loadPolicy } from '../policy/index.ts';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../../test/support/jml-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import { listFindings } from './findings-store.ts';
import { reconcileSystem, type ReconcileDeps } from './reconcile.ts';

const policyDir = writePolicyDir(FAKE_WIKI_POLICY);

function seededWiki(): FakeConnector {
  const wiki = createFakeConnector({ groups: ['staff', 'eng', 'admins'] }, { system: 'wiki' });
  const e1 = addAccount(wiki.state, 'E1', { user_name: 'ada.e1' });
  wiki.state.grants.get(e1.accountId)!.add('staff').add('admins');
  addAccount(wiki.state, 'E2', { user_name: 'bob.e2' });
  addAccount(wiki.state, 'X9', { user_name: 'made.by.hand' });
  return wiki;
}

const kinds = (findings: { kind: string; identityKey: string | null; entitlement: string | null }[]) =>
  findings.map((f) => `${f.kind}:${f.identityKey ?? '-'}:${f.entitlement ?? '-'}`).sort();

for (const backend of testBackends()) {
  describe(`reconcile (${backend.name})`, () => {
    async function setup(wiki: Connector) {
      const store = await backend.open();
      await seedIdentities(store.db, [
        person('E1', { department: 'Engineering' }),
        person('E2', {}, { status: 'left', endDate: '2025-01-31' }),
        person('E3'),
      ]);
      const { policy } = await loadPolicy(policyDir);
      const deps: ReconcileDeps = { db: store.db, policy, connectorFor: () => wiki, actor: 'test', pageSize: 2, sleep: async () => undefined };
      return { store, deps };
    }

    test('classifies accounts and raises orphan, leaver, out-of-policy and missing findings', async () => {
      const wiki = seededWiki();
      const { store, deps } = await setup(wiki);
      try {
        const report = await reconcileSystem(deps, 'wiki');
        assert.deepEqual(report.counts, { accounts: 3, entitlements: 3, grants: 2 });
        assert.deepEqual(report.situations, { linked: 0, unlinked: 2, unmatched: 1, disputed: 0, deleted: 0 });
        assert.deepEqual(kinds(await listFindings(store.db, { state: 'open' })), [
          'leaver_account_enabled:E2:-', 'missing_account:E3:-', 'missing_grant:E1:eng', 'orphan_account:-:-', 'out_of_policy_grant:E1:admins',
          // admins is privileged: granted outside jml, it is also an escalation alert.
          'privileged_grant_outside_workflow:E1:admins',
        ]);
        assert.equal(report.findings.raised, 5);
      } finally {
        await store.close();
      }
    });

    test('a later run links what it matched, resolves findings that no longer hold and reports deleted accounts', async () => {
      const wiki = seededWiki();
      const { store, deps } = await setup(wiki);
      try {
        await reconcileSystem(deps, 'wiki');
        const e1 = [...wiki.state.accounts.values()].find((a) => a.identityKey === 'E1')!;
        wiki.state.grants.get(e1.accountId)!.delete('admins');
        wiki.state.grants.get(e1.accountId)!.add('eng');
        const e2 = [...wiki.state.accounts.values()].find((a) => a.identityKey === 'E2')!;
        wiki.state.accounts.delete(e2.accountId);
        wiki.state.grants.delete(e2.accountId);
        const report = await reconcileSystem(deps, 'wiki');
        assert.deepEqual(report.situations, { linked: 1, unlinked: 0, unmatched: 1, disputed: 0, deleted: 1 });
        assert.deepEqual(report.deleted, [e2.accountId]);
        assert.equal(report.findings.resolved, 3);
        assert.deepEqual(kinds(await listFindings(store.db, { state: 'open' })), ['missing_account:E3:-', 'orphan_account:-:-']);
        const runs = await store.db.selectFrom('reconcile_runs').select('id').execute();
        assert.deepEqual(runs.map((r) => r.id), [report.runId], 'older snapshots are dropped');
      } finally {
        await store.close();
      }
    });

    test('a run that stops on a failing page resumes from its checkpoint without reading pages twice', async () => {
      const wiki = seededWiki();
      let failGrants = true;
      let accountPages = 0;
      const flaky: Connector = {
        ...wiki,
        list: async (kind, cursor, pageSize) => {
          if (kind === 'accounts') accountPages++;
          if (kind === 'grants' && failGrants) {
            failGrants = false;
            throw new JmlError('connector', 'wiki: connection reset', { retryable: false });
          }
          return wiki.list(kind, cursor, pageSize);
        },
      };
      const { store, deps } = await setup(flaky);
      try {
        await assert.rejects(reconcileSystem(deps, 'wiki'), (e) => isJmlError(e, 'connector') && /resume/.test(e.message));
        assert.equal(accountPages, 2);
        const report = await reconcileSystem(deps, 'wiki');
        assert.equal(report.resumed, true);
        assert.equal(accountPages, 2, 'account pages already stored are not read again');
        assert.deepEqual(report.counts, { accounts: 3, entitlements: 3, grants: 2 });
      } finally {
        await store.close();
      }
    });

    test('unmatched accounts are only reported: reconciliation never changes the system', async () => {
      const wiki = seededWiki();
      const applied: Change[] = [];
      const watched: Connector = { ...wiki, apply: async (c) => { applied.push(c); return wiki.apply(c); } };
      const { store, deps } = await setup(watched);
      try {
        await reconcileSystem(deps, 'wiki');
        assert.equal(applied.length, 0);
        assert.equal(wiki.state.accounts.size, 3);
      } finally {
        await store.close();
      }
    });
  });
}
