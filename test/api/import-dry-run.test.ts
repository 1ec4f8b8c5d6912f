/**
 * A dry run through the API stores nothing, even when the mass-change guard
 * would hold the import: the answer says "dry run, would be held" and carries
 * no id that could later be released (and 404).
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
import { testBackends } from '../support/backends.ts';
import { tempDir, testConfig } from '../support/hr-files.ts';
import { PASSWORD, PASSWORD_ONLY, signIn } from './api-fixture.ts';

for (const backend of testBackends()) {
  test(`a dry-run import that trips the mass-change guard is reported as "would be held", with no id and no held record (${backend.name})`, async () => {
    const store = await backend.open();
    const dataDir = tempDir();
    const config = { ...testConfig({ timezone: 'Europe/Berlin' }), data_dir: dataDir, policy_dir: path.resolve(import.meta.dirname, '../../policy') };
    const now = () => new Date();
    const app = await buildApiServer({ db: store.db, backend: store.backend, now, systemsOwnedBy: () => [], services: createConsoleServices({ db: store.db, backend: store.backend, config, now }), metrics: createApiMetrics(), webDir: null, oidc: null, mfa: PASSWORD_ONLY, signInLimit: 1000 });
    try {
      await loadDemo({ db: store.db, config }, { actor: 'demo' });
      await createUser(store.db, { username: 'root', password: PASSWORD, roles: ['admin'] }, 'test');
      const session = await signIn(app, 'root');
      const headers = { cookie: session.cookie, 'x-csrf-token': session.csrf };
      const importsBefore = await store.db.selectFrom('imports').select('id').execute();

      const hr = readFileSync(path.join(dataDir, 'demo', 'hr.csv'), 'utf8').split('\n');
      const truncated = `${hr.slice(0, 12).join('\n')}\n`;
      const res = await app.inject({ method: 'POST', url: '/api/imports', headers, payload: { source: 'hr', fileName: 'hr-truncated.csv', content: truncated, dryRun: true } });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as Record<string, unknown>;
      assert.equal(body.dryRun, true);
      assert.equal(body.status, 'dry_run');
      assert.equal(body.id, null, 'a dry run has nothing to come back to');
      assert.equal(body.held, false, 'nothing is held');
      assert.equal(body.wouldBeHeld, true);
      assert.match(body.message as string, /^dry run, would be held: /);

      assert.deepEqual(await store.db.selectFrom('imports').select('id').execute(), importsBefore, 'no import record was written');
      assert.deepEqual(await store.db.selectFrom('held_import_files').select('import_id').execute(), []);
      const audit = await store.db.selectFrom('audit_log').select('action').where('action', '=', 'import.held').execute();
      assert.deepEqual(audit, [], 'no hold was audited');

      const real = await app.inject({ method: 'POST', url: '/api/imports', headers, payload: { source: 'hr', fileName: 'hr-truncated.csv', content: truncated, dryRun: false } });
      const held = real.json() as Record<string, unknown>;
      assert.equal(held.held, true, real.body);
      assert.equal(held.wouldBeHeld, false);
      assert.equal(typeof held.id, 'string', 'a real hold has an id to release');
    } finally {
      await app.close();
      await store.close();
    }
  });
}
