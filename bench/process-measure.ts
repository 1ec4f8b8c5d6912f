/**
 * Whole-process figures, measured from outside as a user would: wall time,
 * CPU time and peak RSS of `jml …` run as its own process. CPU time and peak
 * RSS come from the kernel's accounting of the finished child (GNU time's %U,
 * %S and %M: the child and every process it waited for, so the Node re-run by
 * bin/jml.js counts). CPU time is printed beside wall time because on a busy
 * machine the wall time mostly measures the other work.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const GNU_TIME = '/usr/bin/time';

/** The jml command as a user runs it. */
export const JML_BIN = path.join(import.meta.dirname, '..', 'bin', 'jml.js');

export interface ProcessFigure {
  readonly ms: number;
  /** Null when GNU time is not installed (apt-get install time). */
  readonly peakRssMiB: number | null;
  /** User + system CPU time; null without GNU time. */
  readonly cpuMs: number | null;
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `command args` to completion and measures it. */
export function measureProcess(command: string, args: readonly string[], options: SpawnSyncOptions = {}): ProcessFigure {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jml-bench-time-'));
  const rssFile = path.join(dir, 'rss');
  const timed = existsSync(GNU_TIME);
  try {
    const started = performance.now();
    const run = timed
      ? spawnSync(GNU_TIME, ['-f', '%M %U %S', '-o', rssFile, command, ...args], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20, ...options })
      : spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 2 ** 20, ...options });
    const ms = performance.now() - started;
    // The last line: GNU time writes "Command exited with non-zero status N" before it.
    const [kib, user, system] = timed && existsSync(rssFile) ? readFileSync(rssFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number) : [];
    return {
      ms: Math.round(ms),
      peakRssMiB: kib !== undefined && Number.isFinite(kib) ? Math.round(kib / 1024) : null,
      cpuMs: user !== undefined && system !== undefined && Number.isFinite(user + system) ? Math.round((user + system) * 1000) : null,
      status: run.status,
      stdout: String(run.stdout ?? ''),
      stderr: String(run.stderr ?? ''),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The median of some numbers (the upper one of the middle two). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** "load average 0.31 0.52 0.60": every figure is printed with how busy the machine was. */
export function loadAverage(): string {
  return `load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}
