import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { person, seedIdentities } from '../../../test/support/jml-fixture.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { resolveFinding } from '../alert.ts';
import { importAssets } from '../asset-register.ts';
import { loadLostAssets } from '../plan-inputs.ts';
import { lostDeviceStatus, reportLostDevice } from './lost-device-report.ts';

const NOW = new Date('2026-06-15T09:00:00Z');
const HEADER = 'tag,serial,kind,description,holder,location,status';

for (const backend of testBackends()) {
  describe(`lost or stolen report (${backend.name})`, () => {
    test('a stolen laptop of a leaver alerts security as such, asks for the holder\'s replan, and feeds the plan until the finding is resolved', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1', {}, { status: 'left', endDate: '2026-06-12' }), person('E2')]);
        await importAssets(store.db, `${HEADER}\nLAP-1,PF4XYZ,laptop,ThinkPad,E1,Berlin,assigned\n`, { file: 'a.csv', actor: 'test', now: NOW });
        const asked: string[][] = [];
        const replan = { requestReplan: async (keys: readonly string[] | undefined) => void asked.push([...(keys ?? [])]) };
        const { asset, replanRequested } = await reportLostDevice({ db: store.db, replan }, { tag: 'LAP-1', status: 'stolen', by: 'E2', note: 'seen on a resale site' }, NOW);
        assert.equal(asset.status, 'stolen');
        assert.equal(replanRequested, true);
        assert.deepEqual(asked, [['E1']]);
        const finding = await store.db.selectFrom('findings').select(['detail', 'identity_key']).where('id', '=', 'lost_asset:asset:LAP-1').executeTakeFirstOrThrow();
        assert.match(finding.detail, /laptop LAP-1 of leaver E1 reported stolen by E2/);
        assert.deepEqual(await loadLostAssets(store.db), [{ tag: 'LAP-1', serial: 'PF4XYZ', holderKey: 'E1', status: 'stolen', reportedAt: NOW.toISOString() }]);

        const status = await lostDeviceStatus(store.db, 'LAP-1', new Date(NOW.getTime() + 5 * 3_600_000));
        assert.deepEqual([status?.state, status?.steps.length], ['overdue', 0], 'no revocation confirmed five hours after the report is overdue');
        await resolveFinding(store.db, 'lost_asset', 'asset:LAP-1', NOW);
        assert.deepEqual(await loadLostAssets(store.db), [], 'a resolved report no longer drives the plan');
      } finally {
        await store.close();
      }
    });
  });
}
