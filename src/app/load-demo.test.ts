import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { testBackends } from '../../test/support/backends.ts';
import { tempDir, testConfig } from '../../test/support/hr-files.ts';
import { loadPolicy } from '../policy/index.ts';
import { createPlanner } from './compute-plan.ts';
import { loadDemo } from './load-demo.ts';

const backend = testBackends()[0]!;

test('the demo loads every kind of identity through the real import, once, and the shipped policy plans for it', async () => {
  const store = await backend.open();
  try {
    const config = { ...testConfig({ timezone: 'Europe/Berlin' }), data_dir: tempDir(), policy_dir: path.resolve(import.meta.dirname, '../../policy') };
    const now = new Date('2026-11-22T09:00:00Z');
    const first = await loadDemo({ db: store.db, config }, { actor: 'demo', now });
    assert.equal(first.loaded, true);
    assert.deepEqual(first.imports.map((r) => r.status), ['applied', 'applied', 'applied']);
    const kinds = new Set((await store.db.selectFrom('identities').select('kind').execute()).map((r) => r.kind));
    assert.deepEqual([...kinds].sort(), ['ai_agent', 'contractor', 'employee', 'integration', 'service_account']);
    const statuses = new Set((await store.db.selectFrom('identities').select('status').execute()).map((r) => r.status));
    for (const s of ['active', 'pending', 'left']) assert.ok(statuses.has(s), `the demo has ${s} identities`);
    const nhiWithoutOwner = await store.db.selectFrom('identities').select('key').where('kind', 'in', ['service_account', 'integration', 'ai_agent']).where('owner', 'is', null).execute();
    assert.deepEqual(nhiWithoutOwner, []);

    const equipment = await store.db.selectFrom('assets').select(['kind', 'holder_key']).where('status', '=', 'assigned').execute();
    assert.deepEqual([...new Set(equipment.map((a) => a.kind))].sort(), ['laptop', 'phone', 'token'], 'the demo shows equipment per person');
    assert.ok(equipment.filter((a) => a.kind === 'laptop').length > 200);

    const again = await loadDemo({ db: store.db, config }, { actor: 'demo', now });
    assert.equal(again.loaded, false);

    await loadPolicy(config.policy_dir);
    const { plan } = await createPlanner({ db: store.db, config, actor: 'demo', now: () => now }).compute();
    assert.ok(plan.changes.some((c) => c.kind === 'create_account' && c.system === 'directory'));
    assert.ok(plan.changes.every((c) => c.reason.length > 0));
  } finally {
    await store.close();
  }
});
