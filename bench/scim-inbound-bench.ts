/**
 * Inbound SCIM benchmark: records pushed through Bulk (50 per request, as
 * Entra's API-driven inbound provisioning sends them) over real HTTP to
 * `jml serve`'s SCIM endpoint, with event detection and the whole write
 * (records, events, identities, audit) per request; then the same records
 * again with a department change (movers), a retry of unchanged records, and
 * single-user PATCH latency.
 *
 *   node bench/scim-inbound-bench.ts [--backend pglite|postgres] [--records N] [--patches N] [--json]
 *
 * Goals (issue 11): ≥ 2,000 records/s through Bulk on PostgreSQL; p99 of a single-user PATCH ≤ 50 ms.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { buildApiServer } from '../src/api/api-server.ts';
import { createApiMetrics } from '../src/api/api-metrics.ts';
import { createConsoleServices } from '../src/api/console-services.ts';
import { configSchema, DEFAULT_SOURCES, type JmlConfig } from '../src/app/config.ts';
import { createScimToken } from '../src/app/inbound/scim-tokens.ts';
import { sourceConfigSchema } from '../src/sources/source-config.ts';
import { ENTERPRISE_USER_SCHEMA, JML_USER_SCHEMA } from '../src/sources/scim-user-table.ts';
import { openStore } from '../src/store/open-store.ts';
import { createScratchDatabase } from '../test/support/scratch-database.ts';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'pglite' }, records: { type: 'string', default: '10000' }, patches: { type: 'string', default: '500' }, json: { type: 'boolean' } } });
const N = Number(values.records);
const PATCHES = Number(values.patches);
const PER_REQUEST = 50;
const backend = values.backend === 'postgres' ? 'postgres' : 'pglite';
const scratch = backend === 'postgres' ? await createScratchDatabase(process.env.DATABASE_URL ?? process.env.JML_TEST_DATABASE_URL ?? '', 'jml_bench') : null;
const store = await openStore(scratch ? { databaseUrl: scratch.url } : { dataDir: 'memory://' });
const parsed = configSchema.parse({ timezone: 'Europe/Berlin', mass_change: { minimum: N, percent: 100 } });
const config: JmlConfig = { ...parsed, sources: { ...DEFAULT_SOURCES, hr: sourceConfigSchema.parse({ type: 'scim' }) }, file: null };
const services = createConsoleServices({ db: store.db, backend: store.backend, config, now: () => new Date() });
const app = await buildApiServer({
  db: store.db,
  backend: store.backend,
  now: () => new Date(),
  systemsOwnedBy: () => [],
  services: { ...services, inbound: { ...services.inbound!, rateLimit: { requests: 1_000_000, windowMs: 1000 } } },
  metrics: createApiMetrics(),
  webDir: null,
  oidc: null,
});
const base = `${await app.listen({ host: '127.0.0.1', port: 0 })}/scim/v2`;
const { secret } = await createScimToken(store.db, config, { source: 'hr', name: 'bench', scopes: ['scim:write'], expiresAt: null, actor: 'bench', now: new Date() });
const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/scim+json' };
const results: Record<string, unknown>[] = [];
const load = () => os.loadavg()[0]!.toFixed(1);

function user(i: number, department: string) {
  const id = `E${String(i).padStart(6, '0')}`;
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER_SCHEMA, JML_USER_SCHEMA],
    externalId: id,
    userName: `${id.toLowerCase()}@example.com`,
    active: 'True',
    name: { givenName: 'Pat', familyName: `Worker${i}` },
    emails: [{ type: 'work', value: `${id.toLowerCase()}@example.com`, primary: true }],
    title: 'Engineer',
    [ENTERPRISE_USER_SCHEMA]: { employeeNumber: id, department, costCenter: 'CC-1', ...(i > 0 ? { manager: { value: 'E000000' } } : {}) },
    [JML_USER_SCHEMA]: { startDate: '2026-01-05', employmentType: 'Full time' },
  };
}

async function request(method: string, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${path}`, { method, headers, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

/** Every record through Bulk, 50 per request; returns records/s. */
async function pushAll(name: string, department: string, goal: string): Promise<void> {
  const started = performance.now();
  let failed = 0;
  for (let i = 0; i < N; i += PER_REQUEST) {
    const ops = Array.from({ length: Math.min(PER_REQUEST, N - i) }, (_, j) => ({ method: 'POST', bulkId: `b${i + j}`, path: '/Users', data: user(i + j, department) }));
    const res = await request('POST', '/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: ops });
    if (res.status !== 200) throw new Error(`Bulk answered ${res.status}: ${JSON.stringify(res.json).slice(0, 300)}`);
    failed += res.json.Operations.filter((o: { status: string }) => Number(o.status) >= 400).length;
  }
  const ms = performance.now() - started;
  const perSecond = Math.round(N / (ms / 1000));
  results.push({ workload: name, backend, records: N, ms: Math.round(ms), perSecond, failed, goal, loadAverage: load() });
  if (!values.json) console.log(`${name.padEnd(28)} ${N} records in ${(ms / 1000).toFixed(1)} s = ${perSecond} records/s  (goal ${goal}; ${failed} failed; load ${load()})`);
}

try {
  console.log(`scim-inbound on ${backend}: ${N} records, ${PER_REQUEST} per Bulk request, over HTTP on loopback; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  await pushAll('bulk create (joiners)', 'Engineering', backend === 'postgres' ? '≥ 2,000 records/s' : 'none on PGlite (≥ 2,000 on PostgreSQL)');
  await pushAll('bulk change (movers)', 'Sales', backend === 'postgres' ? '≥ 2,000 records/s' : 'none on PGlite');
  await pushAll('bulk retry (unchanged)', 'Sales', backend === 'postgres' ? '≥ 2,000 records/s' : 'none on PGlite');
  const events = Number((await store.db.selectFrom('lifecycle_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  if (events !== 2 * N) throw new Error(`expected ${2 * N} lifecycle events (a joiner and a mover each), found ${events}`);

  const latencies: number[] = [];
  for (let i = 0; i < PATCHES; i += 1) {
    const id = `E${String(i % N).padStart(6, '0')}`;
    const t = performance.now();
    const res = await request('PATCH', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: `Title ${i}` }] });
    latencies.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`PATCH answered ${res.status}: ${JSON.stringify(res.json).slice(0, 300)}`);
  }
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  results.push({ workload: 'single-user PATCH', backend, requests: PATCHES, p50: Number(p(0.5).toFixed(1)), p99: Number(p(0.99).toFixed(1)), goal: 'p99 ≤ 50 ms', loadAverage: load() });
  if (!values.json) console.log(`${'single-user PATCH (mover)'.padEnd(28)} ${PATCHES} requests: p50 ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(1)} ms  (goal p99 ≤ 50 ms; load ${load()})`);
  for (const r of results) console.log(JSON.stringify(r));
} finally {
  await app.close();
  await store.close();
  await scratch?.drop();
}
