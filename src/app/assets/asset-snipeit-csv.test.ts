import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isJmlError } from '../../domain/errors.ts';
import { person, seedIdentities } from '../../../test/support/jml-fixture.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { listAssets } from '../asset-register.ts';
import { exportSnipeItAssets, importSnipeItAssets } from './asset-snipeit-csv.ts';

const NOW = new Date('2026-03-02T09:00:00Z');
const SNIPE = [
  'Asset Tag,Item Name,Category,Model Name,Manufacturer,Serial Number,Status,Location,Username,Purchase Date,Warranty Months,Next Audit Date,Notes,Purchase Cost',
  'LAP-1,ThinkPad of Ada,laptop,T14 Gen 5,Lenovo,PF4XYZ,Deployed,Berlin,E1,2025-01-15,36,2026-06-01,"has a sticker, ""blue""",1299',
  'KEY-1,YubiKey,security_key,YubiKey 5C,Yubico,=cmd|calc,Ready to Deploy,Store room,,,,,-fragile,',
  'PHN-1,Pixel,phone,Pixel 9,Google,SN9,Out for Repair,Repair shop,E2,2024-11-30,24,,,',
].join('\n');

for (const backend of testBackends()) {
  describe(`Snipe-IT asset CSV (${backend.name})`, () => {
    test('a Snipe-IT export imports, exports, and imports back unchanged, formula-leading cells included', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1'), person('E2')]);
        assert.deepEqual(await importSnipeItAssets(store.db, SNIPE, { file: 'snipe.csv', actor: 'test', now: NOW }), { created: 3, updated: 0, unchanged: 0 });
        const lap = (await listAssets(store.db)).find((a) => a.tag === 'LAP-1')!;
        assert.deepEqual(
          { kind: lap.kind, model: lap.model, maker: lap.manufacturer, serial: lap.serial, status: lap.status, holder: lap.holder, bought: lap.purchaseDate, warranty: lap.warrantyMonths, audit: lap.nextAuditAt, notes: lap.notes },
          { kind: 'laptop', model: 'T14 Gen 5', maker: 'Lenovo', serial: 'PF4XYZ', status: 'assigned', holder: 'E1', bought: '2025-01-15', warranty: 36, audit: '2026-06-01T00:00:00.000Z', notes: 'has a sticker, "blue"' },
        );
        const exported = await exportSnipeItAssets(store.db);
        assert.match(exported, /,'=cmd\|calc,/, 'a formula-leading serial is neutralised on export');
        const before = await listAssets(store.db);
        assert.deepEqual(await importSnipeItAssets(store.db, exported, { file: 'export.csv', actor: 'test', now: NOW }), { created: 0, updated: 0, unchanged: 3 });
        assert.deepEqual(await listAssets(store.db), before);
        assert.equal(before.find((a) => a.tag === 'KEY-1')!.serial, '=cmd|calc');
        assert.equal(before.find((a) => a.tag === 'PHN-1')!.status, 'in_repair');

        const fresh = await backend.open();
        try {
          await seedIdentities(fresh.db, [person('E1'), person('E2')]);
          await importSnipeItAssets(fresh.db, exported, { file: 'export.csv', actor: 'test', now: NOW });
          assert.deepEqual(await listAssets(fresh.db), before, 'another register built from the export holds the same assets');
        } finally {
          await fresh.close();
        }
      } finally {
        await store.close();
      }
    });

    test('a Snipe-IT file with bad rows names file, line and Snipe-IT column, and writes nothing', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1')]);
        const bad = [
          'asset tag,category,status,username,purchase date,warranty months',
          'LAP-1,laptop,Deployed,E1,2025-01-15,36',
          'LAP-2,laptop,Deployed,E404,2025-01-15,36',
          'LAP-3,,Mislaid,,15/01/2025,three',
          'LAP-4,laptop,Deployed,,,',
          'LAP-5,laptop,Ready to Deploy,,2025-02-30,',
        ].join('\n');
        const error = await importSnipeItAssets(store.db, bad, { file: 'bad.csv', actor: 'test', now: NOW }).catch((e: unknown) => e);
        assert.ok(isJmlError(error, 'invalid_input'));
        assert.match(error.message, /bad\.csv:6: column Purchase Date: is not a calendar date/);
        assert.match(error.message, /bad\.csv:3: column Username: no identity E404/);
        assert.match(error.message, /bad\.csv:4: column Category: is required/);
        assert.match(error.message, /bad\.csv:4: column Purchase Date: must be a date YYYY-MM-DD/);
        assert.match(error.message, /bad\.csv:4: column Status: unknown status "Mislaid"/);
        assert.match(error.message, /bad\.csv:4: column Warranty Months: must be a whole number of months/);
        assert.match(error.message, /bad\.csv:5: column Username: an assigned asset needs a holder/);
        assert.deepEqual(await listAssets(store.db), []);
        await assert.rejects(importSnipeItAssets(store.db, 'Serial Number\nX\n', { file: 'no-tag.csv', actor: 'test' }), /no-tag\.csv:1: missing column Asset Tag/);
      } finally {
        await store.close();
      }
    });
  });
}
