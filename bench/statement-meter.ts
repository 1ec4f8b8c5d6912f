/**
 * Where a benchmark's time goes, measured from inside its process: the
 * statements it sends to the database (every pg client of the process, PGlite's
 * bridge included) and how long it waits for their answers, its own CPU time,
 * and — on a PostgreSQL server on this machine — the CPU time of the server
 * processes that answer it (read from /proc).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Database } from '../src/store/database.ts';

export interface MeterReading {
  /** Statements sent (each one is a round trip: pg does not pipeline). */
  readonly statements: number;
  /** Wall time between sending a statement and its answer, summed. */
  readonly waitMs: number;
  /** The same for the statements matching each of the meter's `named` patterns (a lock's wait, say). */
  readonly namedWaitMs: Readonly<Record<string, number>>;
  /** CPU time of this process (user + system). */
  readonly cpuMs: number;
  /** CPU time of the PostgreSQL backends serving this database; null on PGlite (its CPU is this process's). */
  readonly serverCpuMs: number | null;
}

export interface StatementMeter {
  read(): Promise<MeterReading>;
  /** Texts of the statements since the last call (when created with `keepTexts`). */
  texts(): string[];
}

let installed: { statements: number; waitMs: number; named: Record<string, number>; texts: string[] | null } | null = null;

/**
 * Starts counting (once per process; later calls share the count).
 * @example const meter = meterStatements(store.db, 'postgres'); const before = await meter.read(); …; const after = await meter.read();
 */
export function meterStatements(db: Kysely<Database>, backend: 'pglite' | 'postgres', options: { keepTexts?: boolean; named?: Readonly<Record<string, RegExp>> } = {}): StatementMeter {
  if (!installed) {
    const patterns = Object.entries(options.named ?? {});
    const counts = { statements: 0, waitMs: 0, named: Object.fromEntries(patterns.map(([name]) => [name, 0])), texts: options.keepTexts ? ([] as string[]) : null };
    installed = counts;
    const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
    (pg.Client.prototype as { query: unknown }).query = function query(this: pg.Client, ...args: unknown[]) {
      const started = performance.now();
      const result = original.apply(this, args);
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        counts.statements += 1;
        const text = typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string })?.text ?? '');
        if (counts.texts) counts.texts.push(text);
        const names = patterns.filter(([, pattern]) => pattern.test(text)).map(([name]) => name);
        const done = () => {
          const ms = performance.now() - started;
          counts.waitMs += ms;
          for (const name of names) counts.named[name]! += ms;
        };
        (result as Promise<unknown>).then(done, done);
      }
      return result;
    };
  }
  const counts = installed;
  const serverCpu = async (): Promise<number | null> => {
    if (backend !== 'postgres') return null;
    const pids = await sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database()`.execute(db);
    let ticks = 0;
    for (const { pid } of pids.rows) {
      try {
        // Fields 14 and 15 (utime, stime) after the command name in parentheses.
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // A backend that ended between the query and the read.
      }
    }
    return ticks * 10;
  };
  return {
    async read() {
      const serverCpuMs = await serverCpu();
      const cpu = process.cpuUsage();
      return { statements: counts.statements, waitMs: counts.waitMs, namedWaitMs: { ...counts.named }, cpuMs: (cpu.user + cpu.system) / 1000, serverCpuMs };
    },
    texts() {
      const t = counts.texts ?? [];
      counts.texts = counts.texts ? [] : null;
      return t;
    },
  };
}

/** What happened between two readings, per request. */
export function perRequest(before: MeterReading, after: MeterReading, requests: number) {
  const per = (a: number, b: number) => Number(((b - a) / requests).toFixed(2));
  return {
    statementsPerRequest: per(before.statements, after.statements),
    dbWaitMsPerRequest: per(before.waitMs, after.waitMs),
    cpuMsPerRequest: per(before.cpuMs, after.cpuMs),
    serverCpuMsPerRequest: before.serverCpuMs === null || after.serverCpuMs === null ? null : per(before.serverCpuMs, after.serverCpuMs),
    namedWaitMsPerRequest: Object.fromEntries(Object.keys(after.namedWaitMs).map((name) => [name, per(before.namedWaitMs[name] ?? 0, after.namedWaitMs[name]!)])),
  };
}
