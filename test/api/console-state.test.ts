/**
 * The console keeps no state in process memory: a plan previewed on one API
 * instance is approved and applied on another (a restart, or a second instance
 * behind a load balancer), and an import held on one is released on another.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildApiServer } from '../../src/api/api-server.ts';
import { createApiMetrics } from '../../src/api/api-metrics.ts';
import { createUser } from '../../src/api/auth/user-store.ts';
import { createConsoleServices } from '../../src/api/console-services.ts';
import { loadDemo } from '../../src/app/load-demo.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { tempDir, testConfig } from '../support/hr-files.ts';
import { PASSWORD, PASSWORD_ONLY, signIn } from './api-fixture.ts';

async function instance(store: Store, config: ReturnType<typeof testConfig>) {
  const now = () => new Date();
  const app = await buildApiServer({ db: store.db, backend: store.backend, now, systemsOwnedBy: () => [], services: createConsoleServices({ db: store.db, backend: store.backend, config, now }), metrics: createApiMetrics(), webDir: null, oidc: null, mfa: PASSWORD_ONLY, signInLimit: 1000 });
  const session = await signIn(app, 'root');
  const call = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await app.inject({ method, url, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf }, ...(payload !== undefined ? { payload: payload as object } : {}) });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> & { items?: Record<string, unknown>[] } };
  };
  return { app, call };
}

for (const backend of testBackends()) {
  test(`a plan previewed on one instance is approved and applied on another, and a held import is released there (${backend.name})`, async () => {
    const store = await backend.open();
    const dataDir = tempDir();
    const config = { ...testConfig({ timezone: 'Europe/Berlin' }), data_dir: dataDir, policy_dir: path.resolve(import.meta.dirname, '../../policy') };
    try {
      await loadDemo({ db: store.db, config }, { actor: 'demo' });
      await createUser(store.db, { username: 'root', password: PASSWORD, roles: ['admin'] }, 'test');
      const a = await instance(store, config);
      const b = await instance(store, config);

      const preview = await a.call('POST', '/api/plans', { identityKeys: ['E1002'] });
      assert.equal(preview.status, 201);
      assert.equal(preview.body.status, 'awaiting_approval');
      const id = preview.body.id as string;
      await a.app.close();

      const listed = await b.call('GET', '/api/plans?status=awaiting_approval');
      assert.deepEqual(listed.body.items!.map((p) => p.id), [id]);
      assert.equal((await b.call('POST', `/api/plans/${id}/apply`)).status, 409, 'an unapproved plan is not applied');
      assert.equal((await b.call('POST', `/api/plans/${id}/approve`)).body.status, 'approved');
      assert.equal((await b.call('POST', `/api/plans/${id}/approve`)).status, 409, 'a plan is approved once');
      const accepted = await b.call('POST', `/api/plans/${id}/apply`);
      assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
      assert.equal(accepted.body.status, 'applying', 'the console answers at once; the queue does the work');
      let progress = await b.call('GET', `/api/plans/${id}/progress`);
      for (let i = 0; i < 300 && (progress.body.active as number) > 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        progress = await b.call('GET', `/api/plans/${id}/progress`);
      }
      assert.equal(progress.status, 200, JSON.stringify(progress.body));
      assert.equal(progress.body.active, 0, JSON.stringify(progress.body));
      assert.equal(progress.body.settled as number + ((progress.body.counts as Record<string, number>).pending ?? 0) + ((progress.body.counts as Record<string, number>).waiting ?? 0), progress.body.total);
      const applied = await b.call('GET', `/api/plans/${id}`);
      const changes = applied.body.changes as { state: string }[];
      assert.ok(changes.length > 0 && changes.every((c) => c.state !== 'planned'), 'change states come from what apply recorded');

      const hr = readFileSync(path.join(dataDir, 'demo', 'hr.csv'), 'utf8').split('\n');
      const few = `${hr.slice(0, 12).join('\n')}\n`;
      const c = await instance(store, config);
      const held = await c.call('POST', '/api/imports', { source: 'hr', fileName: 'hr-truncated.csv', content: few, dryRun: false });
      assert.equal(held.body.held, true, JSON.stringify(held.body));
      await c.app.close();
      const released = await b.call('POST', `/api/imports/${held.body.id as string}/release`);
      assert.equal(released.status, 200, JSON.stringify(released.body));
      assert.equal(released.body.status, 'applied');
      assert.ok((released.body.events as { type: string }[]).some((e) => e.type === 'leaver'));
      assert.equal((await b.call('POST', `/api/imports/${held.body.id as string}/release`)).status, 404, 'a hold is released once');
      await b.app.close();
    } finally {
      await store.close();
    }
  });
}
