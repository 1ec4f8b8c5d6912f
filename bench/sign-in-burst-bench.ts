/**
 * Sign-in burst benchmark: while a signed-in admin reads the users list every
 * 20 ms, a burst of parallel sign-ins with wrong passwords arrives from one
 * address — first 60 for one username, then 100 for different usernames.
 * Reports the answers the burst got (how many 401, 429, 503) and the admin's
 * latency (p50, p99, max) during each burst. The burst and the admin probe run
 * in a child process (this file, re-run with --client) so their work does not
 * share the server's event loop. Run alone:
 *   node bench/sign-in-burst-bench.ts [--bursts 3]
 * With DATABASE_URL it runs on that PostgreSQL server, in a database of its own
 * (created and dropped), else on PGlite.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildApiServer } from '../src/api/api-server.ts';
import { createApiMetrics } from '../src/api/api-metrics.ts';
import { createUser } from '../src/api/auth/user-store.ts';
import { openStore } from '../src/store/open-store.ts';
import { createScratchDatabase } from '../test/support/scratch-database.ts';

interface ClientRequest {
  readonly url: string;
  readonly cookie: string;
  /** `one-user`: every request for the same username; `many-users`: a different username each. */
  readonly shape: 'one-user' | 'many-users';
  readonly size: number;
}

export interface BurstFigure {
  readonly shape: ClientRequest['shape'];
  readonly size: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly burstMs: number;
  readonly adminRequests: number;
  readonly adminP50: number;
  readonly adminP99: number;
  readonly adminMax: number;
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function runClient(request: ClientRequest): Promise<BurstFigure> {
  const latencies: number[] = [];
  let bursting = true;
  const probe = (async () => {
    while (bursting) {
      // The console's page (a static file: read through libuv's thread pool, like scrypt) and an API read.
      const path = latencies.length % 2 === 0 ? '/api/users' : '/';
      const t0 = performance.now();
      const res = await fetch(`${request.url}${path}`, { headers: { cookie: request.cookie } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`admin probe of ${path} answered ${res.status}`);
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await new Promise((r) => setTimeout(r, 100));
  const t0 = performance.now();
  const statuses: Record<string, number> = {};
  await Promise.all(
    Array.from({ length: request.size }, async (_, i) => {
      const username = request.shape === 'one-user' ? 'victim' : `guess-${i}`;
      const res = await fetch(`${request.url}/api/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: `wrong-${i}` }) });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }),
  );
  const burstMs = performance.now() - t0;
  bursting = false;
  await probe;
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return { shape: request.shape, size: request.size, statuses, burstMs: Math.round(burstMs), adminRequests: sorted.length, adminP50: round(percentile(sorted, 50)), adminP99: round(percentile(sorted, 99)), adminMax: round(sorted.at(-1) ?? 0) };
}

function clientInChild(request: ClientRequest): Promise<BurstFigure> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [import.meta.filename, '--client', JSON.stringify(request)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as BurstFigure) : reject(new Error(`burst client exited with ${code}`))));
  });
}

/** Runs the bursts against a fresh server and store; one figure per burst. */
export async function runSignInBurstBench(options: { bursts?: number; databaseUrl?: string; log?: (line: string) => void } = {}): Promise<BurstFigure[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const figures: BurstFigure[] = [];
  const webDir = mkdtempSync(path.join(os.tmpdir(), 'jml-bench-web-'));
  writeFileSync(path.join(webDir, 'index.html'), `<!doctype html><title>jml</title>${'<p>console</p>'.repeat(2000)}`);
  for (let round = 0; round < (options.bursts ?? 3); round += 1) {
    for (const [shape, size] of [['one-user', 60], ['many-users', 100]] as const) {
      // A fresh store and server per burst: the limits one burst trips do not carry into the next.
      const scratch = options.databaseUrl ? await createScratchDatabase(options.databaseUrl, 'jml_sign_in_bench') : null;
      const store = await openStore(scratch ? { databaseUrl: scratch.url } : { dataDir: 'memory://' });
      try {
        await createUser(store.db, { username: 'admin', password: 'bench-password-1', roles: ['admin'] }, 'bench');
        await createUser(store.db, { username: 'victim', password: 'victim-password-1' }, 'bench');
        const deps = { db: store.db, backend: store.backend, now: () => new Date(), systemsOwnedBy: () => [], services: {}, metrics: createApiMetrics(), webDir, oidc: null };
        const app = await buildApiServer(deps);
        const url = await app.listen({ host: '127.0.0.1', port: 0 });
        try {
          const signIn = await fetch(`${url}/api/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'bench-password-1' }) });
          const cookie = signIn.headers.getSetCookie().find((c) => c.startsWith('jml_session='))!.split(';')[0]!;
          const figure = await clientInChild({ url, cookie, shape, size });
          figures.push(figure);
          const statuses = Object.entries(figure.statuses).map(([s, n]) => `${n} × ${s}`).join(', ');
          log(`${`${size} parallel bad sign-ins, ${shape}`.padEnd(36)} ${statuses.padEnd(22)} in ${String(figure.burstMs).padStart(5)} ms   admin p50 ${figure.adminP50} ms  p99 ${figure.adminP99} ms  max ${figure.adminMax} ms (${figure.adminRequests} requests, ${store.backend}, load ${os.loadavg()[0]!.toFixed(1)})`);
          log(JSON.stringify({ workload: 'sign-in-burst', backend: store.backend, ...figure }));
        } finally {
          await app.close();
        }
      } finally {
        await store.close();
        await scratch?.drop();
      }
    }
  }
  rmSync(webDir, { recursive: true, force: true });
  return figures;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { bursts: { type: 'string' }, client: { type: 'string' } } });
  if (values.client) {
    process.stdout.write(JSON.stringify(await runClient(JSON.parse(values.client) as ClientRequest)));
  } else {
    await runSignInBurstBench({ bursts: values.bursts ? Number(values.bursts) : undefined, databaseUrl: process.env.DATABASE_URL });
  }
}
