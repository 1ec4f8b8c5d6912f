/**
 * docs/api.md against the server's own OpenAPI document: every route the
 * guide names (in prose or in a curl command) exists with that method, and
 * every query parameter it passes is one the route takes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { testBackends } from '../support/backends.ts';
import { seedOrganisation, startApi } from '../api/api-fixture.ts';
import type { Store } from '../../src/store/open-store.ts';

const GUIDE = readFileSync(join(import.meta.dirname, '../../docs/api.md'), 'utf8');
/** Served beside the API, not part of it. */
const OUTSIDE_OPENAPI = new Set(['GET /api/openapi.json']);

interface Mention {
  readonly method: string;
  readonly path: string;
  readonly query: readonly string[];
}

/** `GET /api/x` in prose, and the method and URL of each curl command. */
function mentions(markdown: string): Mention[] {
  const out: Mention[] = [];
  for (const m of markdown.matchAll(/`(GET|POST|PATCH|DELETE) (\/api\/[^`\s]*)`/g)) out.push({ method: m[1]!, path: m[2]!, query: [] });
  for (const command of markdown.split('\n').filter((line) => /^\s*(?:jq .*\|\s*)?curl /.test(line) || /\|\s*curl /.test(line) || /^\s*-d /.test(line))) {
    const url = /\$JML(\/api\/[^\s"']*)/.exec(command)?.[1];
    if (!url) continue;
    const [path, query = ''] = url.split('?');
    const method = /-X (\w+)/.exec(command)?.[1] ?? (/ -d /.test(command) ? 'POST' : 'GET');
    out.push({ method, path: path!, query: query ? query.split('&').map((p) => p.split('=')[0]!) : [] });
  }
  return out;
}

/** A concrete path (`/api/plans/$PLAN/apply`, `/api/approvals/<id>/decision`) matches a template (`/api/plans/{id}/apply`). */
function matches(template: string, path: string): boolean {
  const t = template.split('/');
  const p = path.split('/');
  return t.length === p.length && t.every((seg, i) => seg === p[i] || /^\{.+\}$/.test(seg));
}

describe('docs/api.md', () => {
  let store: Store;
  let paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
  before(async () => {
    store = await testBackends()[0]!.open();
    await seedOrganisation(store);
    const { app } = await startApi(store);
    paths = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json().paths;
    await app.close();
  });
  after(async () => store?.close());

  test('every route the guide names exists with that method, taking the query parameters it is given', () => {
    const found = mentions(GUIDE);
    assert.ok(found.length >= 20, `the guide was read (${found.length} routes)`);
    const problems: string[] = [];
    for (const m of found) {
      if (OUTSIDE_OPENAPI.has(`${m.method} ${m.path}`)) continue;
      const template = Object.keys(paths).find((t) => matches(t, m.path));
      const operation = template ? paths[template]![m.method.toLowerCase()] : undefined;
      if (!operation) {
        problems.push(`${m.method} ${m.path}: no such route`);
        continue;
      }
      const known = new Set((operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name));
      for (const q of m.query) if (!known.has(q)) problems.push(`${m.method} ${m.path}: no query parameter ${q}`);
    }
    assert.deepEqual(problems, []);
  });
});
