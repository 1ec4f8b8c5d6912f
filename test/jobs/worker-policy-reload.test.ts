/**
 * A running worker takes over a policy changed on disk at its next tick, new
 * systems' connectors included, audited as a policy version load; a policy
 * that no longer loads leaves the last good one in force.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { requestReplan } from '../../src/jobs/schedules.ts';
import { startWorkerRuntime } from '../../src/jobs/worker-runtime.ts';
import { loadPolicy } from '../../src/policy/index.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { person, seedIdentities, writePolicyDir } from '../support/jml-fixture.ts';

const system = (name: string) => `  - name: ${name}
    connector: { type: simulated }
    owner: E1
    enforcement: full
    correlation: { account: identity_key, identity: key }
`;
const ONE_SYSTEM = {
  'systems.yaml': `systems:\n${system('apps')}`,
  'entitlements.yaml': 'entitlements:\n  - { system: apps, name: users }\n',
  'rules.yaml': 'rules:\n  - { name: everyone, when: { kind: [employee] }, grant: { entitlements: ["apps:users"] } }\n',
};
const TWO_SYSTEMS = {
  'systems.yaml': `systems:\n${system('apps')}${system('notes')}`,
  'entitlements.yaml': 'entitlements:\n  - { system: apps, name: users }\n  - { system: notes, name: users }\n',
  'rules.yaml': 'rules:\n  - { name: everyone, when: { kind: [employee] }, grant: { entitlements: ["apps:users", "notes:users"] } }\n',
};

async function accounts(store: Store, system: string): Promise<string[]> {
  const rows = await store.db.selectFrom('sim_accounts').select('identity_key').where('system', '=', system).orderBy('identity_key').execute();
  return rows.map((r) => r.identity_key!);
}

async function until(probe: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const backend of testBackends()) {
  describe(`worker policy reload (${backend.name})`, () => {
    test('a worker takes over a changed policy at its next replan, keeps the last good one while the directory does not load, and audits the new version', { timeout: 120_000 }, async () => {
      const store = await backend.open();
      const dir = writePolicyDir(ONE_SYSTEM);
      await seedIdentities(store.db, [person('E1')]);
      const workers = await startWorkerRuntime({ store, config: { policy_dir: dir, timezone: 'UTC' }, actor: 'test-worker', options: { schedules: false, pollingIntervalSeconds: 0.5 } });
      try {
        await requestReplan(workers.boss, undefined, 'test');
        await until(async () => (await accounts(store, 'apps')).includes('E1'));

        writeFileSync(join(dir, 'rules.yaml'), 'rules:\n  - { name: everyone, when: { kind: [employee] }, grant: { entitlements: ["nowhere:users"] } }\n');
        await seedIdentities(store.db, [person('E2')]);
        await requestReplan(workers.boss, ['E2'], 'test');
        await until(async () => (await accounts(store, 'apps')).includes('E2'));

        writePolicyDir(TWO_SYSTEMS, dir);
        await requestReplan(workers.boss, undefined, 'policy changed');
        await until(async () => (await accounts(store, 'notes')).length === 2);
        assert.deepEqual(await accounts(store, 'notes'), ['E1', 'E2'], 'the new system’s connector was opened');

        const loads = await store.db.selectFrom('audit_log').select(['actor', 'details']).where('action', '=', 'policy.loaded').orderBy('seq').execute();
        assert.deepEqual(loads.map((l) => l.actor), ['test-worker', 'test-worker'], 'the first policy and the changed one, not the broken one');
        assert.equal((loads[1]!.details as { hash: string }).hash, (await loadPolicy(dir)).hash);
      } finally {
        await workers.stop(2_000);
        await store.close();
      }
    });
  });
}
