import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testBackends } from '../../test/support/backends.ts';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json.ts';
import { appendAudit, entryHash, GENESIS_HASH, readAudit, verifyAudit } from './audit-log.ts';
import type { Store } from './open-store.ts';

async function seeded(open: () => Promise<Store>, n = 5): Promise<Store> {
  const store = await open();
  for (let i = 1; i <= n; i++) {
    await appendAudit(store.db, { actor: 'cli:test', action: 'identity.status_changed', subject: `E${i}`, trigger: 'cli', before: { status: 'active' }, after: { status: 'left', n: i } });
  }
  return store;
}

/** A superuser can switch the append-only trigger off: that is exactly the tampering the chain must reveal. */
async function asSuperuser(store: Store, statement: ReturnType<typeof sql>): Promise<void> {
  await store.db.transaction().execute(async (trx) => {
    await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update`.execute(trx);
    await statement.execute(trx);
    await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update`.execute(trx);
  });
}

test('an entry hash is SHA-256 of the previous hash and the canonical JSON of the entry, whatever its payload holds', () => {
  const payloads: unknown[] = [
    { changes: { department: ['Engineering', 'Sales'], end_date: [null, '2026-11-20'] }, event: 'e1', state: 'scheduled' },
    { b: [1, undefined, null, { z: 1, a: [true, false] }], a: 'ü ✓ "quoted" \\ \n', skipped: undefined, n: -0, big: 1e21, nan: Number.NaN },
    { 10: 'ten', 9: 'nine', x: 'integer-like keys keep the order the engine gives them' },
    { at: new Date('2026-11-22T10:00:00Z'), list: [new Date(0)], fn: () => 1, nested: { toJSON: () => 'custom' } },
    [{ b: 1, a: 2 }, 'text', 3],
    'a string',
    null,
  ];
  for (const after of payloads) {
    const body = { seq: 7, id: 'id-7', at: '2026-11-22T10:00:00.000Z', actor: 'cli:test', action: 'identity.edited', subject: 'E1', trigger: 'cli', before: null, after, details: { events: ['a', 'b'] }, prev_hash: GENESIS_HASH };
    const expected = createHash('sha256').update(GENESIS_HASH).update(canonicalJson(body)).digest('hex');
    assert.equal(entryHash(body), expected, JSON.stringify(after));
  }
});

for (const backend of testBackends()) {
  describe(`audit log on ${backend.name}`, () => {
    test('an untouched chain verifies and exports every entry in order', async () => {
      const store = await seeded(backend.open);
      try {
        const verdict = await verifyAudit(store.db);
        assert.deepEqual({ ok: verdict.ok, entries: verdict.entries }, { ok: true, entries: 5 });
        const subjects: string[] = [];
        for await (const entry of readAudit(store.db)) subjects.push(entry.subject);
        assert.deepEqual(subjects, ['E1', 'E2', 'E3', 'E4', 'E5']);
      } finally {
        await store.close();
      }
    });

    test('the database refuses to update, delete or truncate an audit entry', async () => {
      const store = await seeded(backend.open, 1);
      try {
        await assert.rejects(sql`UPDATE audit_log SET actor = 'someone-else'`.execute(store.db), /append-only/);
        await assert.rejects(sql`DELETE FROM audit_log`.execute(store.db), /append-only/);
        await assert.rejects(sql`TRUNCATE audit_log`.execute(store.db), /append-only/);
        assert.equal((await verifyAudit(store.db)).ok, true);
      } finally {
        await store.close();
      }
    });

    test('an edited entry is named as the first broken link', async () => {
      const store = await seeded(backend.open);
      try {
        await asSuperuser(store, sql`UPDATE audit_log SET after = '{"status":"active","n":3}' WHERE seq = 3`);
        const verdict = await verifyAudit(store.db);
        assert.equal(verdict.ok, false);
        assert.equal(!verdict.ok && verdict.brokenAt, 3);
        assert.match(!verdict.ok ? verdict.reason : '', /entry 3 was edited/);
      } finally {
        await store.close();
      }
    });

    test('a deleted entry is detected at the gap it leaves', async () => {
      const store = await seeded(backend.open);
      try {
        await asSuperuser(store, sql`DELETE FROM audit_log WHERE seq = 2`);
        const verdict = await verifyAudit(store.db);
        assert.equal(!verdict.ok && verdict.brokenAt, 2);
        assert.match(!verdict.ok ? verdict.reason : '', /missing/);
      } finally {
        await store.close();
      }
    });

    test('reordered entries are detected even when their sequence numbers are swapped too', async () => {
      const store = await seeded(backend.open);
      try {
        await asSuperuser(store, sql`UPDATE audit_log SET seq = -4 WHERE seq = 4`);
        await asSuperuser(store, sql`UPDATE audit_log SET seq = 4 WHERE seq = 2`);
        await asSuperuser(store, sql`UPDATE audit_log SET seq = 2 WHERE seq = -4`);
        const verdict = await verifyAudit(store.db);
        assert.equal(!verdict.ok && verdict.brokenAt, 2);
      } finally {
        await store.close();
      }
    });

    test('entries removed from the end are detected against the recorded head', async () => {
      const store = await seeded(backend.open);
      try {
        await asSuperuser(store, sql`DELETE FROM audit_log WHERE seq = 5`);
        const verdict = await verifyAudit(store.db);
        assert.equal(!verdict.ok && verdict.brokenAt, 5);
        assert.match(!verdict.ok ? verdict.reason : '', /removed/);
      } finally {
        await store.close();
      }
    });

    test('concurrent appends still form one unbroken chain', async () => {
      const store = await backend.open();
      try {
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => appendAudit(store.db, { actor: 'worker', action: 'test.concurrent', subject: `S${i}`, trigger: 'test' })),
        );
        const verdict = await verifyAudit(store.db);
        assert.deepEqual({ ok: verdict.ok, entries: verdict.entries }, { ok: true, entries: 20 });
      } finally {
        await store.close();
      }
    });
  });
}
