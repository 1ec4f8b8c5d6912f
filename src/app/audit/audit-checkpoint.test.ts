import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { testBackends } from '../../../test/support/backends.ts';
import { isJmlError } from '../../domain/errors.ts';
import { appendAudit, entryHash, verifyAudit } from '../../store/audit-log.ts';
import type { Store } from '../../store/open-store.ts';
import { readCheckpoints, signCheckpoint, takeCheckpoint, verifyAgainstCheckpoints } from './audit-checkpoint.ts';
import { generateCheckpointKey, loadSigningKey, loadVerifyKey } from './checkpoint-key.ts';

const NOW = new Date('2026-12-05T12:00:00Z');

function keyDir() {
  const dir = mkdtempSync(path.join(tmpdir(), 'jml-audit-key-'));
  const keyFile = path.join(dir, 'audit.key');
  generateCheckpointKey(keyFile);
  return { dir, keyFile, checkpoints: path.join(dir, 'checkpoints.jsonl') };
}

async function append(store: Store, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) {
    await appendAudit(store.db, { actor: 'cli:test', action: 'identity.status_changed', subject: `E${i}`, trigger: 'cli', after: { status: 'left', n: i } }, NOW);
  }
}

/** What an attacker with the owner's rights does: switch the append-only trigger off, change rows, switch it on. */
async function tamper(store: Store, work: (trx: Store["db"]) => Promise<void>): Promise<void> {
  await store.db.transaction().execute(async (trx) => {
    await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update`.execute(trx);
    await work(trx);
    await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update`.execute(trx);
  });
}

test('a checkpoint edited after signing, or signed by another key, is refused by its signature', () => {
  const { keyFile } = keyDir();
  const other = keyDir();
  const key = loadSigningKey(keyFile);
  const checkpoint = signCheckpoint({ seq: 4, hash: 'a'.repeat(64) }, key, NOW);
  const verifyKey = loadVerifyKey(`${keyFile}.pub`);
  assert.equal(verifyKey.keyId, key.keyId);
  const foreign = signCheckpoint({ seq: 4, hash: 'a'.repeat(64) }, loadSigningKey(other.keyFile), NOW);
  return (async () => {
    const store = await testBackends()[0]!.open();
    try {
      const edited = await verifyAgainstCheckpoints(store.db, [{ checkpoint: { ...checkpoint, seq: 3 }, where: 'c.jsonl:1' }], verifyKey);
      assert.match(!edited.ok ? edited.reason : '', /checkpoint at c\.jsonl:1 is not signed by the audit key/);
      const wrongKey = await verifyAgainstCheckpoints(store.db, [{ checkpoint: foreign, where: 'c.jsonl:2' }], verifyKey);
      assert.equal(wrongKey.ok, false);
    } finally {
      await store.close();
    }
  })();
});

test('an audit key file that its group or others can read is refused, and keygen never replaces a key', () => {
  const { keyFile } = keyDir();
  assert.equal((readFileSync(keyFile).length > 0), true);
  assert.throws(() => generateCheckpointKey(keyFile), (e: unknown) => isJmlError(e, 'conflict'));
  chmodSync(keyFile, 0o640);
  assert.throws(() => loadSigningKey(keyFile), (e: unknown) => isJmlError(e, 'unsafe_permissions') && /audit key file .* is open to its group/.test((e as Error).message));
});

test('a malformed checkpoint line is named by file and line', () => {
  const { checkpoints } = keyDir();
  writeFileSync(checkpoints, '\n{"type":"jml.audit.checkpoint","seq":1}\n');
  assert.throws(() => readCheckpoints(checkpoints), /checkpoints\.jsonl:2: field hash is missing or malformed/);
});

for (const backend of testBackends()) {
  describe(`audit checkpoints on ${backend.name}`, () => {
    test('an untouched chain extends every checkpoint taken along the way', async () => {
      const { keyFile, checkpoints } = keyDir();
      const key = loadSigningKey(keyFile);
      const store = await backend.open();
      try {
        await takeCheckpoint(store.db, key, { file: checkpoints }, NOW);
        await append(store, 1, 3);
        await takeCheckpoint(store.db, key, { file: checkpoints }, NOW);
        await append(store, 4, 6);
        await takeCheckpoint(store.db, key, { file: checkpoints }, NOW);
        await append(store, 7, 7);
        const verdict = await verifyAgainstCheckpoints(store.db, readCheckpoints(checkpoints), loadVerifyKey(`${keyFile}.pub`));
        assert.deepEqual(verdict.ok && { entries: verdict.entries, checkpoints: verdict.checkpoints, latest: verdict.latest?.seq }, { entries: 7, checkpoints: 3, latest: 6 });
      } finally {
        await store.close();
      }
    });

    test('deleting the newest entries and fixing the stored head passes the plain check but not the checkpoint', async () => {
      const { keyFile, checkpoints } = keyDir();
      const store = await backend.open();
      try {
        await append(store, 1, 6);
        await takeCheckpoint(store.db, loadSigningKey(keyFile), { file: checkpoints }, NOW);
        await tamper(store, async (trx) => {
          await sql`DELETE FROM audit_log WHERE seq > 4`.execute(trx);
          await sql`UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_log WHERE seq = 4)`.execute(trx);
        });
        assert.equal((await verifyAudit(store.db)).ok, true, 'the tampering is consistent with the stored head');
        const verdict = await verifyAgainstCheckpoints(store.db, readCheckpoints(checkpoints), loadVerifyKey(keyFile));
        assert.equal(verdict.ok, false);
        assert.match(!verdict.ok ? verdict.reason : '', /chain ends at entry 4 but the checkpoint at .*checkpoints\.jsonl:1 .* saw entry 6: entries at the end were removed/);
      } finally {
        await store.close();
      }
    });

    test('rewriting an entry and re-hashing every entry after it and the head passes the plain check but not the checkpoint', async () => {
      const { keyFile, checkpoints } = keyDir();
      const store = await backend.open();
      try {
        await append(store, 1, 6);
        await takeCheckpoint(store.db, loadSigningKey(keyFile), { file: checkpoints }, NOW);
        await tamper(store, async (trx) => {
          const rows = await trx.selectFrom('audit_log').selectAll().where('seq', '>=', 3).orderBy('seq').execute();
          let prev = (await trx.selectFrom('audit_log').select('hash').where('seq', '=', 2).executeTakeFirstOrThrow()).hash;
          for (const row of rows) {
            const body = { ...row, after: row.seq === 3 ? { status: 'active', n: 3 } : row.after, prev_hash: prev };
            const hash = entryHash(body);
            await trx.updateTable('audit_log').set({ after: JSON.stringify(body.after), prev_hash: prev, hash }).where('seq', '=', row.seq).execute();
            prev = hash;
          }
          await trx.updateTable('audit_head').set({ hash: prev }).where('id', '=', 1).execute();
        });
        assert.equal((await verifyAudit(store.db)).ok, true, 'the rewrite is consistent with itself');
        const verdict = await verifyAgainstCheckpoints(store.db, readCheckpoints(checkpoints), loadVerifyKey(keyFile));
        assert.match(!verdict.ok ? verdict.reason : '', /entry 6 no longer carries the hash the checkpoint at .*checkpoints\.jsonl:1 .* recorded: the chain up to it was rewritten/);
      } finally {
        await store.close();
      }
    });
  });
}
