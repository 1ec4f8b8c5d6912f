/**
 * Evidence packs built from the demo organisation: the pack verifies; one
 * changed byte in any file, an added file, a manifest signed by another key,
 * or an audit entry edited behind the pack makes verify fail and name it; the
 * PDF printed by Chromium opens in poppler's pdftoppm.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { unzipSync } from 'fflate';
import { generateCheckpointKey, loadSigningKey, loadVerifyKey } from '../../src/app/audit/checkpoint-key.ts';
import { takeCheckpoint } from '../../src/app/audit/audit-checkpoint.ts';
import { buildEvidencePack, MANIFEST } from '../../src/app/evidence/evidence-pack.ts';
import { verifyEvidencePack } from '../../src/app/evidence/evidence-verify.ts';
import { loadDemo } from '../../src/app/load-demo.ts';
import { testBackends } from '../support/backends.ts';
import { tempDir, testConfig } from '../support/hr-files.ts';

const NOW = new Date('2026-11-22T09:00:00Z');
const PERIOD = { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') };
const hasPdftoppm = spawnSync('pdftoppm', ['-v']).error === undefined;

function keys() {
  const dir = mkdtempSync(path.join(tmpdir(), 'jml-evidence-key-'));
  generateCheckpointKey(path.join(dir, 'audit.key'));
  return { dir, keyFile: path.join(dir, 'audit.key'), checkpoints: path.join(dir, 'checkpoints.jsonl') };
}

for (const [index, backend] of testBackends().entries()) {
  // The PDF is the same on both backends; Chromium runs once.
  const pdf = index === 0;
  describe(`evidence packs on ${backend.name}`, () => {
    test('a pack built from the demo organisation verifies, and every changed byte, added file or edited audit entry is named', { timeout: 180_000 }, async () => {
      const store = await backend.open();
      try {
        const config = { ...testConfig({ timezone: 'Europe/Berlin' }), data_dir: tempDir(), policy_dir: path.resolve(import.meta.dirname, '../../policy') };
        await loadDemo({ db: store.db, config }, { actor: 'demo', now: NOW });
        const { keyFile, checkpoints, dir } = keys();
        const key = loadSigningKey(keyFile);
        await takeCheckpoint(store.db, key, { file: checkpoints }, NOW);
        const out = path.join(dir, 'pack');
        const built = await buildEvidencePack(store.db, key, { framework: 'pci-dss', period: PERIOD, out, zip: true, pdf, actor: 'cli:test', checkpoints }, NOW);
        assert.ok(built.counts.joiners! > 0, 'the demo has joiners');
        assert.ok(built.manifest.audit.entries > 0);
        assert.equal(built.manifest.checkpoint?.seq, built.manifest.audit.last_seq);
        assert.match(readFileSync(path.join(out, 'data/access-reviews.json'), 'utf8'), /no access reviews recorded/);
        const zipped = Object.keys(unzipSync(readFileSync(built.zip!)));
        assert.deepEqual(zipped.sort(), [...built.manifest.files.map((f) => f.path), MANIFEST, 'manifest.sig'].sort());

        const verifyKey = loadVerifyKey(`${keyFile}.pub`);
        const clean = await verifyEvidencePack(store.db, out, verifyKey);
        assert.deepEqual(clean.problems, []);
        assert.equal(clean.auditEntries, built.manifest.audit.entries);

        for (const rel of [...built.manifest.files.map((f) => f.path), MANIFEST]) {
          const file = path.join(out, rel);
          const original = readFileSync(file);
          const changed = Buffer.from(original);
          const middle = changed.length >> 1;
          changed[middle] = changed[middle]! ^ 0x01;
          writeFileSync(file, changed);
          const verdict = await verifyEvidencePack(store.db, out, verifyKey);
          writeFileSync(file, original);
          assert.equal(verdict.ok, false, rel);
          assert.ok(verdict.problems.some((p) => p.startsWith(`${rel}:`)), `${rel} is named: ${verdict.problems.join('; ')}`);
        }

        writeFileSync(path.join(out, 'data/extra.csv'), 'a\n');
        assert.deepEqual((await verifyEvidencePack(store.db, out, verifyKey)).problems, ['data/extra.csv: not listed in the manifest (added after the pack was built)']);
        spawnSync('rm', [path.join(out, 'data/extra.csv')]);

        const stranger = keys();
        const foreign = await verifyEvidencePack(store.db, out, loadVerifyKey(stranger.keyFile));
        assert.match(foreign.problems[0] ?? '', /manifest\.json: the signature in manifest\.sig does not match/);

        const victim = built.manifest.audit.first_seq! + 3;
        await store.db.transaction().execute(async (trx) => {
          await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update`.execute(trx);
          await sql`UPDATE audit_log SET actor = 'someone-else' WHERE seq = ${victim}`.execute(trx);
          await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update`.execute(trx);
        });
        const edited = await verifyEvidencePack(store.db, out, verifyKey);
        assert.deepEqual(edited.problems, [`audit entry ${victim}: edited (its content no longer matches its hash)`]);
      } finally {
        await store.close();
      }
    });
  });
}

test('the PDF of a pack renders: pdftoppm turns its first page into an image', { skip: hasPdftoppm ? false : 'pdftoppm is not installed (apt-get install poppler-utils)', timeout: 120_000 }, async () => {
  const store = await testBackends()[0]!.open();
  try {
    const config = { ...testConfig(), data_dir: tempDir(), policy_dir: path.resolve(import.meta.dirname, '../../policy') };
    await loadDemo({ db: store.db, config }, { actor: 'demo', now: NOW, people: 40 });
    const { keyFile, dir } = keys();
    const out = path.join(dir, 'pack');
    await buildEvidencePack(store.db, loadSigningKey(keyFile), { framework: 'iso27001', period: PERIOD, out, pdf: true, actor: 'cli:test' }, NOW);
    const pdf = readFileSync(path.join(out, 'report.pdf'));
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    const info = spawnSync('pdfinfo', [path.join(out, 'report.pdf')], { encoding: 'utf8' });
    assert.match(info.stdout, /Pages:\s+[1-9]/);
    const rendered = spawnSync('pdftoppm', ['-png', '-r', '40', '-f', '1', '-l', '1', path.join(out, 'report.pdf'), path.join(dir, 'page')], { encoding: 'utf8' });
    assert.equal(rendered.status, 0, rendered.stderr);
    const png = path.join(dir, 'page-1.png');
    const page = existsSync(png) ? png : path.join(dir, 'page-01.png');
    assert.ok(readFileSync(page).subarray(1, 4).toString() === 'PNG');
    const text = spawnSync('pdftotext', ['-f', '1', '-l', '1', path.join(out, 'report.pdf'), '-'], { encoding: 'utf8' });
    assert.match(text.stdout, /Summary per control/);
    assert.match(text.stdout, /A\.5\.11/);
  } finally {
    await store.close();
  }
});

test('a pack asked to be zipped next to an existing file of that name is refused before anything is written, and the file is kept', async () => {
  const store = await testBackends()[0]!.open();
  try {
    const { keyFile, dir } = keys();
    const out = path.join(dir, 'pack');
    writeFileSync(`${out}.zip`, 'last quarter’s signed pack');
    await assert.rejects(
      buildEvidencePack(store.db, loadSigningKey(keyFile), { framework: 'iso27001', period: PERIOD, out, zip: true, pdf: false, actor: 'cli:test' }, NOW),
      (error: Error & { code?: string }) => error.code === 'conflict' && error.message.includes(`${out}.zip`),
    );
    assert.equal(readFileSync(`${out}.zip`, 'utf8'), 'last quarter’s signed pack');
    assert.equal(existsSync(out), false, 'no pack directory was made');
    assert.equal((await store.db.selectFrom('audit_log').select('seq').where('action', '=', 'evidence.built').execute()).length, 0);
  } finally {
    await store.close();
  }
});
