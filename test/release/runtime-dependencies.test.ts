/**
 * An installed release has its `dependencies` and nothing else: every package
 * the server's code imports must be listed there, not in devDependencies.
 * (installed-package.test.ts proves it end to end, slowly; this names the culprit.)
 */
import assert from 'node:assert/strict';
import { globSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';

const repo = path.resolve(import.meta.dirname, '../..');
const manifest = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

test('every package the server imports at run time is a dependency, not a dev dependency', () => {
  const missing: string[] = [];
  for (const file of globSync('src/**/*.ts', { cwd: repo }).filter((f) => !f.endsWith('.test.ts'))) {
    const text = readFileSync(path.join(repo, file), 'utf8');
    // Static imports and re-exports (type-only ones are erased) and dynamic import('…').
    const specifiers = [...text.matchAll(/^(?:import|export)\s+(?!type\s)[^'"]*?from\s+'([^']+)'/gm), ...text.matchAll(/import\('([^']+)'\)/g)].map((m) => m[1]!);
    for (const specifier of specifiers) {
      if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
      const name = packageOf(specifier);
      if (!(name in manifest.dependencies)) missing.push(`${file}: ${name}`);
    }
  }
  assert.deepEqual(missing, []);
});
