import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isJmlError } from '../../domain/errors.ts';
import { person, seedIdentities } from '../../../test/support/jml-fixture.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { importAssets } from '../asset-register.ts';
import { acceptAsset, assetAuditsDue, assetHistory, checkInAsset, checkOutAsset, recordAssetAudit, setAuditCadence } from './asset-custody.ts';

const NOW = new Date('2026-03-02T09:00:00Z');
const later = (days: number) => new Date(NOW.getTime() + days * 86_400_000);
const HEADER = 'tag,serial,kind,description,holder,location,status';

for (const backend of testBackends()) {
  describe(`asset custody (${backend.name})`, () => {
    test('a check-out waits for the holder to accept; only the holder can; check-in returns it and the history shows every holder', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1'), person('E2'), person('E3', {}, { status: 'left' })]);
        await importAssets(store.db, `${HEADER}\nLAP-1,SN1,laptop,ThinkPad,,Store,in_stock\n`, { file: 'a.csv', actor: 'test', now: NOW });
        const out = await checkOutAsset(store.db, { tag: 'LAP-1', to: 'E1', actor: 'it:bob' }, later(1));
        assert.deepEqual([out.status, out.holder, out.acceptedAt], ['assigned', 'E1', null]);
        await assert.rejects(acceptAsset(store.db, { tag: 'LAP-1', by: 'E2' }, later(1)), (e) => isJmlError(e, 'forbidden'));
        assert.equal((await acceptAsset(store.db, { tag: 'LAP-1', by: 'E1' }, later(2))).acceptedAt, later(2).toISOString());
        await assert.rejects(checkOutAsset(store.db, { tag: 'LAP-1', to: 'E2', actor: 'it:bob' }, later(3)), /LAP-1 is assigned \(held by E1\): check it in first/);
        await assert.rejects(checkOutAsset(store.db, { tag: 'LAP-1', to: 'E3', actor: 'it:bob' }, later(3)), /E3 has left/);
        const back = await checkInAsset(store.db, { tag: 'LAP-1', actor: 'it:bob', to: 'in_repair', note: 'cracked screen' }, later(4));
        assert.deepEqual([back.status, back.holder], ['in_repair', null]);
        await checkInAsset(store.db, { tag: 'LAP-1', actor: 'it:bob' }, later(5));
        await checkOutAsset(store.db, { tag: 'LAP-1', to: 'E2', actor: 'it:bob' }, later(6));
        const history = await assetHistory(store.db, 'LAP-1');
        assert.deepEqual(history.map((h) => `${h.action}:${h.holder ?? '-'}:${h.status}`), [
          'asset.registered:-:in_stock', 'asset.checked_out:E1:assigned', 'asset.accepted:E1:assigned', 'asset.checked_in:-:in_repair', 'asset.checked_in:-:in_stock', 'asset.checked_out:E2:assigned',
        ]);
      } finally {
        await store.close();
      }
    });

    test('a category cadence makes never-audited assets overdue, an audit moves the next one a cadence later, and one due soon is listed as due', async () => {
      const store = await backend.open();
      try {
        await importAssets(store.db, `${HEADER}\nLAP-1,,laptop,,,,in_stock\nLAP-2,,laptop,,,,in_stock\nPHN-1,,phone,,,,in_stock\nLAP-9,,laptop,,,,retired\n`, { file: 'a.csv', actor: 'test', now: NOW });
        assert.deepEqual(await assetAuditsDue(store.db, NOW), [], 'no cadence, nothing due');
        await setAuditCadence(store.db, 'laptop', 90, 'it:bob', NOW);
        await assert.rejects(setAuditCadence(store.db, 'phone', 0, 'it:bob', NOW), /days must be a positive whole number/);
        assert.deepEqual((await assetAuditsDue(store.db, NOW)).map((d) => `${d.tag}:${d.state}`), ['LAP-1:overdue', 'LAP-2:overdue']);
        const audited = await recordAssetAudit(store.db, { tag: 'LAP-1', actor: 'it:bob', location: 'Berlin' }, NOW);
        assert.equal(audited.nextAuditAt, later(90).toISOString());
        assert.deepEqual((await assetAuditsDue(store.db, later(1))).map((d) => `${d.tag}:${d.state}`), ['LAP-2:overdue']);
        assert.deepEqual((await assetAuditsDue(store.db, later(70))).map((d) => `${d.tag}:${d.state}`), ['LAP-1:due', 'LAP-2:overdue']);
        assert.deepEqual((await assetAuditsDue(store.db, later(91))).map((d) => `${d.tag}:${d.state}`), ['LAP-1:overdue', 'LAP-2:overdue']);
      } finally {
        await store.close();
      }
    });
  });
}
