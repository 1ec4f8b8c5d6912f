/**
 * A machine-wide exclusive lock for peers that cannot share the machine (Samba
 * AD's ports are fixed), held across test processes: node's runner runs test
 * files in parallel processes. The lock is the kernel's flock(2), held by a
 * small `flock` child: it is released when we release it, and also when this
 * process dies however it dies (the child's stdin closes), so there is never a
 * stale lock to clean up.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { findBinary } from './peer-process.ts';

export interface PeerLock {
  /** Releases the lock; resolves once another process may take it. */
  release(): Promise<void>;
}

/**
 * Waits for the named machine-wide lock, up to `timeoutMs`.
 * @example
 * const lock = await acquirePeerLock('samba-ad', 600_000);
 * try { … } finally { await lock.release(); }
 */
export async function acquirePeerLock(name: string, timeoutMs: number): Promise<PeerLock> {
  const flock = findBinary('flock');
  if (!flock) throw new Error('flock (util-linux) is needed to serialise peers across test processes');
  const path = join(tmpdir(), `jml-peer-${name}-${process.getuid?.() ?? 0}.lock`);
  const owner = `${path}.owner`;
  // `read` returns when stdin closes: on release, or when this process exits.
  const child = spawn(flock, ['--exclusive', '--wait', String(Math.max(1, Math.ceil(timeoutMs / 1000))), path, 'sh', '-c', 'echo locked; read _'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let noticed = false;
  const notice = setTimeout(() => {
    // An empty owner file: the holder is letting go right now (or this timer ran late); nothing to report.
    if (!existsSync(owner) || readFileSync(owner, 'utf8').trim() === '') return;
    noticed = true;
    process.stderr.write(`# waiting for the ${name} lock, held by ${holder(owner)}\n`);
  }, 2000);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes('locked')) resolve();
      });
      child.once('error', reject);
      void exited.then((code) => reject(new Error(
        code === 1
          ? `gave up after ${Math.round(timeoutMs / 1000)} s waiting for the ${name} lock (${path}), held by ${holder(owner)}: another test process is still using ${name}; wait for it or stop it`
          : `flock exited with code ${code} while taking ${path}`,
      )));
    });
  } catch (error) {
    child.stdin.end();
    throw error;
  } finally {
    clearTimeout(notice);
  }
  if (noticed) process.stderr.write(`# took the ${name} lock\n`);
  // Holding the lock must not keep this process alive: when it exits, the pipe closes and the lock goes.
  child.unref();
  for (const pipe of [child.stdin, child.stdout]) (pipe as unknown as Socket).unref();
  writeFileSync(owner, `pid ${process.pid} (${process.argv.slice(1).join(' ')}) since ${new Date().toISOString()}\n`);
  return {
    async release() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      writeFileSync(owner, '');
      child.ref(); // wait for flock to let go, even if nothing else keeps this process alive
      child.stdin.end();
      await exited;
    },
  };
}

function holder(owner: string): string {
  const text = existsSync(owner) ? readFileSync(owner, 'utf8').trim() : '';
  return text || 'another process';
}
