import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { person, seedIdentities } from '../../../test/support/jml-fixture.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { resolveFinding } from '../alert.ts';
import { importAssets } from '../asset-register.ts';
import { loadLostAssets } from '../plan-inputs.ts';
import { DEFAULT_LOST_DEVICE, lostDeviceStatus, reportLostDevice } from './lost-device-report.ts';

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
        assert.deepEqual([status?.state, status?.steps.length, status?.severity, status?.dueAt], ['overdue', 0, 'high', '2026-06-15T13:00:00.000Z'], 'no revocation confirmed five hours after the report is overdue');
        await resolveFinding(store.db, 'lost_asset', 'asset:LAP-1', NOW);
        assert.deepEqual(await loadLostAssets(store.db), [], 'a resolved report no longer drives the plan');
      } finally {
        await store.close();
      }
    });

    test('a stolen item is a high-severity finding and a lost one medium, or as configured; the clock runs for the configured hours', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1')]);
        await importAssets(store.db, `${HEADER}\nLAP-2,S2,laptop,ThinkPad,E1,Berlin,assigned\nPHN-3,S3,phone,Pixel,E1,Berlin,assigned\nKEY-4,S4,security_key,YubiKey,E1,Berlin,assigned\n`, { file: 'a.csv', actor: 'test', now: NOW });
        const alerts: { tag: string; severity: string | undefined }[] = [];
        const alert = (a: { subject: string; severity?: string }) => void alerts.push({ tag: a.subject, severity: a.severity });
        await reportLostDevice({ db: store.db, alert }, { tag: 'LAP-2', status: 'stolen', by: 'E1' }, NOW);
        await reportLostDevice({ db: store.db, alert }, { tag: 'PHN-3', status: 'lost', by: 'E1' }, NOW);
        const strict = { slaHours: 1, severity: { ...DEFAULT_LOST_DEVICE.severity, lost: 'critical' as const } };
        await reportLostDevice({ db: store.db, alert, settings: strict }, { tag: 'KEY-4', status: 'lost', by: 'E1' }, NOW);
        assert.deepEqual(alerts, [{ tag: 'asset:LAP-2', severity: 'high' }, { tag: 'asset:PHN-3', severity: 'medium' }, { tag: 'asset:KEY-4', severity: 'critical' }]);
        const raised = await store.db.selectFrom('audit_log').select('details').where('action', '=', 'alert.raised').orderBy('seq').execute();
        assert.deepEqual(raised.map((r) => (r.details as { severity?: string }).severity), ['high', 'medium', 'critical'], 'the severity goes into the audit trail (and the SIEM)');
        const inTwoHours = new Date(NOW.getTime() + 2 * 3_600_000);
        assert.equal((await lostDeviceStatus(store.db, 'KEY-4', inTwoHours, strict))?.state, 'overdue');
        const phone = await lostDeviceStatus(store.db, 'PHN-3', inTwoHours);
        assert.deepEqual([phone?.state, phone?.report, phone?.slaHours], ['in_progress', 'lost', 4]);
      } finally {
        await store.close();
      }
    });
  });
}
