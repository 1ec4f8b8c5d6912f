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
 * loaded and nothing mixes objects of the two builds. That holds for the main
 * thread, where all of jml runs: hooks registered here do not reach a worker
 * thread, which would load the ES build. Kysely's CommonJS files name their
 * exports in a form Node reads as ES named exports; test/cli/kysely-commonjs.test.ts
 * checks that every export of the ES build is there and that `jml` loads only
 * the CommonJS build. Kysely 0.29 ships ES modules only: upgrading to it, delete
 * this file, its call in bin/jml.js and that test.
 */
export function loadKyselyAsCommonJs() {
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      if (!KYSELY.test(specifier)) return nextResolve(specifier, context);
      const conditions = (context.conditions ?? []).filter((condition) => condition !== 'import');
      return nextResolve(specifier, { ...context, conditions: conditions.includes('require') ? conditions : [...conditions, 'require'] });
    },
  });
}
