/**
 * Evidence pack benchmark: a year of activity at 10,000 identities — about
 * 1,460 joiners, 1,460 leavers (7 confirmed steps each), 2,920 movers,
 * 2,190 findings, 300 exceptions, ~28,000 audit entries and a final
 * reconcile of 5 systems × 10,000 accounts — then `jml evidence build`
 * (PDF and zip included) and `jml evidence verify` for that year, and the
 * dashboard's weekly measures (GET /api/measures) for the last 12 and 52 weeks.
 *
 *   node bench/evidence-bench.ts [--identities N] [--backend pglite|postgres] [--no-pdf] [--json]
 *
 * Goal (issue 14): build ≤ 60 s on a 2-core machine.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { generateCheckpointKey, loadSigningKey, loadVerifyKey } from '../src/app/audit/checkpoint-key.ts';
import { takeCheckpoint } from '../src/app/audit/audit-checkpoint.ts';
import { buildEvidencePack } from '../src/app/evidence/evidence-pack.ts';
import { recentMeasures } from '../src/app/evidence/evidence-service.ts';
import { verifyEvidencePack } from '../src/app/evidence/evidence-verify.ts';
import { appendAudit, type AuditEntryInput } from '../src/store/audit-log.ts';
import { bulkInsert } from '../src/store/bulk-write.ts';
import { openStore, type Store } from '../src/store/open-store.ts';
import { createScratchDatabase } from '../test/support/scratch-database.ts';

const { values } = parseArgs({ options: { identities: { type: 'string', default: '10000' }, backend: { type: 'string', default: 'pglite' }, 'no-pdf': { type: 'boolean' }, json: { type: 'boolean' } } });
const N = Number(values.identities);
const YEAR = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const SYSTEMS = ['directory', 'mail', 'crm', 'vpn', 'wiki'];
const key = (i: number) => `E${String(i).padStart(5, '0')}`;
const iso = (t: number) => new Date(t).toISOString();

async function seed(store: Store): Promise<{ audit: number }> {
  const db = store.db;
  await sql`INSERT INTO identities (key, kind, status, source, attributes)
    SELECT 'E' || lpad(i::text, 5, '0'), 'employee', CASE WHEN i % 7 = 0 THEN 'left' ELSE 'active' END, 'hr', jsonb_build_object('department', 'Dept' || (i % 20))
      FROM generate_series(1, ${N}) i`.execute(db);
  const perDay = { joiners: Math.round((N * 0.146) / 365), leavers: Math.round((N * 0.146) / 365), movers: Math.round((N * 0.292) / 365) };
  const events: Record<string, unknown>[] = [];
  const plans: Record<string, unknown>[] = [];
  const changes: Record<string, unknown>[] = [];
  const findings: Record<string, unknown>[] = [];
  let audit = 0;
  let next = 1;
  for (let d = 0; d < 365; d++) {
    const day = YEAR + d * DAY;
    const entries: AuditEntryInput[] = [];
    const planChanges: Record<string, unknown>[] = [];
    const planId = `plan-${d}`;
    const add = (who: string, kind: string, system: string | null, entitlement: string | null, at: number, finished: number) => {
      const id = `${planId}-c${planChanges.length}`;
      planChanges.push({ id, kind, system, entitlement, identityKey: who });
      changes.push({ plan_id: planId, change_id: id, position: planChanges.length, kind, system, identity_key: who, state: 'confirmed', started_at: iso(at), finished_at: iso(finished), updated_at: iso(finished) });
      entries.push({ actor: 'worker:1', action: 'change.confirmed', subject: who, trigger: `plan:${planId}`, details: { change: id, kind, system } });
    };
    const event = (type: string, who: string, at: number, changed: Record<string, [string | null, string | null]>) => {
      events.push({ id: `ev-${events.length}`, type, identity_key: who, source: 'hr', record_key: who, effective_date: iso(at).slice(0, 10), effective_at: iso(at), detected_at: iso(at - 3_600_000), changes: changed, state: 'applied' });
      entries.push({ actor: 'cli:hr', action: 'identity.status_changed', subject: who, trigger: 'import:x', after: { type } });
    };
    for (let j = 0; j < perDay.joiners; j++) {
      const who = key(((next++ - 1) % N) + 1);
      event('joiner', who, day + 8 * 3_600_000, { status: [null, 'active'] });
      for (const s of SYSTEMS.slice(0, 3)) add(who, 'create_account', s, null, day + 8 * 3_600_000, day + 8 * 3_600_000 + 120_000);
    }
    for (let l = 0; l < perDay.leavers; l++) {
      const who = key(((next++ - 1) % N) + 1);
      const eff = day + 17 * 3_600_000;
      event('leaver', who, eff, { status: ['active', 'left'] });
      const lag = (l * 17 + d * 7) % 90; // minutes; some beyond the one-hour SLA
      for (const [kind, s] of [['revoke_sessions', 'directory'], ['disable_account', 'directory'], ['disable_account', 'mail'], ['disable_account', 'crm'], ['remove_grant', 'vpn'], ['remove_grant', 'wiki'], ['collect_asset', null]] as const) {
        add(who, kind, s, s === 'vpn' || s === 'wiki' ? 'staff' : null, eff + 60_000, eff + lag * 60_000);
      }
      entries.push({ actor: 'worker:1', action: 'asset.collected', subject: `asset:LT-${who}`, trigger: `change:${planId}`, before: { status: 'assigned', holder_key: who }, after: { status: 'collected', holder_key: null } });
    }
    for (let m = 0; m < perDay.movers; m++) {
      const who = key(((next++ - 1) % N) + 1);
      event('mover', who, day + 9 * 3_600_000, { department: ['Dept1', 'Dept2'] });
      add(who, 'remove_grant', 'crm', 'sales-team', day + 9 * 3_600_000 + 60_000, day + 9 * 3_600_000 + 300_000);
      add(who, 'add_grant', 'crm', 'eng-team', day + 9 * 3_600_000 + 60_000, day + 9 * 3_600_000 + 300_000);
    }
    for (let f = 0; f < 6; f++) {
      const resolved = f % 10 < 7 ? day + ((f * 3 + d) % 20) * DAY : null;
      findings.push({ id: `f-${d}-${f}`, kind: f % 2 ? 'orphan_account' : 'dormant', system: SYSTEMS[f % 5], identity_key: null, account_id: `acct-${d}-${f}`, entitlement: null, detail: 'synthetic', first_seen: iso(day), last_seen: iso(resolved ?? YEAR + 364 * DAY), state: resolved && resolved < YEAR + 365 * DAY ? 'resolved' : 'open', resolved_at: resolved && resolved < YEAR + 365 * DAY ? iso(resolved) : null });
    }
    // One plan a day, computed just after the day's leavers became effective (steps count from the plan on).
    const planned = day + 17 * 3_600_000 + 30_000;
    plans.push({ id: planId, fingerprint: 'f', computed_at: iso(planned), plan: { id: planId, changes: planChanges }, status: 'applied', actor: 'worker:1', created_at: iso(planned), updated_at: iso(planned) });
    await appendAudit(db, entries, new Date(day + 12 * 3_600_000));
    audit += entries.length;
  }
  await bulkInsert(db, 'lifecycle_events', { id: 'text', type: 'text', identity_key: 'text', source: 'text', record_key: 'text', effective_date: 'date', effective_at: 'timestamptz', detected_at: 'timestamptz', changes: 'jsonb', state: 'text' }, events);
  await bulkInsert(db, 'plans', { id: 'text', fingerprint: 'text', computed_at: 'text', plan: 'jsonb', status: 'text', actor: 'text', created_at: 'timestamptz', updated_at: 'timestamptz' }, plans, { chunkSize: 50 });
  await bulkInsert(db, 'plan_changes', { plan_id: 'text', change_id: 'text', position: 'integer', kind: 'text', system: 'text', identity_key: 'text', state: 'text', started_at: 'timestamptz', finished_at: 'timestamptz', updated_at: 'timestamptz' }, changes);
  await bulkInsert(db, 'findings', { id: 'text', kind: 'text', system: 'text', identity_key: 'text', account_id: 'text', entitlement: 'text', detail: 'text', first_seen: 'timestamptz', last_seen: 'timestamptz', state: 'text', resolved_at: 'timestamptz' }, findings);
  await sql`INSERT INTO assignments (id, identity_key, system, entitlement, reason_type, reason, valid_to, created_at, created_by)
    SELECT 'x' || i, 'E' || lpad((i * 31 % ${N} + 1)::text, 5, '0'), 'crm', 'admin', 'exception', jsonb_build_object('justification', 'migration project'), ${iso(YEAR + 400 * DAY)}::timestamptz, ${iso(YEAR + 30 * DAY)}::timestamptz, 'cli:ciso'
      FROM generate_series(1, 300) i`.execute(db);
  for (const system of SYSTEMS) {
    const run = `run-${system}`;
    const at = iso(YEAR + 360 * DAY);
    await sql`INSERT INTO reconcile_runs (id, system, status, phase, actor, started_at, updated_at, finished_at) VALUES (${run}, ${system}, 'completed', 'done', 'scheduler', ${at}::timestamptz, ${at}::timestamptz, ${at}::timestamptz)`.execute(db);
    await sql`INSERT INTO observed_accounts (run_id, system, account_id, name, enabled, attributes, last_login_at, identity_key, situation)
      SELECT ${run}, ${system}, 'uid=e' || i, 'E' || lpad(i::text, 5, '0'), i % 7 <> 0, '{}'::jsonb, '2026-12-01T00:00:00Z', 'E' || lpad(i::text, 5, '0'), 'linked' FROM generate_series(1, ${N}) i`.execute(db);
    await sql`INSERT INTO observed_grants (run_id, system, account_id, entitlement)
      SELECT ${run}, ${system}, 'uid=e' || i, g FROM generate_series(1, ${N}) i, unnest(ARRAY['staff', 'team-' || (i % 20)]) g`.execute(db);
  }
  return { audit };
}

function sizeOf(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.size;
  return readdirSync(p).reduce((n, f) => n + sizeOf(path.join(p, f)), 0);
}

const scratch = values.backend === 'postgres' ? await createScratchDatabase(process.env.DATABASE_URL ?? process.env.JML_TEST_DATABASE_URL ?? '', 'jml_bench') : null;
const store = await openStore(scratch ? { databaseUrl: scratch.url } : { dataDir: 'memory://' });
const dir = mkdtempSync(path.join(tmpdir(), 'jml-evidence-bench-'));
try {
  let t = performance.now();
  const { audit } = await seed(store);
  const seedMs = performance.now() - t;
  generateCheckpointKey(path.join(dir, 'audit.key'));
  const signing = loadSigningKey(path.join(dir, 'audit.key'));
  await takeCheckpoint(store.db, signing, { file: path.join(dir, 'checkpoints.jsonl') }, new Date(YEAR + 364 * DAY));
  const out = path.join(dir, 'pack');
  t = performance.now();
  const built = await buildEvidencePack(store.db, signing, { framework: 'iso27001', period: { from: new Date(YEAR), to: new Date(YEAR + 365 * DAY) }, out, zip: true, pdf: !values['no-pdf'], actor: 'bench', checkpoints: path.join(dir, 'checkpoints.jsonl') }, new Date(YEAR + 365 * DAY));
  const buildMs = performance.now() - t;
  t = performance.now();
  const verdict = await verifyEvidencePack(store.db, out, loadVerifyKey(path.join(dir, 'audit.key.pub')));
  const verifyMs = performance.now() - t;
  const measuresMs: Record<string, number> = {};
  for (const weeks of [12, 52]) {
    t = performance.now();
    await recentMeasures(store.db, new Date(YEAR + 365 * DAY), weeks);
    measuresMs[`weeks${weeks}`] = Math.round(performance.now() - t);
  }
  const result = {
    backend: values.backend,
    identities: N,
    auditEntries: audit,
    rows: built.counts,
    seedMs: Math.round(seedMs),
    buildMs: Math.round(buildMs),
    verifyMs: Math.round(verifyMs),
    verified: verdict.ok,
    measuresMs,
    packBytes: sizeOf(out),
    zipBytes: built.zip ? sizeOf(built.zip) : null,
    pdfBytes: values['no-pdf'] ? null : sizeOf(path.join(out, 'report.pdf')),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(`evidence pack, ${N} identities, a year (${audit} audit entries): build ${(buildMs / 1000).toFixed(1)} s (goal ≤ 60 s), verify ${(verifyMs / 1000).toFixed(1)} s, ${verdict.ok ? 'verified' : 'NOT verified'}`);
    console.log(`  pack ${(result.packBytes / 2 ** 20).toFixed(1)} MiB, zip ${((result.zipBytes ?? 0) / 2 ** 20).toFixed(1)} MiB, PDF ${((result.pdfBytes ?? 0) / 2 ** 10).toFixed(0)} KiB; seed ${(seedMs / 1000).toFixed(1)} s; peak RSS ${result.peakRssMiB} MiB`);
    console.log(`  dashboard measures: 12 weeks ${measuresMs.weeks12} ms, 52 weeks ${measuresMs.weeks52} ms`);
    console.log(`  rows: ${Object.entries(built.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log(JSON.stringify(result));
  }
} finally {
  await store.close();
  await scratch?.drop();
  rmSync(dir, { recursive: true, force: true });
}
