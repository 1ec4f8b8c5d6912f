import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Change } from '../domain/change.ts';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { forEachLink, listedGrants, type AccountLink } from '../engine/observed-index.ts';
import { loadRun, latestRuns } from './observed-snapshot.ts';
import { recordConfirmedChange } from './observed-snapshot-update.ts';

const AT = new Date('2026-03-02T09:00:00Z');
const OLD_DN = 'uid=ada.lovelace,ou=people,dc=example,dc=test';
const NEW_DN = 'uid=ada.king,ou=people,dc=example,dc=test';

const rename: Change = {
  id: 'ch-rename', kind: 'update_attributes', identityKey: 'E1', system: 'directory', accountId: OLD_DN,
  attributes: { name: 'ada.king', cn: 'Ada King', sn: 'King' }, reason: 'identity attributes changed', dependsOn: [],
};

for (const backend of testBackends()) {
  describe(`observed snapshot after a confirmed change (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
    });
    after(() => store.close());

    async function reconciledSnapshot(run: string): Promise<void> {
      const when = AT.toISOString();
      await store.db.insertInto('reconcile_runs').values({
        id: run, system: 'directory', status: 'completed', phase: 'done', cursor: null, pages: 1, summary: null,
        error: null, actor: 'test', started_at: when, updated_at: when, finished_at: when,
      }).execute();
      await store.db.insertInto('observed_accounts').values({
        run_id: run, system: 'directory', account_id: OLD_DN, name: 'ada.lovelace', enabled: true,
        attributes: JSON.stringify({ cn: 'Ada Lovelace', sn: 'Lovelace', employeeNumber: 'E1' }), last_login_at: null, identity_key: 'E1', situation: 'linked',
      }).execute();
      await store.db.insertInto('observed_grants').values(['developers', 'vpn'].map((entitlement) => ({ run_id: run, system: 'directory', account_id: OLD_DN, entitlement }))).execute();
    }

    const confirm = (change: Change, accountId: string | null) =>
      store.db.transaction().execute((trx) => recordConfirmedChange(trx, change, { accountId, actor: 'test', at: AT }));

    test('a confirmed rename moves the account, its new attributes and its grants to the new account id', async () => {
      await reconciledSnapshot('rec-rename');
      await confirm(rename, NEW_DN);
      const snapshot = await loadRun(store.db, (await latestRuns(store.db, ['directory'])).get('directory')!);
      assert.deepEqual(snapshot.accounts.map((a) => [a.accountId, a.name, a.attributes]), [
        [NEW_DN, 'ada.king', { cn: 'Ada King', sn: 'King', employeeNumber: 'E1' }],
      ]);
      assert.deepEqual(listedGrants(snapshot).map((g) => `${g.accountId} ${g.entitlement}`), [`${NEW_DN} developers`, `${NEW_DN} vpn`]);
      const links: AccountLink[] = [];
      forEachLink([snapshot], [], (link) => links.push(link));
      assert.deepEqual(links, [{ system: 'directory', accountId: NEW_DN, identityKey: 'E1' }]);
    });

    test('confirming the same rename again (a retry that found it done) changes nothing', async () => {
      await confirm(rename, NEW_DN);
      const snapshot = await loadRun(store.db, (await latestRuns(store.db, ['directory'])).get('directory')!);
      assert.deepEqual(snapshot.accounts.map((a) => a.accountId), [NEW_DN]);
      assert.equal(listedGrants(snapshot).length, 2);
    });

    test('a disable that moved the entry to another container is recorded under the account id it has now', async () => {
      const disabledDn = 'uid=ada.king,ou=disabled,dc=example,dc=test';
      await confirm({ id: 'ch-disable', kind: 'disable_account', identityKey: 'E1', system: 'directory', accountId: NEW_DN, reason: 'leaver', dependsOn: [] }, disabledDn);
      const snapshot = await loadRun(store.db, (await latestRuns(store.db, ['directory'])).get('directory')!);
      assert.deepEqual(snapshot.accounts.map((a) => [a.accountId, a.enabled]), [[disabledDn, false]]);
      assert.deepEqual(listedGrants(snapshot).map((g) => g.accountId), [disabledDn, disabledDn]);
    });
  });
}
