// How jml's own process loads its dependencies (bin/jml.js registers this before
// anything imports them).
import module from 'node:module';

/** `kysely` and its subpaths (`kysely/helpers/postgres`). */
const KYSELY = /^kysely(\/|$)/;

/**
 * Makes every `import … from 'kysely'` of this process load Kysely's CommonJS
 * build instead of its ES modules: the same code compiled from the same source
 * (262 files either way), but Node's ES module loader resolves, reads and links
 * each file on its own. Importing Kysely alone took 150-200 ms as ES modules and
 * 75-95 ms as CommonJS (compile cache on). Measured as whole commands on the
 * PGlite demo, pairs of runs interleaved (medians of the pairs' ratios): `jml
 * identity KEY` 0.94 and 0.96 of the wall time before (15 and 21 pairs), `jml
 * identities --limit 20` 0.98 (31 pairs); 20-60 ms of a ~1 s command. Zod's
 * CommonJS build measured no faster than its ES modules and is left alone.
 *
 * Every import of Kysely in the process is redirected, so one copy of it is
 * loaded (nothing mixes objects of the two builds). Kysely's CommonJS files name
 * their exports in a form Node reads as ES named exports; a test checks that
 * every export of the ES build is there (test/cli/kysely-commonjs.test.ts). A
 * Node.js without `module.registerHooks` loads the ES build as before.
 */
export function loadKyselyAsCommonJs() {
  module.registerHooks?.({
    resolve(specifier, context, nextResolve) {
      if (!KYSELY.test(specifier)) return nextResolve(specifier, context);
      const conditions = [...(context.conditions ?? []).filter((condition) => condition !== 'import'), 'require'];
      return nextResolve(specifier, { ...context, conditions });
    },
  });
}
