/**
 * bin/jml.js loads Kysely's CommonJS build (bin/module-hooks.js): every name the
 * code imports from it must be there as an ES named export, the build must
 * write the same SQL, and `jml` must load that build alone.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Database } from '../../src/store/database.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);

for (const specifier of ['kysely', 'kysely/helpers/postgres']) {
  test(`every export of ${specifier}'s ES modules is an ES named export of its CommonJS build`, async () => {
    // This test's own process has no hooks: the specifier resolves to the ES build here, to the CommonJS one through require.
    const esm = import.meta.resolve(specifier);
    const cjs = pathToFileURL(require.resolve(specifier)).href;
    assert.match(esm, /\/dist\/esm\//);
    assert.match(cjs, /\/dist\/cjs\//);
    const esmNames = Object.keys(await import(esm)).sort();
    const cjsNames = new Set(Object.keys(await import(cjs)));
    assert.ok(esmNames.length > 0);
    assert.deepEqual(esmNames.filter((name) => !cjsNames.has(name)), []);
  });
}

type Build = (db: Kysely<Database>, helper: typeof jsonArrayFrom) => CompiledQuery;

/** A query using a helper, compiled without a connection (the pool is never asked for one); its text is run by the probe too. */
const build: Build = (db, helper) =>
  db
    .selectFrom('identities')
    .select((eb) => ['key', helper(eb.selectFrom('tasks').select('id').whereRef('tasks.identity_key', '=', 'identities.key')).as('tasks')])
    .where('key', '=', 'E1')
    .compile();

test('with the hooks registered, Kysely resolves to its CommonJS build, which writes the same SQL as the ES build', () => {
  const probe = [
    "import { loadKyselyAsCommonJs } from './bin/module-hooks.js';",
    'loadKyselyAsCommonJs();',
    "const { Kysely, PostgresDialect } = await import('kysely');",
    "const { jsonArrayFrom } = await import('kysely/helpers/postgres');",
    `const query = (${build.toString()})(new Kysely({ dialect: new PostgresDialect({ pool: {} }) }), jsonArrayFrom);`,
    "console.log(JSON.stringify({ kysely: import.meta.resolve('kysely'), helpers: import.meta.resolve('kysely/helpers/postgres'), sql: query.sql, parameters: query.parameters }));",
  ].join('\n');
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, '', 'nothing printed on standard error (no warning)');
  const out = JSON.parse(run.stdout) as { kysely: string; helpers: string; sql: string; parameters: unknown[] };
  assert.match(out.kysely, /\/kysely\/dist\/cjs\/index\.js$/);
  assert.match(out.helpers, /\/kysely\/dist\/cjs\/helpers\/postgres\.js$/);
  // The same query through this process's ES build.
  const esm = build(new Kysely<Database>({ dialect: new PostgresDialect({ pool: {} as never }) }), jsonArrayFrom);
  assert.match(esm.sql, /json_agg/);
  assert.deepEqual({ sql: out.sql, parameters: out.parameters }, { sql: esm.sql, parameters: [...esm.parameters] });
});

test('jml (bin/jml.js) loads Kysely from its CommonJS build alone', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jml-kysely-load-'));
  try {
    // Records every file of Kysely the process loads, from either build.
    const recorder = path.join(dir, 'record.mjs');
    const loaded = path.join(dir, 'loaded.txt');
    writeFileSync(loaded, '');
    writeFileSync(
      recorder,
      `import { registerHooks } from 'node:module';\nimport { appendFileSync } from 'node:fs';\n` +
        `registerHooks({ load(url, context, next) { if (url.includes('/kysely/dist/')) appendFileSync(${JSON.stringify(loaded)}, url + '\\n'); return next(url, context); } });\n`,
    );
    // A command that opens the store loads the store's modules first; a data directory under a file cannot be made, so it stops there.
    const file = path.join(dir, 'a-file');
    writeFileSync(file, '');
    const run = spawnSync(process.execPath, [path.join(ROOT, 'bin/jml.js'), 'identity', 'E1', '--data', path.join(file, 'data')], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: `--import=${pathToFileURL(recorder).href}` },
    });
    assert.notEqual(run.status, 0, 'no data directory could be made');
    const urls = readFileSync(loaded, 'utf8').split('\n').filter(Boolean);
    assert.ok(urls.some((url) => url.endsWith('/kysely/dist/cjs/index.js')), `Kysely's CommonJS build is loaded: ${run.stderr}`);
    assert.deepEqual(urls.filter((url) => !url.includes('/kysely/dist/cjs/')), [], 'nothing of the ES build');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
