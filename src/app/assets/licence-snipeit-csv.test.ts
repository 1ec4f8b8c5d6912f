import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isJmlError } from '../../domain/errors.ts';
import { person, seedIdentities } from '../../../test/support/jml-fixture.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { assignSeat, licenceUse } from './licence-seats.ts';
import { exportSnipeItLicences, importSnipeItLicences } from './licence-snipeit-csv.ts';

const NOW = new Date('2026-12-01T09:00:00Z');
const FILE = [
  'Name,Manufacturer,Serial Number,Seats,Expiration Date,Notes,Category',
  'Figma Pro,Figma,FG-1111,10,2027-06-30,design team,Software',
  'Office 365 E3,Microsoft,,250,,"=HYPERLINK(""x"")",Software',
].join('\n');

for (const backend of testBackends()) {
  describe(`licences in Snipe-IT columns (${backend.name})`, () => {
    test('a Snipe-IT licence file imports, exports back in the same columns and imports again unchanged; product keys leave only when asked for', async () => {
      const store = await backend.open();
      try {
        assert.deepEqual(await importSnipeItLicences(store.db, FILE, { file: 'licenses.csv', actor: 'cli:it', now: NOW }), { saved: 2 });
        const [figma, office] = await licenceUse(store.db);
        assert.deepEqual([figma!.name, figma!.seats, figma!.productKey, figma!.expiresOn, office!.manufacturer, office!.notes], ['Figma Pro', 10, 'FG-1111', '2027-06-30', 'Microsoft', '=HYPERLINK("x")']);
        const exported = await exportSnipeItLicences(store.db);
        assert.equal(exported.split('\r\n')[0], 'Item Name,Manufacturer,Product Key,Seats,Expiration Date,Notes');
        assert.ok(!exported.includes('FG-1111'), 'no product key unless asked for');
        assert.ok(exported.includes(`'=HYPERLINK`), 'a formula-leading cell is neutralised');
        const withKeys = await exportSnipeItLicences(store.db, { withProductKeys: true });
        assert.ok(withKeys.includes('FG-1111'));
        await importSnipeItLicences(store.db, withKeys, { file: 'back.csv', actor: 'cli:it', now: NOW });
        assert.deepEqual(await licenceUse(store.db), [figma, office], 'the round trip changes nothing');
      } finally {
        await store.close();
      }
    });

    test('a bad licence file names file, line and column for every problem and saves nothing, seats in use included', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1'), person('E2')]);
        await importSnipeItLicences(store.db, 'Item Name,Seats\nFigma Pro,2\n', { file: 'a.csv', actor: 'cli:it', now: NOW });
        await assignSeat(store.db, { licence: 'Figma Pro', identityKey: 'E1', system: 'figma', accountId: 'e1', by: 'cli:it' }, NOW);
        await assignSeat(store.db, { licence: 'Figma Pro', identityKey: 'E2', system: 'figma', accountId: 'e2', by: 'cli:it' }, NOW);
        const bad = 'Item Name,Seats,Expiration Date\nNew One,5,\nFigma Pro,1,\n,3,\nOther,many,2027-02-30\n';
        await assert.rejects(importSnipeItLicences(store.db, bad, { file: 'bad.csv', actor: 'cli:it', now: NOW }), (e) => isJmlError(e, 'invalid_input') && [
          'bad.csv:3: column Seats: Figma Pro has 2 seats in use, more than 1',
          'bad.csv:4: column Item Name: is required',
          'bad.csv:5: column Seats: must be a whole number, not "many"',
          'bad.csv:5: column Expiration Date: must be a date YYYY-MM-DD, not "2027-02-30"',
        ].every((line) => e.message.includes(line)));
        assert.deepEqual((await licenceUse(store.db)).map((l) => `${l.name}:${l.seats}`), ['Figma Pro:2'], 'New One on line 2 was not saved either');
        await assert.rejects(importSnipeItLicences(store.db, 'Item Name\nX\n', { file: 'c.csv', actor: 'cli:it', now: NOW }), /c\.csv:1: missing column Seats/);
      } finally {
        await store.close();
      }
    });
  });
}
