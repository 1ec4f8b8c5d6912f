/**
 * Import benchmark: a synthetic HR file of N people (default 100,000), first
 * imported whole (all joiners), then again with 2 % movers and 1 % leavers.
 * On embedded PGlite and, when DATABASE_URL is set, on that PostgreSQL server
 * (a fresh database).
 *
 * By default each import is `jml import hr FILE --json` run as a whole process,
 * the first one on a fresh data directory (issue 16, goal 2: ≤ 12 s on PGlite,
 * ≤ 10 s on PostgreSQL for 100,000 rows, ≤ 60 s for 500,000 on PostgreSQL, peak
 * RSS ≤ 1 GiB): wall time and peak RSS measured from outside. --in-process
 * imports in this process instead (with --phases, the time of each phase).
 *
 *   node bench/import-bench.ts [--people N] [--backend pglite|postgres] [--in-process [--phases] [--process-per-import]] [--json]
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { configSchema, DEFAULT_SOURCES } from '../src/app/config.ts';
import { importSource, type ImportResult } from '../src/app/import-source.ts';
import { openStore, type Store } from '../src/store/open-store.ts';
import { createScratchDatabase } from '../test/support/scratch-database.ts';
import { JML_BIN, measureProcess } from './process-measure.ts';

export interface ImportBenchResult {
  readonly backend: string;
  readonly people: number;
  readonly firstImportMs: number;
  readonly firstRowsPerSecond: number;
  readonly secondImportMs: number;
  readonly secondRowsPerSecond: number;
  readonly events: { readonly joiners: number; readonly movers: number; readonly leavers: number };
  /** Peak RSS of the importing process(es): opening the store and the imports. */
  readonly peakRssMiB: number;
  /** Peak RSS after the first and after the second import (the same process, unless --process-per-import). */
  readonly importPeakRssMiB: readonly [number, number];
  /** PGlite only: peak RSS of the separate process that created the data directory. */
  readonly initPeakRssMiB: number | null;
}

/** Creates and migrates a PGlite data directory in a child process; returns that process's peak RSS (MiB). */
function initDataDir(dataDir: string): number {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--init-only', dataDir], { encoding: 'utf8' });
  return Number.parseInt(out.trim(), 10);
}

const HEADER = 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status';
const DEPARTMENTS = ['Engineering', 'Sales', 'Finance', 'Support', 'Marketing', 'IT', 'Research', 'People'];

/** Writes the synthetic HR file a few thousand lines at a time, so generating it does not inflate the measured peak RSS. */
export function writeHrFile(file: string, people: number, variant: 'first' | 'second'): void {
  writeFileSync(file, `${HEADER}\n`);
  let lines: string[] = [];
  for (let i = 0; i < people; i++) {
    const id = `E${String(i + 1).padStart(6, '0')}`;
    const leaver = variant === 'second' && i % 100 === 50;
    const mover = variant === 'second' && i % 50 === 7;
    const department = DEPARTMENTS[(i + (mover ? 1 : 0)) % DEPARTMENTS.length];
    const manager = i < 100 ? '' : `E${String((i % 100) + 1).padStart(6, '0')}`;
    lines.push(`${id},First${i},Last${i},person${i}@example.com,${department},Engineer,${manager},Berlin,Full-time,2020-01-0${(i % 9) + 1},${leaver ? '2026-11-20' : ''},${leaver ? 'terminated' : 'active'}`);
    if (lines.length === 5000) {
      appendFileSync(file, `${lines.join('\n')}\n`);
      lines = [];
    }
  }
  if (lines.length > 0) appendFileSync(file, `${lines.join('\n')}\n`);
}

function summary(result: ImportResult): Pick<ImportResult, 'status' | 'counts'> {
  return { status: result.status, counts: result.counts };
}

