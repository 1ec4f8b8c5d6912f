/**
 * The dashboard's measures over time: GET /api/measures gives, per week, the
 * same leaver SLA attainment, median hours to access confirmed, open findings
 * and orphans as an evidence pack's measures table. The expected values below
 * are worked out by hand from the seeded leavers and findings.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { seedOrganisation, startApi } from './api-fixture.ts';

/** A Wednesday: the last three weeks start on Mondays 9, 16 and 23 November (UTC). */
const NOW = new Date('2026-11-25T12:00:00Z');

/**
 * Leavers, each with one step in a connected system (SLA one hour from the effective time):
 * L0 before the period; L1 confirmed after 30 min and L2 after 3 h (week of 9 Nov);
 * L3 after 15 min (week of 16 Nov); L4 not yet confirmed (week of 23 Nov).
 * Findings: F1 orphan 1–18 Nov; F2 orphan from 12 Nov, open; F3 dormant from 20 Nov, open;
 * F4 dormant 24 Nov – 25 Nov 06:00 (resolved before now); F5 orphan from 24 Nov, open.
 */
async function seedPeriod(store: Store): Promise<void> {
  const db = store.db;
  const leaver = async (key: string, effective: string, confirmed: string | null) => {
    await sql`INSERT INTO identities (key, kind, status, source) VALUES (${key}, 'employee', 'left', 'hr')`.execute(db);
    await sql`INSERT INTO lifecycle_events (id, type, identity_key, source, record_key, effective_date, effective_at, detected_at, changes, state)
      VALUES (${`ev-${key}`}, 'leaver', ${key}, 'hr', ${key}, ${effective.slice(0, 10)}, ${effective}::timestamptz, ${effective}::timestamptz, '{}'::jsonb, 'applied')`.execute(db);
    await sql`INSERT INTO plans (id, fingerprint, computed_at, plan, status, actor, created_at, updated_at)
      VALUES (${`p-${key}`}, 'f', ${effective}, '{"changes":[]}'::jsonb, 'applied', 'w', ${effective}::timestamptz, ${effective}::timestamptz)`.execute(db);
    await sql`INSERT INTO plan_changes (plan_id, change_id, position, kind, system, identity_key, state, finished_at, updated_at)
      VALUES (${`p-${key}`}, 'c1', 1, 'disable_account', 'directory', ${key}, ${confirmed ? 'confirmed' : 'pending'}, ${confirmed}::timestamptz, ${effective}::timestamptz)`.execute(db);
  };
  await leaver('L0', '2026-11-02T09:00:00Z', '2026-11-02T09:10:00Z');
  await leaver('L1', '2026-11-10T17:00:00Z', '2026-11-10T17:30:00Z');
  await leaver('L2', '2026-11-11T17:00:00Z', '2026-11-11T20:00:00Z');
  await leaver('L3', '2026-11-17T09:00:00Z', '2026-11-17T09:15:00Z');
  await leaver('L4', '2026-11-24T09:00:00Z', null);
  const finding = (id: string, kind: string, firstSeen: string, resolvedAt: string | null) =>
    sql`INSERT INTO findings (id, kind, system, account_id, detail, first_seen, last_seen, state, resolved_at)
      VALUES (${id}, ${kind}, 'crm', ${id}, 'seeded', ${firstSeen}::timestamptz, ${firstSeen}::timestamptz, ${resolvedAt ? 'resolved' : 'open'}, ${resolvedAt}::timestamptz)`.execute(db);
  await finding('F1', 'orphan_account', '2026-11-01T00:00:00Z', '2026-11-18T00:00:00Z');
  await finding('F2', 'orphan_account', '2026-11-12T00:00:00Z', null);
  await finding('F3', 'dormant', '2026-11-20T00:00:00Z', null);
  await finding('F4', 'dormant', '2026-11-24T00:00:00Z', '2026-11-25T06:00:00Z');
  await finding('F5', 'orphan_account', '2026-11-24T00:00:00Z', null);
}

for (const backend of testBackends()) {
  describe(`measures over time on ${backend.name}`, () => {
    test('the last three weeks show leaver SLA attainment, median hours to confirmed, and findings and orphans open at each week’s end', async () => {
      const store = await backend.open();
      await seedOrganisation(store);
      await seedPeriod(store);
      const api = await startApi(store, { now: () => NOW });
      try {
        const res = await api.app.inject({ method: 'GET', url: '/api/measures?weeks=3', headers: { cookie: api.sessions.security.cookie } });
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(res.json(), {
          from: '2026-11-09T00:00:00.000Z',
          to: '2026-11-25T12:00:00.000Z',
          weeks: [
            // L1 met (0.5 h ≤ 1 h), L2 missed (3 h): 50 %, median (0.5 + 3) / 2; at 16 Nov F1 and F2 are open, both orphans.
            { weekStart: '2026-11-09', leavers: 2, slaMetPct: 50, medianHoursToConfirmed: 1.75, openFindings: 2, openOrphans: 2 },
            // L3 met in 0.25 h; at 23 Nov F1 is resolved, F2 and F3 open (one orphan).
            { weekStart: '2026-11-16', leavers: 1, slaMetPct: 100, medianHoursToConfirmed: 0.25, openFindings: 2, openOrphans: 1 },
            // L4 unconfirmed and past its hour: not met, no time to confirmed; now F2, F3 and F5 are open (F4 resolved this morning).
            { weekStart: '2026-11-23', leavers: 1, slaMetPct: 0, medianHoursToConfirmed: null, openFindings: 3, openOrphans: 2 },
          ],
        });
      } finally {
        await api.app.close();
        await store.close();
      }
    });

    test('a number of weeks outside 1 to 52 is refused with the field named', async () => {
      const store = await backend.open();
      await seedOrganisation(store);
      const api = await startApi(store, { now: () => NOW });
      try {
        for (const weeks of ['0', '53', 'twelve']) {
          const res = await api.app.inject({ method: 'GET', url: `/api/measures?weeks=${weeks}`, headers: { cookie: api.sessions.admin.cookie } });
          assert.equal(res.statusCode, 400, `weeks=${weeks}: ${res.body}`);
          assert.match(res.body, /weeks/);
        }
      } finally {
        await api.app.close();
        await store.close();
      }
    });
  });
}
