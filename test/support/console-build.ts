/**
 * Builds the web console (web/dist) if its sources changed, one test process
 * at a time. Test files run in parallel and each `jml serve` they start builds
 * a missing or stale console itself; two vite builds emptying the same
 * web/dist break each other's servers (a page with no sign-in form). Every
 * test that starts `jml serve` from this checkout calls this first, so the
 * servers find the build fresh and build nothing.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { ensureConsoleBuilt } from '../../src/cli/commands/serve-command.ts';
import { acquirePeerLock } from '../peers/peer-lock.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Resolves once web/dist is fresh (or the build failed, which the server then reports). */
export async function buildConsoleOnce(): Promise<void> {
  const lock = await acquirePeerLock(`web-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}`, 300_000);
  try {
    ensureConsoleBuilt((line) => process.stderr.write(`${line}\n`), path.join(ROOT, 'web'));
  } finally {
    await lock.release();
  }
}
