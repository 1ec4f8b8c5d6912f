/**
 * What the peer harnesses share: finding binaries (skip or fail under
 * JML_REQUIRE_PEERS=1), free loopback ports, waiting for a listener, and
 * killing every peer's process group when the test process ends, however it ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer, connect } from 'node:net';

const SEARCH_PATH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(':')];

/** Absolute path of an executable, or null. */
export function findBinary(name: string): string | null {
  for (const dir of SEARCH_PATH) {
    const path = `${dir}/${name}`;
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * For `test(name, { skip: peerSkipReason(...) })`: a clear message when a peer's
 * binaries (or root) are missing, false when it can run. Under
 * JML_REQUIRE_PEERS=1 (CI) a missing peer throws, so the test fails instead.
 */
export function peerSkipReason(peer: string, binaries: readonly string[], needsRoot = false): string | false {
  const missing = binaries.filter((b) => findBinary(b) === null);
  const problems = [
    ...(missing.length > 0 ? [`missing ${missing.join(', ')} (run test/peers/install-debian.sh as root)`] : []),
    ...(needsRoot && process.getuid?.() !== 0 ? ['needs root'] : []),
  ];
  return skipUnlessPeer(peer, problems.length === 0 ? false : problems.join('; '));
}

/**
 * The one place a peer-dependent test decides to skip: `missing` says what is
 * absent (false when nothing is). Under JML_REQUIRE_PEERS=1 (CI) a missing
 * peer throws, so the test fails instead of skipping silently.
 * @example
 * describe('crash safety', { skip: postgresSkipReason() }, () => { ... });
 */
export function skipUnlessPeer(peer: string, missing: string | false): string | false {
  if (missing === false) return false;
  const message = `${peer} peer unavailable: ${missing}`;
  if (process.env.JML_REQUIRE_PEERS === '1') throw new Error(`${message} — JML_REQUIRE_PEERS=1 requires it`);
  return message;
}

/** For tests that need the PostgreSQL server named by JML_TEST_DATABASE_URL (several processes on one database). */
export function postgresSkipReason(): string | false {
  return skipUnlessPeer('PostgreSQL', process.env.JML_TEST_DATABASE_URL ? false : 'JML_TEST_DATABASE_URL is not set');
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`peer exited with code ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const running = new Set<number>();
let hooked = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const pid of running) killGroup(pid, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const pid of running) killGroup(pid, 'SIGKILL');
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

export interface PeerProcess {
  readonly child: ChildProcess;
  /** Last lines the peer wrote, for error messages. */
  output(): string;
  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a peer daemon in its own process group, remembered for killing on exit. */
export function spawnPeer(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): PeerProcess {
  hookExit();
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  let tail = '';
  const keep = (chunk: Buffer) => { tail = (tail + chunk.toString('utf8')).slice(-4000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}`);
  running.add(pid);
  const exited = new Promise<void>((resolve) => child.once('exit', () => { running.delete(pid); resolve(); }));
  return {
    child,
    output: () => tail,
    stop: async (graceMs = 3000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // Children that outlived the leader (prefork workers) go too.
      killGroup(pid, 'SIGKILL');
    },
  };
}
