/**
 * Import benchmark: a synthetic HR file of N people (default 100,000), first
 * imported whole (all joiners), then again with 2 % movers and 1 % leavers.
 * Prints rows/s for both imports and the process's peak RSS, on embedded PGlite
 * and, when DATABASE_URL is set, on that PostgreSQL server (a fresh database).
 *
 *   node bench/import-bench.ts [--people N] [--backend pglite|postgres] [--phases] [--json]
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { configSchema, DEFAULT_SOURCES } from '../src/app/config.ts';
import { importSource, type ImportResult } from '../src/app/import-source.ts';
import { openStore, type Store } from '../src/store/open-store.ts';

export interface ImportBenchResult {
  readonly backend: string;
  readonly people: number;
  readonly firstImportMs: number;
  readonly firstRowsPerSecond: number;
  readonly secondImportMs: number;
  readonly secondRowsPerSecond: number;
  readonly events: { readonly joiners: number; readonly movers: number; readonly leavers: number };
  /** Peak RSS of this process: opening the store and both imports. */
  readonly peakRssMiB: number;
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
function writeHrFile(file: string, people: number, variant: 'first' | 'second'): void {
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
    console.error(
      `  [${label}] ${lastPhase.padEnd(20)} ${Math.round(now - last).toString().padStart(6)} ms wall ${Math.round((cpu.user + cpu.system) / 1000).toString().padStart(6)} ms cpu  rss ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MiB heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MiB peak ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
    );
    last = now;
    lastCpu = process.cpuUsage();
    lastPhase = phase;
  };
}

export async function runImportBench(options: { readonly people?: number; readonly databaseUrl?: string; readonly phases?: boolean } = {}): Promise<ImportBenchResult> {
  const people = options.people ?? 100_000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jml-bench-import-'));
  const first = path.join(dir, 'hr-1.csv');
  const second = path.join(dir, 'hr-2.csv');
  writeHrFile(first, people, 'first');
  writeHrFile(second, people, 'second');
  let store: Store;
  let dropDatabase: (() => Promise<void>) | null = null;
  let initPeakRssMiB: number | null = null;
  if (options.databaseUrl) {
    const name = `jml_bench_${Date.now()}`;
    const admin = new pg.Client({ connectionString: options.databaseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(options.databaseUrl);
    url.pathname = `/${name}`;
    store = await openStore({ databaseUrl: url.toString() });
    dropDatabase = async () => {
      const c = new pg.Client({ connectionString: options.databaseUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  } else {
    // The data directory is created (initdb + migrations, as `jml init` does) by a
    // separate process: initdb alone peaks at ~1.1 GB RSS in PGlite, which says
    // nothing about an import. Its peak is reported on its own.
    initPeakRssMiB = initDataDir(path.join(dir, 'data'));
    store = await openStore({ dataDir: path.join(dir, 'data') });
  }
  const config = { ...configSchema.parse({}), sources: DEFAULT_SOURCES, file: null };
  try {
    const progress = (label: string) => {
      if (!options.phases) return undefined;
      const log = phaseLogger(label);
      return (phase: string) => log(phase);
    };
    let t = performance.now();
    const p1 = progress('first');
    // Only the status and counts are kept: a CLI run imports one file per process, so the first
    // result's 100,000 events must not be held (and measured) through the second import.
    const r1 = summary(await importSource({ db: store.db, config }, { source: 'hr', file: first, actor: 'bench', asOf: '2026-11-01', onProgress: p1 }));
    p1?.('done');
    const firstImportMs = performance.now() - t;
    t = performance.now();
    const p2 = progress('second');
    const r2 = summary(await importSource({ db: store.db, config }, { source: 'hr', file: second, actor: 'bench', asOf: '2026-11-22', onProgress: p2 }));
    p2?.('done');
    const secondImportMs = performance.now() - t;
    if (r1.status !== 'applied' || r2.status !== 'applied') throw new Error(`bench import not applied: ${r1.status}/${r2.status}`);
    return {
      backend: store.backend,
      people,
      firstImportMs: Math.round(firstImportMs),
      firstRowsPerSecond: Math.round(people / (firstImportMs / 1000)),
      secondImportMs: Math.round(secondImportMs),
      secondRowsPerSecond: Math.round(people / (secondImportMs / 1000)),
      events: { joiners: r1.counts.joiners, movers: r2.counts.movers, leavers: r2.counts.leavers },
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      initPeakRssMiB,
    };
  } finally {
    await store.close();
    await dropDatabase?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main && process.argv[2] === '--init-only') {
  const store = await openStore({ dataDir: process.argv[3]! });
  await store.close();
  console.log(Math.round(process.resourceUsage().maxRSS / 1024));
} else if (import.meta.main) {
  const { values } = parseArgs({ options: { people: { type: 'string', default: '100000' }, json: { type: 'boolean', default: false }, phases: { type: 'boolean', default: false }, backend: { type: 'string' } } });
  const people = Number.parseInt(values.people!, 10);
  const backend = values.backend ?? (process.env.DATABASE_URL ? 'postgres' : 'pglite');
  const result = await runImportBench({ people, databaseUrl: backend === 'postgres' ? process.env.DATABASE_URL : undefined, phases: values.phases });
  if (!values.json) {
    console.log(`import bench on ${result.backend}, ${result.people} people`);
    console.log(`  first import (all joiners):        ${result.firstImportMs} ms, ${result.firstRowsPerSecond} rows/s`);
    console.log(`  second import (2 % movers, 1 % leavers: ${result.events.movers} movers, ${result.events.leavers} leavers): ${result.secondImportMs} ms, ${result.secondRowsPerSecond} rows/s`);
    console.log(`  peak RSS: ${result.peakRssMiB} MiB${result.initPeakRssMiB === null ? '' : ` (creating the data directory, in its own process: ${result.initPeakRssMiB} MiB)`}`);
  }
  console.log(JSON.stringify({ bench: 'import', ...result }));
}
