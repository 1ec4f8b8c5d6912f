/**
 * The API bench's load generator, run in a process of its own so that its
 * work does not share the server's event loop (api-bench.ts starts it with
 * the case as JSON; it says when its warm-up is over, then gives one figure):
 *   node bench/api-load.ts '{"url":…,"token":…,"caseIndex":0,"identities":100000,"rate":500,"seconds":10,"warmupSeconds":2}'
 * It imports nothing of jml: a child that loaded the whole application spent
 * ~1.4 s of CPU starting, on a machine the server shares.
 *
 * An open-loop load at a steady rate: request i is due at start + i/rate and
 * is sent then, whether or not earlier requests have been answered (up to 256
 * connections); its latency runs from when it was due to the last byte of its
 * answer. A server that stalls is charged for every request that came due
 * meanwhile, as users arriving at that rate would be (no coordinated
 * omission), and the load does not slow down to suit the server.
 *
 * Why not autocannon, which this bench used before: with a rate, each of its
 * connections sends its share of the second back to back and then waits for
 * the next second (a burst of the whole second's requests at its start, not a
 * steady rate), and it corrects for coordinated omission with an expected
 * interval of Math.ceil(1 / rate) = 1 ms, adding a made-up sample for every
 * millisecond an answer took beyond one: 5,002 answers became 54,296 samples
 * (measured), so its p50 and p99 were mostly of samples no request had.
 *
 * How late the generator itself sent (its own event loop) and the CPU it used
 * are reported beside the latencies, so a tail it caused can be told from the
 * server's.
 */
import { Pool } from 'undici';

export interface LoadRequest {
  readonly url: string;
  readonly token: string;
  readonly caseIndex: number;
  readonly identities: number;
  readonly rate: number;
  readonly seconds: number;
  /** Sent first at the same rate and not measured: JIT, plan caches, the policy cache. */
  readonly warmupSeconds: number;
}

export interface ApiBenchFigure {
  readonly name: string;
  readonly requests: number;
  readonly throughput: number;
  /** Latencies of the answered requests (200, whole body); failed ones count in `errors` only. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** How late the load generator sent its requests (p99, ms): its own delay, not the server's. */
  readonly sendLagP99: number;
  /** The load generator's CPU per request while measured (ms). */
  readonly generatorCpuMs: number;
  readonly errors: number;
}

/** The line the child prints when its warm-up is over and the measured requests start. */
export const MEASURING_LINE = 'measuring\n';

/** The key of the i-th synthetic identity the bench seeds. */
export const key = (i: number) => `E${String(i).padStart(6, '0')}`;

/** The requests of each case; the load generator picks a fresh path for every request. */
export const CASES: readonly { readonly name: string; readonly path: (n: number) => string }[] = [
  { name: 'people list (50 per page)', path: (n) => `/api/people?limit=50&cursor=${key(Math.floor(Math.random() * (n - 100)))}` },
  { name: 'people list, department filter', path: () => `/api/people?limit=50&department=Finance` },
  { name: 'identity page', path: (n) => `/api/people/${key(100 + Math.floor(Math.random() * (n - 100)))}` },
];

/** The value at quantile q of ascending values (0 when there are none). */
const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

interface Run {
  readonly latencies: number[];
  readonly lags: number[];
  readonly errors: number;
  readonly seconds: number;
}

/** Sends `rate × seconds` requests on `pool`, each when it is due, and waits for every answer. */
function steadyLoad(pool: Pool, path: () => string, headers: Record<string, string>, rate: number, seconds: number): Promise<Run> {
  const interval = 1000 / rate;
  const total = Math.round(rate * seconds);
  if (!(total >= 1)) throw new Error(`a load of ${rate} requests/s for ${seconds} s sends no request`);
  const latencies: number[] = [];
  const lags: number[] = [];
  let errors = 0;
  const start = performance.now() + 20;
  let last = start;
  return new Promise((resolve) => {
    let settled = 0;
    // A failed request (refused, reset, not 200) is counted apart: its latency would flatter the figures.
    const answered = (due: number, ok: boolean) => {
      const now = performance.now();
      if (ok) latencies.push(now - due);
      else errors += 1;
      last = Math.max(last, now);
      settled += 1;
      if (settled === total) resolve({ latencies, lags, errors, seconds: (last - start) / 1000 });
    };
    const send = (due: number) => {
      lags.push(performance.now() - due);
      pool.request({ method: 'GET', path: path(), headers }).then(
        async ({ statusCode, body }) => {
          // Read to the last byte: a body cut short (a reset) rejects here and counts as failed.
          for await (const chunk of body) void chunk;
          answered(due, statusCode === 200);
        },
      ).catch(() => answered(due, false));
    };
    let next = 0;
    const tick = () => {
      const now = performance.now();
      for (; next < total && start + next * interval <= now; next += 1) send(start + next * interval);
      if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    setTimeout(tick, 20);
  });
}

/** Warms up, then measures one case; `measuring` is called between the two. */
export async function generateLoad(request: LoadRequest, measuring: () => void = () => undefined): Promise<ApiBenchFigure> {
  const c = CASES[request.caseIndex]!;
  const pool = new Pool(request.url, { connections: 256, pipelining: 1 });
  const headers = { authorization: `Bearer ${request.token}` };
  const path = () => c.path(request.identities);
  try {
    if (request.warmupSeconds > 0) await steadyLoad(pool, path, headers, request.rate, request.warmupSeconds);
    measuring();
    const cpuBefore = process.cpuUsage();
    const run = await steadyLoad(pool, path, headers, request.rate, request.seconds);
    const cpu = process.cpuUsage(cpuBefore);
    const latencies = run.latencies.sort((a, b) => a - b);
    const lags = run.lags.sort((a, b) => a - b);
    const ms = (v: number) => Math.round(v * 10) / 10;
    return {
      name: c.name,
      requests: latencies.length,
      throughput: latencies.length / run.seconds,
      p50: ms(quantile(latencies, 0.5)),
      p99: ms(quantile(latencies, 0.99)),
      max: ms(latencies.at(-1) ?? 0),
      sendLagP99: ms(quantile(lags, 0.99)),
      generatorCpuMs: Math.round((cpu.user + cpu.system) / 10 / latencies.length) / 100,
      errors: run.errors,
    };
  } finally {
    await pool.close();
  }
}

// Run as a child: a line `measuring` when the warm-up is over, then the figure as JSON.
if (import.meta.main) {
  const figure = await generateLoad(JSON.parse(process.argv[2]!) as LoadRequest, () => process.stdout.write(MEASURING_LINE));
  process.stdout.write(`${JSON.stringify(figure)}\n`);
}
