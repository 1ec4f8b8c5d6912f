/**
 * The worked vendor mappings in examples/sources/<system>/: each system's
 * sample export, imported through the real import path (as `jml import` runs
 * it) into a fresh store, gives exactly the identities and lifecycle events its
 * expected.json lists, and `jml source check` finds no problem in it.
 *
 * expected.json is data written beside the sample, not derived from jml: every
 * identity after the last import (kind, status, dates, sponsor, owner, every
 * attribute) and, per import, the events, the keys taken as history (already
 * left when first seen) and the earlier-scheduled events that took effect.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { importSource } from '../../src/app/import-source.ts';
import { loadConfig } from '../../src/app/config.ts';
import type { Identity } from '../../src/domain/identity.ts';
import { suggestSourceMapping } from '../../src/sources/mapping-suggestion.ts';
import { listIdentities } from '../../src/store/identity-store.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { tempDir } from '../support/hr-files.ts';
import { runCli } from '../support/run-cli.ts';

const EXAMPLES = path.resolve(import.meta.dirname, '../../examples/sources');
const VENDORS = readdirSync(EXAMPLES)
  .filter((name) => existsSync(path.join(EXAMPLES, name, 'expected.json')))
  .sort();

interface ExpectedEvent {
  readonly type: string;
  readonly identity: string;
  readonly effective: string;
  /** Given for movers: exactly what changed. */
  readonly changes?: Readonly<Record<string, readonly [string | null, string | null]>>;
}

interface ExpectedImport {
  readonly file: string;
  readonly asOf: string;
  readonly events: readonly ExpectedEvent[];
  /** Keys first seen as already left: kept as history, no event. */
  readonly historical: readonly string[];
  /** Keys first seen as signed but not started, in the file's own words. */
  readonly pending: readonly string[];
  readonly effective: readonly ExpectedEvent[];
}

interface Expected {
  /** The source's name in the example's jml.config.yaml. */
  readonly source: string;
  readonly imports: readonly ExpectedImport[];
  readonly identities: Readonly<Record<string, Omit<Identity, 'key'>>>;
}

function readExpected(vendor: string): Expected {
  return JSON.parse(readFileSync(path.join(EXAMPLES, vendor, 'expected.json'), 'utf8')) as Expected;
}

const byTimeline = (a: ExpectedEvent, b: ExpectedEvent) =>
  a.identity.localeCompare(b.identity) || a.effective.localeCompare(b.effective) || a.type.localeCompare(b.type);

/** An identity as expected.json states it. An attribute without a value is the same as an absent one. */
function asExpected(identity: Identity): Omit<Identity, 'key'> {
  const { key: _key, attributes, ...rest } = identity;
  return { ...rest, attributes: Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== null && v !== undefined)) };
}

/** A real clock a few days after the as-of date, so effective dates are decided by the as-of alone. */
function clockAfter(asOf: string): Date {
  return new Date(Date.parse(`${asOf}T09:00:00Z`) + 4 * 86_400_000);
}

for (const backend of testBackends()) {
  describe(`vendor examples imported on ${backend.name}`, () => {
    for (const vendor of VENDORS) {
      test(`the ${vendor} example maps every field of every person and yields the expected lifecycle events`, async () => {
        const dir = path.join(EXAMPLES, vendor);
        const expected = readExpected(vendor);
        const config = await loadConfig({ configFile: path.join(dir, 'jml.config.yaml') }, {});
        const store: Store = await backend.open();
        try {
          for (const step of expected.imports) {
            const result = await importSource(
              { db: store.db, config },
              { source: expected.source, file: path.join(dir, step.file), asOf: step.asOf, actor: 'cli:test', now: clockAfter(step.asOf) },
            );
            const where = `${vendor}/${step.file}`;
            assert.deepEqual(result.errors, [], `${where}: no row errors`);
            assert.equal(result.status, 'applied', `${where}: ${result.heldReason ?? ''}`);
            assert.deepEqual(
              result.events.map((e) => ({ type: e.type, identity: e.identity, effective: e.effective, ...(e.type === 'mover' ? { changes: e.changes } : {}) })).sort(byTimeline),
              [...step.events].sort(byTimeline),
              `${where}: lifecycle events`,
            );
            assert.deepEqual(
              { historical: [...result.classified.historical].sort(), pending: [...result.classified.pending].sort() },
              { historical: step.historical, pending: step.pending },
              `${where}: keys the summary names as history (already left) and as pending (signed, not started)`,
            );
            assert.deepEqual(
              result.effective.map((e) => ({ type: e.type, identity: e.identity, effective: e.effective })).sort(byTimeline),
              [...step.effective].sort(byTimeline),
              `${where}: scheduled events that took effect`,
            );
          }
          const identities = await listIdentities(store.db, { limit: 10_000 });
          assert.deepEqual(identities.map((i) => i.key).sort(), Object.keys(expected.identities).sort(), `${vendor}: identity keys`);
          // One assertion over every identity that differs, so a failure lists them all.
          const actual = Object.fromEntries(identities.map((i) => [i.key, asExpected(i)]));
          const wanted = expected.identities;
          const differing = Object.keys(wanted).filter((key) => !isDeepStrictEqual(actual[key], wanted[key]));
          const pick = (from: Record<string, unknown>) => Object.fromEntries(differing.map((key) => [key, from[key]]));
          assert.deepEqual(pick(actual), pick(wanted), `${vendor}: identities ${differing.join(', ')}`);
        } finally {
          await store.close();
        }
      });
    }
  });
}

describe('jml source check on the vendor examples', () => {
  let data: string;
  before(() => {
    data = path.join(tempDir('jml-vendor-check-'), 'data');
  });

  for (const vendor of VENDORS) {
    test(`source check reports no problem in the ${vendor} export`, async () => {
      const dir = path.join(EXAMPLES, vendor);
      const expected = readExpected(vendor);
      const { source } = expected;
      const args = ['--config', path.join(dir, 'jml.config.yaml'), '--data', data, 'source', 'check', source, path.join(dir, 'export.csv'), '--as-of', expected.imports.at(-1)!.asOf];
      const run = await runCli(args);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /\b28 valid, 0 error\(s\)/);
    });
  }
});

test('docs/sources-vendors.md shows every example mapping exactly as the example holds it', () => {
  const docs = readFileSync(path.resolve(import.meta.dirname, '../../docs/sources-vendors.md'), 'utf8');
  for (const vendor of VENDORS) {
    const mapping = readFileSync(path.join(EXAMPLES, vendor, 'jml.config.yaml'), 'utf8').trimEnd();
    assert.ok(docs.includes(`\`\`\`yaml\n${mapping}\n\`\`\``), `docs/sources-vendors.md has the ${vendor} mapping as in examples/sources/${vendor}/jml.config.yaml`);
  }
});

describe('jml source suggest on the vendor examples', () => {
  for (const vendor of VENDORS) {
    test(`source suggest recognises the ${vendor} export, and only as that system, and points to its example`, () => {
      const draft = suggestSourceMapping(readFileSync(path.join(EXAMPLES, vendor, 'export.csv')), 'export.csv', 'hr', readExpected(vendor).source);
      assert.deepEqual(
        [...draft.matchAll(/# Looks like an? .+? export: see (examples\/sources\/[^/]+\/)/g)].map((m) => m[1]),
        [`examples/sources/${vendor}/`],
      );
    });
  }
});
