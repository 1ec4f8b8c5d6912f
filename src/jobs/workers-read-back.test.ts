import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Connector } from '../connectors/connector.ts';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import type { Change, Plan } from '../domain/change.ts';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { submitPlan } from './change-job.ts';
import { startWorkers, type Workers } from './workers.ts';

for (const backend of testBackends()) {
  describe(`the workers' read-backs on ${backend.name}`, () => {
    let store: Store;
    let workers: Workers;
    const fake = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
    let pages = 0;
    // A connector that reads a page back at once, as LDAP and AD do.
    const wiki: Connector = {
      describe: () => fake.describe(),
      validate: () => fake.validate(),
      list: fake.list.bind(fake),
      readBack: (c) => fake.readBack(c),
      readBackMany: async (changes) => (pages++, Promise.all(changes.map((c) => fake.readBack(c)))),
      apply: (c) => fake.apply(c),
    };
    before(async () => {
      store = await backend.open();
      workers = await startWorkers({ store, connectorFor: (s) => (s === 'wiki' ? wiki : undefined), options: { schedules: false, concurrency: 1, batchSize: 10 } });
    });
    after(async () => {
      await workers.stop(2_000);
      await store.close();
    });

    test('a connector that reads a page back at once is asked for pages by the workers, behind the priority lane too', { timeout: 60_000 }, async () => {
      assert.ok(store.lane, 'the store has a priority lane, so the workers wrap its connectors');
      const changes: Change[] = ['E1', 'E2', 'E3'].map((key) => ({ id: `create:wiki:${key}`, kind: 'create_account', identityKey: key, system: 'wiki', reason: 'joiner', dependsOn: [] }));
      const plan: Plan = { id: `pages-${Date.now()}`, computedAt: new Date().toISOString(), fingerprint: 'f', changes };
      await submitPlan({ db: store.db, boss: workers.boss, actor: 'test' }, plan);
      for (let i = 0; i < 300; i++) {
        const row = await store.db.selectFrom('plans').select('status').where('id', '=', plan.id).executeTakeFirstOrThrow();
        if (row.status !== 'applying') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(fake.calls['apply:create_account'], 3);
      assert.ok(pages > 0, 'readBackMany was used');
    });
  });
}
