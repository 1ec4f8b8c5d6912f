/**
 * Inbound SCIM benchmark: records pushed through Bulk (50 per request, as
 * Entra's API-driven inbound provisioning sends them) over real HTTP to
 * `jml serve`'s SCIM endpoint, with event detection and the whole write
 * (records, events, identities, audit) per request, and the replan request
 * `jml serve` makes after it (no worker runs it); then the same records
 * again with a department change (movers), a retry of unchanged records, and
 * single-user PATCH latency. Each figure comes with what a request cost: the
 * statements sent to the database (each a round trip), the time spent waiting
 * for them, this process's CPU time (the client's share included: it runs in
 * the same process) and, on PostgreSQL, the server's.
 *
 * Requests go one at a time (a single client: the honest worst case); with
 * --clients N the Bulk workloads are also run by N clients at once, each
 * pushing its own share of the records, as Entra sends several requests
 * concurrently.
 *
 *   node bench/scim-inbound-bench.ts [--backend pglite|postgres] [--records N] [--patches N] [--clients N] [--statements] [--without-replan] [--json]
 *
 * --statements prints the statements of the second Bulk of each workload; --without-replan leaves the
 * replan request out (to see what it costs).
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
import { openReplanQueue } from '../src/jobs/replan-queue.ts';
import { createScratchDatabase } from '../test/support/scratch-database.ts';
import { meterStatements, perRequest } from './statement-meter.ts';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'pglite' }, records: { type: 'string', default: '10000' }, patches: { type: 'string', default: '500' }, clients: { type: 'string', default: '4' }, statements: { type: 'boolean' }, 'without-replan': { type: 'boolean' }, json: { type: 'boolean' } } });
const N = Number(values.records);
const PATCHES = Number(values.patches);
const CLIENTS = Number(values.clients);
const PER_REQUEST = 50;
const backend = values.backend === 'postgres' ? 'postgres' : 'pglite';
const scratch = backend === 'postgres' ? await createScratchDatabase(process.env.DATABASE_URL ?? process.env.JML_TEST_DATABASE_URL ?? '', 'jml_bench') : null;
const store = await openStore(scratch ? { databaseUrl: scratch.url } : { dataDir: 'memory://' });
const parsed = configSchema.parse({ timezone: 'Europe/Berlin', mass_change: { minimum: N, percent: 100 } });
const config: JmlConfig = { ...parsed, sources: { ...DEFAULT_SOURCES, hr: sourceConfigSchema.parse({ type: 'scim' }) }, file: null };
// As in `jml serve`: every applied push asks the workers (none run here) to plan the identities it touched.
const replan = openReplanQueue(store);
const services = createConsoleServices({ db: store.db, backend: store.backend, config, now: () => new Date(), ...(values['without-replan'] ? {} : { replan }) });
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
// Pushes of one source queue on its advisory lock; every audited write queues on the audit chain's head row.
const meter = meterStatements(store.db, backend, { keepTexts: values.statements ?? false, named: { sourceLock: /pg_advisory_xact_lock/, auditHead: /from "audit_head".*for update/i } });

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

/** Records offset … offset + N through Bulk, 50 per request, by `clients` clients at once; prints records/s and what a request cost. */
async function pushAll(name: string, department: string, goal: string, offset: number, clients: number): Promise<void> {
  const starts = Array.from({ length: Math.ceil(N / PER_REQUEST) }, (_, k) => offset + k * PER_REQUEST);
  let next = 0;
  let failed = 0;
  const client = async () => {
    for (let k = next++; k < starts.length; k = next++) {
      const i = starts[k]!;
      const ops = Array.from({ length: Math.min(PER_REQUEST, offset + N - i) }, (_, j) => ({ method: 'POST', bulkId: `b${i + j}`, path: '/Users', data: user(i + j, department) }));
      const traced = values.statements && clients === 1 && k === 1;
      if (traced) meter.texts();
      const res = await request('POST', '/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: ops });
      if (traced) console.log(`statements of one Bulk (${name}):\n  ${meter.texts().map((t) => t.replace(/\s+/g, ' ').slice(0, 160)).join('\n  ')}`);
      if (res.status !== 200) throw new Error(`Bulk answered ${res.status}: ${JSON.stringify(res.json).slice(0, 300)}`);
      failed += res.json.Operations.filter((o: { status: string }) => Number(o.status) >= 400).length;
    }
  };
  const before = await meter.read();
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  const ms = performance.now() - started;
  const cost = perRequest(before, await meter.read(), starts.length);
  const perSecond = Math.round(N / (ms / 1000));
  const workload = clients === 1 ? name : `${name}, ${clients} clients`;
  results.push({ workload, backend, records: N, clients, ms: Math.round(ms), perSecond, failed, goal, ...cost, loadAverage: load() });
  if (!values.json) {
    console.log(`${workload.padEnd(38)} ${N} records in ${(ms / 1000).toFixed(1)} s = ${perSecond} records/s  (goal ${goal}; ${failed} failed; load ${load()})`);
    console.log(`${''.padEnd(38)} per request: ${cost.statementsPerRequest} statements, ${cost.dbWaitMsPerRequest} ms waiting for the database (${cost.namedWaitMsPerRequest.sourceLock} ms of it for the source's lock, ${cost.namedWaitMsPerRequest.auditHead} ms for the audit head), CPU ${cost.cpuMsPerRequest} ms here${cost.serverCpuMsPerRequest === null ? '' : ` + ${cost.serverCpuMsPerRequest} ms PostgreSQL`}`);
  }
}

try {
  console.log(`scim-inbound on ${backend}: ${N} records, ${PER_REQUEST} per Bulk request, over HTTP on loopback; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const goal = backend === 'postgres' ? '≥ 2,000 records/s' : 'none on PGlite (≥ 2,000 on PostgreSQL)';
  // One client first (the honest worst case), then the next N records by several at once.
  for (const clients of CLIENTS > 1 ? [1, CLIENTS] : [1]) {
    const offset = clients === 1 ? 0 : N;
    await pushAll('bulk create (joiners)', 'Engineering', goal, offset, clients);
    await pushAll('bulk change (movers)', 'Sales', goal, offset, clients);
    await pushAll('bulk retry (unchanged)', 'Sales', goal, offset, clients);
  }
  const events = Number((await store.db.selectFrom('lifecycle_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const pushed = CLIENTS > 1 ? 2 * N : N;
  if (events !== 2 * pushed) throw new Error(`expected ${2 * pushed} lifecycle events (a joiner and a mover each), found ${events}`);

  const latencies: number[] = [];
  const beforePatches = await meter.read();
  for (let i = 0; i < PATCHES; i += 1) {
    const id = `E${String(i % N).padStart(6, '0')}`;
    const t = performance.now();
    const res = await request('PATCH', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: `Title ${i}` }] });
    latencies.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`PATCH answered ${res.status}: ${JSON.stringify(res.json).slice(0, 300)}`);
  }
  const patchCost = perRequest(beforePatches, await meter.read(), PATCHES);
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  results.push({ workload: 'single-user PATCH', backend, requests: PATCHES, p50: Number(p(0.5).toFixed(1)), p99: Number(p(0.99).toFixed(1)), goal: 'p99 ≤ 50 ms', ...patchCost, loadAverage: load() });
  if (!values.json) {
    console.log(`${'single-user PATCH (mover)'.padEnd(38)} ${PATCHES} requests: p50 ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(1)} ms  (goal p99 ≤ 50 ms; load ${load()})`);
    console.log(`${''.padEnd(38)} per request: ${patchCost.statementsPerRequest} statements, ${patchCost.dbWaitMsPerRequest} ms waiting for the database, CPU ${patchCost.cpuMsPerRequest} ms here${patchCost.serverCpuMsPerRequest === null ? '' : ` + ${patchCost.serverCpuMsPerRequest} ms PostgreSQL`}`);
  }
  for (const r of results) console.log(JSON.stringify(r));
} finally {
  // A replan follow-up may still wait for its window (console-services.ts): let it go out before the store closes.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await app.close();
  await replan.close();
  await store.close();
  await scratch?.drop();
}
