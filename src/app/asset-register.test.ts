import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isJmlError } from '../domain/errors.ts';
import { verifyAudit } from '../store/audit-log.ts';
import { person, seedIdentities } from '../../test/support/jml-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import type { Alert } from './alert.ts';
import { importAssets, listAssets, reportAsset } from './asset-register.ts';

const NOW = new Date('2026-03-02T09:00:00Z');
const HEADER = 'tag,serial,kind,description,holder,location,status';

for (const backend of testBackends()) {
  describe(`asset register (${backend.name})`, () => {
    test('an import upserts by tag and audits each change; a file with one bad row writes nothing and names file, line and column', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1'), person('E2')]);
        const first = `${HEADER}\nLAP-1,SN1,laptop,ThinkPad,E1,Berlin,assigned\nTOK-1,,token,YubiKey,,,in_stock\n`;
        assert.deepEqual(await importAssets(store.db, first, { file: 'a.csv', actor: 'test', now: NOW }), { created: 2, updated: 0, unchanged: 0 });
        const second = `${HEADER}\nLAP-1,SN1,laptop,ThinkPad,E2,Paris,assigned\nTOK-1,,token,YubiKey,,,in_stock\n`;
        assert.deepEqual(await importAssets(store.db, second, { file: 'a.csv', actor: 'test', now: NOW }), { created: 0, updated: 1, unchanged: 1 });
        assert.deepEqual((await listAssets(store.db, { holder: 'E2' })).map((a) => `${a.tag}@${a.location}`), ['LAP-1@Paris']);

        const bad = `${HEADER}\nPHN-1,SN9,phone,Pixel,E1,Berlin,assigned\nPHN-2,SN8,phone,Pixel,E404,Berlin,assigned\nPHN-3,,phone,,,,misplaced\n`;
        const error = await importAssets(store.db, bad, { file: 'bad.csv', actor: 'test', now: NOW }).catch((e: unknown) => e);
        assert.ok(isJmlError(error, 'invalid_input'));
        assert.match(error.message, /bad\.csv:3: column holder: no identity E404/);
        assert.match(error.message, /bad\.csv:4: column status: status must be one of/);
        assert.equal((await listAssets(store.db)).length, 2, 'the valid row was not written either');
        await assert.rejects(importAssets(store.db, `${HEADER}\n`, { file: 'empty.csv', actor: 'test' }), /no asset rows/);

        const audit = await store.db.selectFrom('audit_log').select(['action', 'before', 'after']).where('subject', '=', 'asset:LAP-1').orderBy('seq').execute();
        assert.deepEqual(audit.map((a) => a.action), ['asset.registered', 'asset.updated']);
        assert.equal((audit[1]!.before as { holder: string }).holder, 'E1');
      } finally {
        await store.close();
      }
    });

    test('a stolen device is recorded, audited, and raises one finding and alert asking to revoke the holder sessions', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1'), person('E9')]);
        await importAssets(store.db, `${HEADER}\nPHN-1,SN1,phone,iPhone,E1,London,assigned\n`, { file: 'a.csv', actor: 'test', now: NOW });
        const alerts: Alert[] = [];
        const asset = await reportAsset(store.db, { tag: 'PHN-1', status: 'stolen', by: 'E1', note: 'taken on the train' }, NOW, (a) => void alerts.push(a));
        assert.equal(asset.status, 'stolen');
        assert.equal(alerts.length, 1);
        assert.match(alerts[0]!.detail, /phone PHN-1 reported stolen by E1 \(taken on the train\): revoke the sessions of E1/);
        const finding = await store.db.selectFrom('findings').select(['kind', 'identity_key', 'state']).where('kind', '=', 'lost_asset').executeTakeFirstOrThrow();
        assert.deepEqual(finding, { kind: 'lost_asset', identity_key: 'E1', state: 'open' });
        await assert.rejects(reportAsset(store.db, { tag: 'PHN-1', status: 'lost', by: 'NOBODY' }, NOW), /no such identity/);
        await assert.rejects(reportAsset(store.db, { tag: 'NOPE', status: 'lost', by: 'E9' }, NOW), /no asset NOPE/);
        assert.deepEqual((await store.db.selectFrom('audit_log').select('action').where('subject', '=', 'asset:PHN-1').orderBy('seq').execute()).map((a) => a.action), ['asset.registered', 'asset.reported_stolen']);
        assert.equal((await verifyAudit(store.db)).ok, true);
      } finally {
        await store.close();
      }
    });
  });
}
