/**
 * docs/sources.md cannot drift from the schema: every option, mapping key and
 * enumerated value the schema accepts must be documented there (in `code`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DATE_FIELDS, DEFAULT_STATUS_MAP, REFERENCE_FIELDS, sourceConfigSchema } from './source-config.ts';

const DOCS = readFileSync(new URL('../../docs/sources.md', import.meta.url), 'utf8');

/** Property names and enum values anywhere in a JSON Schema. */
function schemaWords(node: unknown, words = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) schemaWords(item, words);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'properties' && value && typeof value === 'object') for (const name of Object.keys(value)) words.add(name);
      if (key === 'enum' && Array.isArray(value)) for (const v of value) words.add(String(v));
      if (key === 'const' && typeof value !== 'object') words.add(String(value));
      schemaWords(value, words);
    }
  }
  return words;
}

const documented = (word: string): boolean => DOCS.includes(`\`${word}\``) || DOCS.includes(`\`${word}:`);

test('every option and value the source schema accepts is documented in docs/sources.md', () => {
  const words = schemaWords(z.toJSONSchema(sourceConfigSchema, { io: 'input', unrepresentable: 'any' }));
  assert.ok(words.has('first_of') && words.has('not_in') && words.has('display_name') && words.has('access_ends'), 'the walk reaches nested mappings and conditions');
  const missing = [...words].filter((w) => !documented(w));
  assert.deepEqual(missing, [], `not documented in docs/sources.md: ${missing.join(', ')}`);
});

test('every status word understood by default, every status and every date and reference field is documented', () => {
  const words = [...Object.keys(DEFAULT_STATUS_MAP), 'active', 'pending', 'suspended', 'terminated', 'from_dates', ...DATE_FIELDS, ...REFERENCE_FIELDS];
  const missing = words.filter((w) => !documented(w));
  assert.deepEqual(missing, [], `not documented in docs/sources.md: ${missing.join(', ')}`);
});
