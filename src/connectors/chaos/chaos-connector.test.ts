import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Change } from '../../domain/change.ts';
import { isJmlError } from '../../domain/errors.ts';
import type { Account } from '../../domain/access.ts';
import { describeConformance } from '../conformance/conformance-suite.ts';
import { createFakeConnector } from '../fake/fake-connector.ts';
import { addAccount } from '../fake/fake-system.ts';
import { createChaosConnector } from './chaos-connector.ts';

// Short pages are legal: with only partial pages injected, chaos(fake) is still a conforming connector.
describeConformance('chaos(fake) with partial pages', async () => {
  const fake = createFakeConnector({}, { system: 'fake' });
  return {
    connector: createChaosConnector({ seed: 11, partialPageRate: 0.7 }, { inner: fake }),
    system: 'fake',
    seedEntitlement: async (name) => {
      fake.state.groups.set(name, { displayName: name });
      return name;
    },
    accountAttributes: (identityKey) => ({ user_name: identityKey }),
    attributeUpdate: { title: 'Analyst' },
  };
});

const create = (identityKey: string): Change => ({ id: `c-${identityKey}`, kind: 'create_account', identityKey, system: 'fake', reason: 'joiner', dependsOn: [] });

test('a crash in the middle of a change leaves the change done in the system while the caller sees an error', async () => {
  const fake = createFakeConnector({}, { system: 'fake' });
  const chaos = createChaosConnector({ seed: 3, crashRate: 1 }, { inner: fake });
  await assert.rejects(chaos.apply!(create('E1')), (e) => isJmlError(e, 'connector') && e.retryable);
  assert.equal(fake.state.effects.create_account, 1);
  assert.equal((await fake.readBack(create('E1'))).holds, true);
  assert.equal(chaos.injected.crash, 1);
});

test('a hanging crash never settles', async () => {
  const fake = createFakeConnector({}, { system: 'fake' });
  const chaos = createChaosConnector({ seed: 3, crashRate: 1, crashMode: 'hang' }, { inner: fake });
  const winner = await Promise.race([chaos.apply!(create('E1')).then(() => 'settled'), new Promise((r) => setTimeout(() => r('still waiting'), 30))]);
  assert.equal(winner, 'still waiting');
  assert.equal(fake.state.accounts.size, 1);
});

test('a 429 is a retryable failure that carries Retry-After', async () => {
  const chaos = createChaosConnector({ seed: 5, rateLimitRate: 1, retryAfterMs: 1_500 }, { inner: createFakeConnector({}, { system: 'fake' }) });
  assert.deepEqual(await chaos.apply!(create('E1')), { status: 'failed', retryable: true, message: 'chaos: 429', retryAfterMs: 1_500 });
  await assert.rejects(chaos.readBack(create('E1')), (e) => isJmlError(e) && e.retryable && e.details.retryAfterMs === 1_500);
});

test('the same seed injects the same faults in the same places', async () => {
  const run = async (seed: number) => {
    const chaos = createChaosConnector({ seed, timeoutRate: 0.3, unavailableRate: 0.3 }, { inner: createFakeConnector({}, { system: 'fake' }) });
    const trace: string[] = [];
    for (let i = 0; i < 40; i++) trace.push(await chaos.readBack(create(`E${i}`)).then(() => 'ok', (e: Error) => e.message));
    return trace;
  };
  assert.deepEqual(await run(42), await run(42));
  assert.notDeepEqual(await run(42), await run(43));
});

test('walking pages through errors and short pages visits every account exactly once', async () => {
  const fake = createFakeConnector({}, { system: 'fake' });
  for (let i = 0; i < 37; i++) addAccount(fake.state, `E${i}`);
  const chaos = createChaosConnector({ seed: 9, partialPageRate: 0.5, unavailableRate: 0.2, timeoutRate: 0.1 }, { inner: fake });
  const seen: Account[] = [];
  let cursor: string | null = null;
  let failures = 0;
  let done = false;
  while (!done) {
    try {
      const page: { items: readonly Account[]; nextCursor: string | null } = await chaos.list('accounts', cursor, 5);
      seen.push(...page.items);
      cursor = page.nextCursor;
      done = cursor === null;
    } catch (error) {
      assert.ok(isJmlError(error) && error.retryable);
      failures++;
    }
  }
  assert.deepEqual(seen.map((a) => a.attributes.identity_key), Array.from({ length: 37 }, (_, i) => `E${i}`));
  assert.ok(failures > 0 && chaos.injected.partial_page > 0, 'faults were actually injected');
});