/** Prints each import phase with the time since the previous one and the current RSS (`--phases`). */
function phaseLogger(label: string): (phase: string) => void {
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let lastPhase = 'start';
  return (phase) => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    const heap = process.memoryUsage().heapUsed;
    // With node --expose-gc, also what is still reachable at the end of the phase (the collection is not timed).
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const live = gc ? ` live ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MiB` : '';
    console.error(
      `  [${label}] ${lastPhase.padEnd(20)} ${Math.round(now - last).toString().padStart(6)} ms wall ${Math.round((cpu.user + cpu.system) / 1000).toString().padStart(6)} ms cpu  rss ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MiB heap ${Math.round(heap / 2 ** 20)} MiB${live} peak ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
    );
    last = performance.now();
    lastCpu = process.cpuUsage();
    lastPhase = phase;
  };
}

type StoreTarget = { readonly dataDir: string } | { readonly databaseUrl: string };

interface OneImport {
  readonly ms: number;
  readonly status: ImportResult['status'];
  readonly counts: ImportResult['counts'];
  readonly peakRssMiB: number;
}

const BENCH_CONFIG = { ...configSchema.parse({}), sources: DEFAULT_SOURCES, file: null };

async function importOnce(store: Store, file: string, asOf: string, label: string, phases: boolean): Promise<OneImport> {
  const log = phases ? phaseLogger(label) : undefined;
  const t = performance.now();
  // Only the status and counts are kept: the result's 100,000 events must not be held (and measured) through the next import.
  const r = summary(await importSource({ db: store.db, config: BENCH_CONFIG }, { source: 'hr', file, actor: 'bench', asOf, onProgress: log && ((phase) => log(phase)) }));
  log?.('done');
  return { ms: performance.now() - t, ...r, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) };
}

/** One import in a process of its own, as `jml import` runs: its peak RSS is that import's alone. */
function importInChild(target: StoreTarget, file: string, asOf: string, label: string, phases: boolean): OneImport {
  const where = 'dataDir' in target ? target.dataDir : target.databaseUrl;
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--import-only', where, file, asOf, label, phases ? 'phases' : ''], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out) as OneImport;
}

function openTarget(target: StoreTarget): Promise<Store> {
  return openStore('dataDir' in target ? { dataDir: target.dataDir } : { databaseUrl: target.databaseUrl });
}

export async function runImportBench(
  options: { readonly people?: number; readonly databaseUrl?: string; readonly phases?: boolean; readonly processPerImport?: boolean } = {},
): Promise<ImportBenchResult> {
  const people = options.people ?? 100_000;
  const phases = options.phases ?? false;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jml-bench-import-'));
  const first = path.join(dir, 'hr-1.csv');
  const second = path.join(dir, 'hr-2.csv');
  writeHrFile(first, people, 'first');
  writeHrFile(second, people, 'second');
  let target: StoreTarget;
  let dropDatabase: (() => Promise<void>) | null = null;
  let initPeakRssMiB: number | null = null;
  if (options.databaseUrl) {
    const scratch = await createScratchDatabase(options.databaseUrl, 'jml_bench');
    target = { databaseUrl: scratch.url };
    dropDatabase = scratch.drop;
  } else {
    // The data directory is created (initdb + migrations, as `jml init` does) by a
    // separate process: initdb alone peaks at ~1.1 GB RSS in PGlite, which says
    // nothing about an import. Its peak is reported on its own.
    target = { dataDir: path.join(dir, 'data') };
    initPeakRssMiB = initDataDir(target.dataDir);
  }
  let store: Store | null = null;
  try {
    let r1: OneImport;
    let r2: OneImport;
    if (options.processPerImport) {
      r1 = importInChild(target, first, '2026-11-01', 'first', phases);
      r2 = importInChild(target, second, '2026-11-22', 'second', phases);
    } else {
      store = await openTarget(target);
      r1 = await importOnce(store, first, '2026-11-01', 'first', phases);
      r2 = await importOnce(store, second, '2026-11-22', 'second', phases);
    }
    if (r1.status !== 'applied' || r2.status !== 'applied') throw new Error(`bench import not applied: ${r1.status}/${r2.status}`);
    return {
      backend: 'dataDir' in target ? 'pglite' : 'postgres',
      people,
      firstImportMs: Math.round(r1.ms),
      firstRowsPerSecond: Math.round(people / (r1.ms / 1000)),
      secondImportMs: Math.round(r2.ms),
      secondRowsPerSecond: Math.round(people / (r2.ms / 1000)),
      events: { joiners: r1.counts.joiners, movers: r2.counts.movers, leavers: r2.counts.leavers },
      peakRssMiB: options.processPerImport ? Math.max(r1.peakRssMiB, r2.peakRssMiB) : Math.round(process.resourceUsage().maxRSS / 1024),
      importPeakRssMiB: [r1.peakRssMiB, r2.peakRssMiB],
      initPeakRssMiB,
    };
  } finally {
    await store?.close();
    await dropDatabase?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ImportProcessResult {
  readonly backend: 'pglite' | 'postgres';
  readonly people: number;
  readonly first: ProcessImport;
  readonly second: ProcessImport;
  readonly loadAverage: readonly number[];
}

interface ProcessImport {
  readonly ms: number;
  readonly rowsPerSecond: number;
  readonly peakRssMiB: number | null;
  readonly cpuMs: number | null;
  readonly counts: ImportResult['counts'];
}

/** `jml import hr FILE --as-of D --json` as its own process; throws unless it applied. */
function importProcess(people: number, data: readonly string[], env: NodeJS.ProcessEnv, file: string, asOf: string): ProcessImport {
  // `--json` prints every event: about 300 MB at 500,000 people, past measureProcess's usual buffer.
  const r = measureProcess(process.execPath, [JML_BIN, ...data, 'import', 'hr', file, '--as-of', asOf, '--json'], { env, cwd: path.dirname(file), maxBuffer: 2 ** 30 });
  if (r.status !== 0) throw new Error(`jml import exited ${r.status}: ${r.stderr.slice(-2000)}`);
  const out = JSON.parse(r.stdout) as ImportResult;
  if (out.status !== 'applied') throw new Error(`jml import did not apply: ${out.status}`);
  return { ms: r.ms, rowsPerSecond: Math.round(people / (r.ms / 1000)), peakRssMiB: r.peakRssMiB, cpuMs: r.cpuMs, counts: out.counts };
}

/** Both imports as whole `jml import` processes, the first on a fresh data directory or database. */
export async function runImportProcessBench(options: { readonly people?: number; readonly databaseUrl?: string } = {}): Promise<ImportProcessResult> {
  const people = options.people ?? 100_000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jml-bench-import-'));
  const first = path.join(dir, 'hr-1.csv');
  const second = path.join(dir, 'hr-2.csv');
  writeHrFile(first, people, 'first');
  writeHrFile(second, people, 'second');
  const scratch = options.databaseUrl ? await createScratchDatabase(options.databaseUrl, 'jml_bench') : null;
  const env = { ...process.env, DATABASE_URL: scratch?.url ?? '', JML_ACTOR: 'bench' };
  const data = ['--data', path.join(dir, 'data')];
  try {
    const r1 = importProcess(people, data, env, first, '2026-11-01');
    const r2 = importProcess(people, data, env, second, '2026-11-22');
    return { backend: scratch ? 'postgres' : 'pglite', people, first: r1, second: r2, loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))) };
  } finally {
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The goals of issue 16 for a first import of `people` rows (null: none named for that size). */
function importGoal(backend: string, people: number): { readonly ms: number | null; readonly rssMiB: number | null } {
  if (people === 100_000) return { ms: backend === 'postgres' ? 10_000 : 12_000, rssMiB: 1024 };
  if (people === 500_000 && backend === 'postgres') return { ms: 60_000, rssMiB: null };
  return { ms: null, rssMiB: null };
}

if (import.meta.main && process.argv[2] === '--import-only') {
  const [where, file, asOf, label, phases] = process.argv.slice(3) as [string, string, string, string, string];
  const store = await openTarget(where.startsWith('postgres') ? { databaseUrl: where } : { dataDir: where });
  try {
    console.log(JSON.stringify(await importOnce(store, file, asOf, label, phases === 'phases')));
  } finally {
    await store.close();
  }
} else if (import.meta.main && process.argv[2] === '--init-only') {
  const store = await openStore({ dataDir: process.argv[3]! });
  await store.close();
  console.log(Math.round(process.resourceUsage().maxRSS / 1024));
} else if (import.meta.main) {
  const { values } = parseArgs({ options: { people: { type: 'string', default: '100000' }, json: { type: 'boolean', default: false }, phases: { type: 'boolean', default: false }, 'process-per-import': { type: 'boolean', default: false }, backend: { type: 'string' }, 'in-process': { type: 'boolean', default: false } } });
  const people = Number.parseInt(values.people!, 10);
  const backend = values.backend ?? (process.env.DATABASE_URL ? 'postgres' : 'pglite');
  if (!values['in-process']) {
    const r = await runImportProcessBench({ people, databaseUrl: backend === 'postgres' ? process.env.DATABASE_URL : undefined });
    const goal = importGoal(r.backend, people);
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    if (!values.json) {
      console.log(`import bench on ${r.backend}, ${people.toLocaleString('en')} people, each import a whole \`jml import hr FILE --json\` process (load average ${r.loadAverage.join(' ')})`);
      console.log(`  first import, fresh data directory: ${r.first.ms} ms (CPU ${r.first.cpuMs ?? '?'} ms), ${r.first.rowsPerSecond} rows/s${goal.ms === null ? '' : ` (goal ≤ ${goal.ms} ms) ${verdict(r.first.ms <= goal.ms)}`}; peak RSS ${r.first.peakRssMiB ?? '?'} MiB${goal.rssMiB === null ? '' : ` (goal ≤ ${goal.rssMiB} MiB) ${verdict((r.first.peakRssMiB ?? Infinity) <= goal.rssMiB)}`}`);
      console.log(`  second import (${r.second.counts.movers} movers, ${r.second.counts.leavers} leavers): ${r.second.ms} ms (CPU ${r.second.cpuMs ?? '?'} ms), ${r.second.rowsPerSecond} rows/s; peak RSS ${r.second.peakRssMiB ?? '?'} MiB`);
    }
    console.log(JSON.stringify({ bench: 'import', mode: 'process', ...r, goal }));
    process.exit(0);
  }
  const result = await runImportBench({ people, databaseUrl: backend === 'postgres' ? process.env.DATABASE_URL : undefined, phases: values.phases, processPerImport: values['process-per-import'] });
  if (!values.json) {
    console.log(`import bench on ${result.backend}, ${result.people} people`);
    console.log(`  first import (all joiners):        ${result.firstImportMs} ms, ${result.firstRowsPerSecond} rows/s`);
    console.log(`  second import (2 % movers, 1 % leavers: ${result.events.movers} movers, ${result.events.leavers} leavers): ${result.secondImportMs} ms, ${result.secondRowsPerSecond} rows/s`);
    console.log(`  peak RSS: ${result.peakRssMiB} MiB (after first import ${result.importPeakRssMiB[0]}, after second ${result.importPeakRssMiB[1]}${values['process-per-import'] ? ', one process per import' : ', one process for both'})${result.initPeakRssMiB === null ? '' : ` (creating the data directory, in its own process: ${result.initPeakRssMiB} MiB)`}`);
  }
  console.log(JSON.stringify({ bench: 'import', ...result }));
}
