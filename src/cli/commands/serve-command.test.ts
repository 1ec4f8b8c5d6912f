import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { consoleBuildState, ensureConsoleBuilt } from './serve-command.ts';

function webRoot(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'jml-web-'));
  mkdirSync(path.join(root, 'web', 'src'), { recursive: true });
  writeFileSync(path.join(root, 'web', 'index.html'), '<!doctype html>');
  writeFileSync(path.join(root, 'web', 'src', 'main.tsx'), 'export {};');
  return path.join(root, 'web');
}

function touch(file: string, secondsAgo: number): void {
  const at = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(file, at, at);
}

test('the console build is missing, fresh, or stale when a source is newer than the built index.html', () => {
  const web = webRoot();
  try {
    assert.equal(consoleBuildState(web), 'missing');
    mkdirSync(path.join(web, 'dist'));
    writeFileSync(path.join(web, 'dist', 'index.html'), '<!doctype html>');
    touch(path.join(web, 'src', 'main.tsx'), 100);
    touch(path.join(web, 'src'), 100);
    touch(path.join(web, 'index.html'), 100);
    assert.equal(consoleBuildState(web), 'fresh');
    touch(path.join(web, 'src', 'main.tsx'), 0);
    touch(path.join(web, 'dist', 'index.html'), 50);
    assert.equal(consoleBuildState(web), 'stale');
  } finally {
    rmSync(path.dirname(web), { recursive: true, force: true });
  }
});

test('without vite a missing console build serves the API only and says why', () => {
  const web = webRoot();
  const lines: string[] = [];
  try {
    assert.equal(ensureConsoleBuilt((l) => lines.push(l), web), null);
    assert.match(lines.join('\n'), /not built and vite is not installed/);
  } finally {
    rmSync(path.dirname(web), { recursive: true, force: true });
  }
});
