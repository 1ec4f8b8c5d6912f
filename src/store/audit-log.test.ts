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

test('an entry hash is SHA-256 of the previous hash and the canonical JSON of the entry', () => {
  const body = { seq: 7, id: 'id-7', at: '2026-11-22T10:00:00.000Z', actor: 'cli:test', action: 'identity.edited', subject: 'E1', trigger: 'cli', before: null, after: { b: [1, { z: 1, a: 2 }], a: 'x' }, details: null, prev_hash: GENESIS_HASH };
  const expected = createHash('sha256').update(GENESIS_HASH).update(canonicalJson(body)).digest('hex');
  assert.equal(entryHash(body), expected);
});

test('the hash of an entry written before the canonical writers became one is unchanged (existing chains still verify)', () => {
  // Pinned from the audit writer as it was: integer-like keys, nested arrays, escapes, -0 and exponents.
  const after = { changes: { department: ['Engineering', 'Sales'], end_date: [null, '2026-11-20'] }, b: [1, null, { z: 1, a: [true, false, [[]]] }], text: 'ü ✓ "quoted" \\ \n\u2028', n: -0, big: 1e21, small: 5e-7, 10: 'ten', 9: 'nine', '01': 'not an index', empty: {} };
  const body = { seq: 7, id: '0194d2a0-0000-7000-8000-000000000007', at: '2026-11-22T10:00:00.000Z', actor: 'cli:test', action: 'identity.status_changed', subject: 'E1', trigger: 'import:abc', before: { status: 'active' }, after, details: { events: ['a', 'b'] }, prev_hash: GENESIS_HASH };
  assert.equal(entryHash(body), 'f7a5841d3a83fc50bfce37598fa5462d5b2bf32101c10e4cd352a8d863d9bb8c');
});

test('an entry with a number that is not finite is refused rather than recorded as null', async () => {
  assert.throws(() => entryHash({ seq: 1, id: 'x', at: '2026-11-22T10:00:00.000Z', actor: 'a', action: 'b', subject: 'c', trigger: 'd', before: null, after: { ratio: Number.NaN }, details: null, prev_hash: GENESIS_HASH }), /not a finite number/);
});

for (const backend of testBackends()) {
  describe(`audit log on ${backend.name}`, () => {
    test('an entry holding dates, integer-like keys and nested arrays verifies after its JSONB round trip', async () => {
      const store = await backend.open();
      try {
        await appendAudit(store.db, { actor: 'cli:test', action: 'import.applied', subject: 'import:1', trigger: 'cli', after: { at: new Date('2026-11-22T10:00:00Z'), 10: 'ten', 9: [[1, [2]], []], skipped: undefined, Zeta: { b: 1, a: null } } });
        assert.equal((await verifyAudit(store.db)).ok, true);
      } finally {
        await store.close();
      }
    });

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
