/**
 * bin/jml.js loads Kysely's CommonJS build (bin/module-hooks.js): every name the
 * code imports from it must be there as an ES named export, and every import of
 * Kysely in that process must land on the one build.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const HOOKS = path.join(import.meta.dirname, '../../bin/module-hooks.js');
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

test('with the hooks registered, every import of Kysely resolves to its CommonJS build, which builds queries', () => {
  // Beside this test, so `kysely` resolves from this project's node_modules.
  const script = path.join(import.meta.dirname, `.kysely-cjs-probe-${process.pid}.mjs`);
  writeFileSync(
    script,
    [
      `import { loadKyselyAsCommonJs } from ${JSON.stringify(pathToFileURL(HOOKS).href)};`,
      'loadKyselyAsCommonJs();',
      "const { Kysely, PostgresDialect } = await import('kysely');",
      "const { jsonArrayFrom } = await import('kysely/helpers/postgres');",
      // Compiling needs no connection: the pool is never asked for one.
      'const db = new Kysely({ dialect: new PostgresDialect({ pool: {} }) });',
      "const query = db.selectFrom('identities').select((eb) => ['key', jsonArrayFrom(eb.selectFrom('tasks').select('id').whereRef('tasks.identity_key', '=', 'identities.key')).as('tasks')]).where('key', '=', 'E1').compile();",
      "console.log(JSON.stringify({ kysely: import.meta.resolve('kysely'), helpers: import.meta.resolve('kysely/helpers/postgres'), sql: query.sql, parameters: query.parameters }));",
    ].join('\n'),
  );
  try {
    const run = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '', 'nothing printed on standard error (no warning)');
    const out = JSON.parse(run.stdout) as { kysely: string; helpers: string; sql: string; parameters: unknown[] };
    assert.match(out.kysely, /\/kysely\/dist\/cjs\/index\.js$/);
    assert.match(out.helpers, /\/kysely\/dist\/cjs\/helpers\/postgres\.js$/);
    assert.match(out.sql, /^select "key", \(select coalesce\(json_agg\(agg\), '\[\]'\) from \(select "id" from "tasks" where "tasks"\."identity_key" = "identities"\."key"\) as agg\) as "tasks" from "identities" where "key" = \$1$/);
    assert.deepEqual(out.parameters, ['E1']);
  } finally {
    rmSync(script, { force: true });
  }
});
