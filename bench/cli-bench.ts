/**
 * CLI start benchmark (issue 16, goal 5), whole processes as a user runs them:
 * `jml --help`, and a read command (`jml identity E1002`) on the PGlite demo.
 * Each is run several times; the median wall time and the highest peak RSS are
 * printed against the goals (≤ 0.3 s and ≤ 1 s).
 *
 *   node bench/cli-bench.ts [--runs N] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { JML_BIN, measureProcess, median } from './process-measure.ts';

const POLICY = path.join(import.meta.dirname, '..', 'policy');

export interface CliFigure {
  readonly command: string;
  readonly runs: number;
  readonly medianMs: number;
  /** Median user + system CPU time: what the command costs, whatever else the machine is doing. */
  readonly medianCpuMs: number | null;
  readonly peakRssMiB: number | null;
  readonly goalMs: number;
  readonly loadAverage: readonly number[];
}

function measure(label: string, args: readonly string[], runs: number, goalMs: number, cwd: string): CliFigure {
  const times: number[] = [];
  const cpu: number[] = [];
  let peak: number | null = null;
  for (let i = 0; i < runs; i++) {
    const r = measureProcess(process.execPath, [JML_BIN, ...args], { cwd, env: { ...process.env, DATABASE_URL: '' } });
    if (r.status !== 0) throw new Error(`jml ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    times.push(r.ms);
    if (r.cpuMs !== null) cpu.push(r.cpuMs);
    if (r.peakRssMiB !== null) peak = Math.max(peak ?? 0, r.peakRssMiB);
  }
  return { command: label, runs, medianMs: median(times), medianCpuMs: cpu.length > 0 ? median(cpu) : null, peakRssMiB: peak, goalMs, loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))) };
}

/** Loads the demo into a fresh data directory, then measures the commands. */
export function runCliBench(runs = 7): CliFigure[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jml-bench-cli-'));
  try {
    const data = ['--data', path.join(dir, 'data'), '--policy', POLICY];
    const demo = measureProcess(process.execPath, [JML_BIN, ...data, 'demo', '--json'], { cwd: dir, env: { ...process.env, DATABASE_URL: '' } });
    if (demo.status !== 0) throw new Error(`jml demo failed: ${demo.stderr}`);
    return [
      measure('jml --help', ['--help'], runs, 300, dir),
      measure('jml identity E1002 (PGlite demo)', [...data, 'identity', 'E1002'], runs, 1000, dir),
      measure('jml identities --limit 20 (PGlite demo)', [...data, 'identities', '--limit', '20'], runs, 1000, dir),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, json: { type: 'boolean', default: false } } });
  const figures = runCliBench(Number.parseInt(values.runs!, 10));
  if (!values.json) {
    for (const f of figures) {
      console.log(`${f.command.padEnd(42)} median ${String(f.medianMs).padStart(5)} ms (CPU ${f.medianCpuMs ?? '?'} ms) of ${f.runs} runs (goal ≤ ${f.goalMs} ms) ${f.medianMs <= f.goalMs ? 'met' : 'MISSED'}; peak RSS ${f.peakRssMiB ?? '?'} MiB; load average ${f.loadAverage.join(' ')}`);
    }
  }
  console.log(JSON.stringify({ bench: 'cli', figures }));
}
