/**
 * A batch command's PostgreSQL backends run at the command's own CPU priority.
 * `jml import` and `jml plan` lower their process's priority (`batch_nice`),
 * but on a server on the same machine most of an import's CPU is spent by its
 * PostgreSQL backend, which kept the normal priority and competed with the
 * backends answering the console. Measured at 500 people-list requests a
 * second while an import of 100,000 rows ran: see docs/operations.md.
 *
 * Only where it can be done safely: the server answers on a loopback address
 * or a Unix socket, the backend's process id names a `postgres` process here,
 * and the operating system permits it (the same user as the server, or
 * root). Anywhere else this does nothing. It never raises a priority.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface QueryableClient {
  query(text: string): Promise<{ rows: Record<string, unknown>[] }>;
}

/** Whether `pid` is a PostgreSQL process on this machine (Linux: its command line, as the server sets it). */
function isLocalPostgres(pid: number): boolean {
  try {
    // `postgres: user db host(port) idle` as the server titles it, or the server's own path when titles are off.
    const program = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0]!.split(' ')[0]!;
    return path.basename(program).startsWith('postgres');
  } catch {
    return false;
  }
}

/**
 * Lowers the CPU priority of the server backend behind `client` to `nice`
 * when the server runs on this machine and may be reniced; returns the nice
 * value the backend now runs at, or null when it was left alone.
 * @example pool.on('connect', (client) => void lowerBackendPriority(client, os.getPriority()))
 */
export async function lowerBackendPriority(client: QueryableClient, nice: number): Promise<number | null> {
  if (nice <= 0) return null;
  const { rows } = await client.query('select pg_backend_pid() as pid, coalesce(host(inet_server_addr()), \'\') as address');
  const pid = Number(rows[0]?.pid);
  const address = String(rows[0]?.address ?? '');
  const loopback = address === '' || address === '::1' || address.startsWith('127.');
  if (!loopback || !Number.isInteger(pid) || !isLocalPostgres(pid)) return null;
  try {
    if (os.getPriority(pid) < nice) os.setPriority(pid, nice);
    return os.getPriority(pid);
  } catch {
    // Not permitted (another user's server) or already gone: the backend keeps its priority.
    return null;
  }
}
