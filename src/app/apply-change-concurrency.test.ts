/**
 * How many of a batch's connector calls are in flight at once: at most
 * `connectorConcurrency` (64) for a connector that sends each call on its
 * own, every one at once for a connector that gathers the calls started in
 * one turn (an LDAP connector's member changes to one group, one modify).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import type { Connector } from '../connectors/connector.ts';
import type { Change, Plan } from '../domain/change.ts';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { applyChanges } from './apply-change.ts';
import { recordPlan } from './plan-record-store.ts';

/** The fake, its calls held a moment, saying whether it gathers calls; records the most in flight at once. */
function counting(gathersCalls: boolean): Connector & { readonly most: () => number } {
  const inner = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
  let inFlight = 0;
  let most = 0;
  return {
    describe: () => ({ ...inner.describe(), gathersCalls }),
    validate: () => inner.validate(),
    list: inner.list.bind(inner),
    readBack: (c) => inner.readBack(c),
    apply: async (c) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight -= 1;
      return inner.apply!(c);
    },
    most: () => most,
  };
}

let plans = 0;
async function recorded(store: Store, n: number): Promise<Plan> {
  const changes: Change[] = Array.from({ length: n }, (_, i) => ({ id: `create:C${i}`, kind: 'create_account', identityKey: `C${i}`, system: 'wiki', reason: 'joiner', dependsOn: [], attributes: { user_name: `c${i}` } }));
  const plan: Plan = { id: `plan-concurrency-${++plans}`, computedAt: '2026-03-01T08:00:00Z', fingerprint: 'fp', changes };
  await recordPlan(store.db, plan, 'test', new Date());
  return plan;
}

describe('the connector calls of one batch', () => {
  let store: Store;
  before(async () => {
    store = await testBackends()[0]!.open();
  });
  after(() => store.close());

  for (const [gathers, expected] of [[false, 64], [true, 150]] as const) {
    test(gathers ? 'a connector that gathers calls gets all 150 of the batch at once' : 'a connector that sends each call alone has at most 64 of the batch\'s 150 in flight', async () => {
      const wiki = counting(gathers);
      const plan = await recorded(store, 150);
      const results = await applyChanges({ db: store.db, actor: 'test', connectorFor: () => wiki }, plan.id, plan.changes);
      assert.deepEqual(new Set(results.map((r) => r.state)), new Set(['confirmed']));
      assert.equal(wiki.most(), expected);
    });
  }
});
