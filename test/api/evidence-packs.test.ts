/**
 * The console's evidence download: a security user builds a signed pack and
 * gets it as a zip that `jml evidence verify` accepts once unpacked; the
 * build is recorded in the audit trail.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { unzipSync } from 'fflate';
import { generateCheckpointKey, loadVerifyKey } from '../../src/app/audit/checkpoint-key.ts';
import { buildEvidenceZip } from '../../src/app/evidence/evidence-service.ts';
import { verifyEvidencePack } from '../../src/app/evidence/evidence-verify.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { testConfig } from '../support/hr-files.ts';
import { seedOrganisation, startApi } from './api-fixture.ts';

let store: Store;
let api: Awaited<ReturnType<typeof startApi>>;
const dir = mkdtempSync(path.join(tmpdir(), 'jml-evidence-api-'));
const keyFile = path.join(dir, 'audit.key');

before(async () => {
  generateCheckpointKey(keyFile);
  store = await testBackends()[0]!.open();
  await seedOrganisation(store);
  const config = testConfig({ audit: { key_file: keyFile } });
  api = await startApi(store, { services: { evidence: { build: (request) => buildEvidenceZip(store.db, config, request, new Date()) } } });
});
after(async () => {
  await api.app.close();
  await store.close();
});

test('a security user downloads a signed evidence pack that verifies once unzipped', { timeout: 120_000 }, async () => {
  const { cookie, csrf } = api.sessions.security;
  const res = await api.app.inject({ method: 'POST', url: '/api/evidence-packs', headers: { cookie, 'x-csrf-token': csrf }, payload: { framework: 'soc2', from: '2026-01-01', to: '2026-12-31' } });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { fileName: string; zipBase64: string; counts: Record<string, number> };
  assert.equal(body.fileName, 'evidence-soc2-2026-01-01-2026-12-31.zip');
  const files = unzipSync(Buffer.from(body.zipBase64, 'base64'));
  assert.ok(files['manifest.json'] && files['manifest.sig'] && files['report.html'] && files['report.pdf']);
  const out = path.join(dir, 'unzipped');
  for (const [rel, bytes] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(out, rel)), { recursive: true });
    writeFileSync(path.join(out, rel), bytes);
  }
  const verdict = await verifyEvidencePack(store.db, out, loadVerifyKey(`${keyFile}.pub`));
  assert.deepEqual(verdict.problems, []);
  const audited = await store.db.selectFrom('audit_log').select(['actor', 'trigger']).where('action', '=', 'evidence.built').execute();
  assert.equal(audited.length, 1);
  assert.match(audited[0]!.trigger, /^api:/);
});

test('a pack for a period that ends before it starts is refused with the field named', async () => {
  const { cookie, csrf } = api.sessions.admin;
  const res = await api.app.inject({ method: 'POST', url: '/api/evidence-packs', headers: { cookie, 'x-csrf-token': csrf }, payload: { framework: 'iso27001', from: '2026-12-31', to: '2026-01-01' } });
  assert.equal(res.statusCode, 400, res.body);
  assert.match(res.body, /from \(2026-12-31\) must not be after to \(2026-01-01\)/);
});
