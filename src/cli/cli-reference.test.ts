import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cliReference } from './cli-reference.ts';

const DOC = path.join(import.meta.dirname, '../../docs/cli.md');

test('docs/cli.md is what the commands\' help says now (regenerate with npm run docs:cli)', () => {
  const expected = cliReference();
  const actual = readFileSync(DOC, 'utf8');
  if (actual === expected) return;
  const a = actual.split('\n');
  const e = expected.split('\n');
  const at = e.findIndex((line, i) => line !== a[i]);
  assert.fail(`docs/cli.md is stale from line ${at + 1}: it says ${JSON.stringify(a[at])}, the commands say ${JSON.stringify(e[at])}. Run: npm run docs:cli`);
});

test('the reference has a section with the help of every command, subcommands included', () => {
  const doc = cliReference();
  for (const command of ['jml plan', 'jml system test', 'jml policy check', 'jml secret set', 'jml audit verify']) {
    assert.match(doc, new RegExp(`^### ${command}\\n\\n\`\`\`text\\nUsage: ${command} `, 'm'));
  }
  assert.match(doc, /--at <date> +what-if: the plan as it will be on this date/);
  assert.match(doc, /^\| 13 \| `jml system test`: the base DN/m);
});
