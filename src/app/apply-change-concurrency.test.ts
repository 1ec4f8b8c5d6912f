/**
 * How many of a batch's connector calls are in flight at once: at most
 * `connectorConcurrency` (64), except the calls of kinds the connector
 * gathers (an LDAP connector's member changes to one group, one modify),
 * which all start at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import type { Connector } from '../connectors/connector.ts';
import type { Change, ChangeKind, Plan } from '../domain/change.ts';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { applyChanges } from './apply-change.ts';
import { recordPlan } from './plan-record-store.ts';

/** The fake, its calls held a moment, gathering `gathers`; records the most calls in flight at once. */
function counting(gathers: readonly ChangeKind[]): Connector & { readonly most: () => number } {
  const inner = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
  let inFlight = 0;
  let most = 0;
  return {
    describe: () => ({ ...inner.describe(), gathers }),
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
const people = Array.from({ length: 150 }, (_, i) => `C${i}`);

describe('the connector calls of one batch', () => {
  let store: Store;
  before(async () => {
    store = await testBackends()[0]!.open();
  });
  after(() => store.close());

  /** Applies one batch of `kind` for the 150 people; the most calls the connector had in flight at once. */
  const batch = async (wiki: ReturnType<typeof counting>, kind: 'create_account' | 'add_grant'): Promise<number> => {
    const changes: Change[] = people.map((key) => ({
      id: `${kind}:${key}`, kind, identityKey: key, system: 'wiki', reason: 'joiner', dependsOn: [],
      ...(kind === 'create_account' ? { attributes: { user_name: key.toLowerCase() } } : { entitlement: 'staff' }),
    }));
    const plan: Plan = { id: `plan-concurrency-${++plans}`, computedAt: '2026-03-01T08:00:00Z', fingerprint: 'fp', changes };
    await recordPlan(store.db, plan, 'test', new Date());
    const results = await applyChanges({ db: store.db, actor: 'test', connectorFor: () => wiki }, plan.id, plan.changes);
    assert.deepEqual(new Set(results.map((r) => r.state)), new Set(['confirmed']));
    return wiki.most();
  };

  test('the grants of a connector that gathers them start all 150 at once; its account creations, which it does not gather, at most 64 at a time', async () => {
    const gathering = counting(['add_grant', 'remove_grant']);
    assert.equal(await batch(gathering, 'create_account'), 64);
    assert.equal(await batch(gathering, 'add_grant'), 150);
  });

  test('a connector that gathers nothing has at most 64 of the batch\'s calls in flight', async () => {
    const alone = counting([]);
    assert.equal(await batch(alone, 'create_account'), 64);
    assert.equal(await batch(alone, 'add_grant'), 64);
  });
});
