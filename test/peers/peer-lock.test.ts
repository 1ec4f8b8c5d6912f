/**
 * The machine-wide peer lock across real processes, and Samba AD started by
 * two test processes at once: they take turns instead of colliding on its
 * fixed ports.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { acquirePeerLock } from './peer-lock.ts';
import { sambaAdSkipReason, startSambaAd } from './samba-ad.ts';

const HERE = import.meta.dirname;

/** Runs `body` (an ES module's text, with `acquirePeerLock` and `startSambaAd` imported) in a child node process. */
function child(body: string): { proc: ChildProcess; said: (word: string) => Promise<void> } {
  const code = `import { acquirePeerLock } from ${JSON.stringify(join(HERE, 'peer-lock.ts'))};
import { startSambaAd } from ${JSON.stringify(join(HERE, 'samba-ad.ts'))};
const say = (w) => process.stdout.write(w + '\\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
${body}`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let exited = false;
  const waiters = new Set<() => void>();
  const wake = () => { for (const w of waiters) w(); };
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); wake(); });
  proc.once('exit', () => { exited = true; wake(); });
  const said = (word: string) => new Promise<void>((resolve, reject) => {
    const check = () => {
      if (out.split('\n').includes(word)) resolve();
      else if (exited) reject(new Error(`child exited (${proc.exitCode}) before saying ${word}: ${out}`));
      else return;
      waiters.delete(check);
    };
    waiters.add(check);
    check();
  });
  return { proc, said };
}

describe('peer lock across processes', () => {
  const name = () => `test-${randomBytes(4).toString('hex')}`;

  test('a second process waits for the lock and takes it once the first releases it', async () => {
    const lockName = name();
    const holder = child(`const lock = await acquirePeerLock('${lockName}', 5000); say('held'); await sleep(1200); await lock.release(); say('released');`);
    await holder.said('held');
    const started = Date.now();
    const lock = await acquirePeerLock(lockName, 10_000);
    const waited = Date.now() - started;
    await holder.said('released');
    await lock.release();
    assert.ok(waited >= 800, `waited ${waited} ms for the holder`);
  });

  test('a holder that dies without releasing frees the lock', async () => {
    const lockName = name();
    const holder = child(`await acquirePeerLock('${lockName}', 5000); say('held'); await sleep(60_000);`);
    await holder.said('held');
    holder.proc.kill('SIGKILL');
    await once(holder.proc, 'exit');
    const lock = await acquirePeerLock(lockName, 5000);
    await lock.release();
  });

  test('waiting past the timeout fails with a message naming the holder', async () => {
    const lockName = name();
    const holder = child(`const lock = await acquirePeerLock('${lockName}', 5000); say('held'); await sleep(60_000);`);
    await holder.said('held');
    try {
      await assert.rejects(acquirePeerLock(lockName, 1000), new RegExp(`gave up after 1 s waiting for the ${lockName} lock .*held by pid ${holder.proc.pid} `));
    } finally {
      holder.proc.kill('SIGKILL');
    }
  });
});

describe('Samba AD in two test processes at once', { skip: sambaAdSkipReason() }, () => {
  test('the second start waits for the first DC to stop instead of failing on its ports', async () => {
    const first = child(`const ad = await startSambaAd(); say('up'); await sleep(1500); await ad.stop(); say('stopped');`);
    await first.said('up');
    const ad = await startSambaAd();
    try {
      await first.said('stopped');
      assert.equal(first.proc.exitCode === null || first.proc.exitCode === 0, true);
      assert.match(ad.url, /:389$/);
      await assert.rejects(startSambaAd(), /already runs a Samba AD DC/);
    } finally {
      await ad.stop();
    }
  });
});
