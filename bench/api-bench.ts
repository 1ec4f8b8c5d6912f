/**
 * API benchmark: 100,000 identities, then the people list and the identity
 * page under a loopback load generator (autocannon) at a fixed rate.
 * Target: p99 ≤ 50 ms at 500 requests/s. Run alone:
 *   node bench/api-bench.ts [--identities 100000] [--rate 500] [--seconds 10]
 * With DATABASE_URL it runs on that PostgreSQL (in a fresh database), else on PGlite.
 */
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { buildApiServer } from '../src/api/api-server.ts';
import { createApiMetrics } from '../src/api/api-metrics.ts';
import { createCredentialStore } from '../src/api/auth/credential-store.ts';
import { createUser } from '../src/api/auth/user-store.ts';
import { openStore, type Store } from '../src/store/open-store.ts';

export interface ApiBenchOptions {
  readonly identities?: number;
  readonly rate?: number;
  readonly seconds?: number;
  readonly databaseUrl?: string;
  readonly log?: (line: string) => void;
}

export interface ApiBenchFigure {
  readonly name: string;
  readonly requests: number;
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

async function seed(store: Store, n: number): Promise<void> {
  const departments = ['Engineering', 'Sales', 'Finance', 'IT', 'Support', 'Marketing', 'Legal', 'HR'];
  for (let start = 0; start < n; start += 2000) {
    const rows = [];
    for (let i = start; i < Math.min(n, start + 2000); i += 1) {
      const key = `E${String(i).padStart(6, '0')}`;
      const manager = i < 100 ? null : `E${String(Math.floor(i / 10)).padStart(6, '0')}`;
      rows.push({ key, kind: 'employee', status: i % 50 === 0 ? 'left' : 'active', source: 'hr', attributes: JSON.stringify({ first_name: `First${i}`, last_name: `Last${i}`, email: `person${i}@example.com`, department: departments[i % departments.length]!, title: 'Engineer', manager }) });
    }
    await store.db.insertInto('identities').values(rows).execute();
  }
  await sql`ANALYZE identities`.execute(store.db);
}

/** Runs the benchmark and returns one figure per endpoint. */
export async function runApiBench(options: ApiBenchOptions = {}): Promise<ApiBenchFigure[]> {
  const n = options.identities ?? 100_000;
  const rate = options.rate ?? 500;
  const seconds = options.seconds ?? 10;
  const log = options.log ?? ((line: string) => console.log(line));
  const store = await openStore(options.databaseUrl ? { databaseUrl: options.databaseUrl } : { dataDir: 'memory://' });
  try {
    const t0 = performance.now();
    await seed(store, n);
    log(`seeded ${n} identities in ${((performance.now() - t0) / 1000).toFixed(1)} s (${store.backend})`);
    const now = () => new Date();
    const deps = { db: store.db, backend: store.backend, now, systemsOwnedBy: () => [], services: {}, metrics: createApiMetrics(), webDir: null, oidc: null };
    const user = await createUser(store.db, { username: 'bench', password: 'bench-password-1', roles: ['admin'] }, 'bench');
    const { token } = await createCredentialStore(deps).createApiToken(user.id, 'bench', ['read'], new Date(Date.now() + 86_400_000));
    const app = await buildApiServer(deps);
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const headers = { authorization: `Bearer ${token}` };
    const figures: ApiBenchFigure[] = [];
    const cases: { name: string; path: () => string }[] = [
      { name: 'people list (50 per page)', path: () => `/api/people?limit=50&cursor=E${String(Math.floor(Math.random() * (n - 100))).padStart(6, '0')}` },
      { name: 'people list, department filter', path: () => `/api/people?limit=50&department=Finance` },
      { name: 'identity page', path: () => `/api/people/E${String(100 + Math.floor(Math.random() * (n - 100))).padStart(6, '0')}` },
    ];
    for (const c of cases) {
      const result = await autocannon({
        url: address,
        connections: 20,
        duration: seconds,
        overallRate: rate,
        headers,
        requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: c.path() }) }],
      });
      const figure = { name: c.name, requests: result.requests.total, throughput: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx };
      figures.push(figure);
      log(`${c.name.padEnd(32)} ${figure.throughput.toFixed(0)} req/s  p50 ${figure.p50} ms  p99 ${figure.p99} ms  errors ${figure.errors}`);
    }
    await app.close();
    return figures;
  } finally {
    await store.close();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { identities: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' } } });
  await runApiBench({
    identities: values.identities ? Number(values.identities) : undefined,
    rate: values.rate ? Number(values.rate) : undefined,
    seconds: values.seconds ? Number(values.seconds) : undefined,
    databaseUrl: process.env.DATABASE_URL,
  });
}
