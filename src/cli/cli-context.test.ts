import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Command } from 'commander';
import { sql } from 'kysely';
import { createCliContext, printJsonPaced, writeJsonFile, type CliContext } from './cli-context.ts';

/** A reader that takes a chunk every few milliseconds, as a pipe into a slower process does. */
function slowReader(): { stream: Writable; text: () => string; mostQueued: () => number } {
  const chunks: Buffer[] = [];
  let mostQueued = 0;
  const stream = new Writable({
    highWaterMark: 16_384,
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      setTimeout(done, 2);
    },
  });
  const write = stream.write.bind(stream);
  stream.write = ((chunk: string) => {
    const ok = write(chunk);
    mostQueued = Math.max(mostQueued, stream.writableLength);
    return ok;
  }) as typeof stream.write;
  return { stream, text: () => Buffer.concat(chunks).toString('utf8'), mostQueued: () => mostQueued };
}

test('a large --json document waits for its reader: at most a chunk or two is queued, and the text is JSON.stringify(value, null, 2)', async () => {
  const events = Array.from({ length: 20_000 }, (_, i) => ({ type: 'joiner', key: `E${i}`, changes: { department: [null, 'Sales'], title: [null, 'Engineer'] } }));
  const value = { status: 'applied', events, counts: { joiners: events.length } };
  const reader = slowReader();
  const ctx = { stdout: reader.stream } as unknown as CliContext;
  await printJsonPaced(ctx, value);
  await new Promise<void>((resolve) => reader.stream.end(resolve));
  assert.equal(reader.text(), `${JSON.stringify(value, null, 2)}\n`);
  const documentBytes = reader.text().length;
  assert.ok(documentBytes > 2_000_000, `the document is large (${documentBytes} bytes)`);
  assert.ok(reader.mostQueued() < 200_000, `at most ${reader.mostQueued()} bytes waited for the reader`);
});

test('a JSON file is written as JSON.stringify(value, null, 2) and a newline; a file that cannot be created fails the write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jml-json-file-'));
  try {
    const changes = Array.from({ length: 5_000 }, (_, i) => ({ id: `c${i}`, kind: 'add_grant', dependsOn: [], reason: 'rule "everyone"' }));
    const value = { format: 1, scope: {}, plan: { id: 'p', changes } };
    await writeJsonFile(join(dir, 'plan.json'), value);
    assert.equal(readFileSync(join(dir, 'plan.json'), 'utf8'), `${JSON.stringify(value, null, 2)}\n`);
    await assert.rejects(writeJsonFile(join(dir, 'missing', 'plan.json'), value), { code: 'ENOENT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a one-shot command opens PGlite with 2 MB of shared buffers; a bulk command such as audit keeps 32 MB', { skip: process.env.DATABASE_URL ? 'DATABASE_URL is set: the store would be PostgreSQL' : false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jml-brief-store-'));
  try {
    const program = new Command('jml').option('--data <dir>').exitOverride();
    const ctx = createCliContext(program);
    const sharedBuffers: Record<string, string> = {};
    for (const name of ['identities', 'audit']) {
      program.command(name).action(async () => {
        sharedBuffers[name] = await ctx.withStore(async (store) => (await sql<{ shared_buffers: string }>`show shared_buffers`.execute(store.db)).rows[0]!.shared_buffers);
      });
    }
    for (const name of ['identities', 'audit']) await program.parseAsync(['--data', join(dir, 'data'), name], { from: 'user' });
    assert.deepEqual(sharedBuffers, { identities: '2MB', audit: '32MB' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a JSON document of letters beyond ASCII, around chunk boundaries and in a string longer than a chunk, is written byte for byte', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jml-json-file-'));
  try {
    const names = Array.from({ length: 30_000 }, (_, i) => `Zoë ${i} 😀 ～ ${'é'.repeat(i % 7)}`);
    const value = { names, note: `${'ß😀'.repeat(40_000)}`, lone: '\ud800' };
    await writeJsonFile(join(dir, 'doc.json'), value);
    assert.ok(readFileSync(join(dir, 'doc.json')).equals(Buffer.from(`${JSON.stringify(value, null, 2)}\n`)));
    const reader = slowReader();
    await printJsonPaced({ stdout: reader.stream } as unknown as CliContext, value);
    await new Promise<void>((resolve) => reader.stream.end(resolve));
    assert.equal(reader.text(), `${JSON.stringify(value, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
