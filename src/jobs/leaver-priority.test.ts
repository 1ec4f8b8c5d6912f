import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Change, Plan } from '../domain/change.ts';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import { addAccount } from '../connectors/fake/fake-system.ts';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { runChangeJobs, submitPlan } from './change-job.ts';
import { startJobBoss } from './job-boss.ts';
import { startWorkers, type Workers } from './workers.ts';

/** Writes identities straight into the store: the priority rule reads who has left from there. */
async function seedIdentities(store: Store, keys: readonly string[], status: 'active' | 'left'): Promise<void> {
  for (let i = 0; i < keys.length; i += 500) {
    await store.db
      .insertInto('identities')
      .values(keys.slice(i, i + 500).map((key) => ({ key, kind: 'employee', status, source: 'hr', attributes: '{}', start_date: '2024-01-01', end_date: status === 'left' ? '2026-12-01' : null, owner: null, sponsor: null })))
      .execute();
  }
}

const plan = (id: string, changes: Change[]): Plan => ({ id, computedAt: new Date().toISOString(), fingerprint: id, changes });

function joinerPlan(n: number): Plan {
  const changes: Change[] = [];
  for (let i = 0; i < n; i++) changes.push({ id: `create-J${i}`, kind: 'create_account', identityKey: `J${i}`, system: 'wiki', reason: 'joiner', dependsOn: [] });
  return plan(`joiners-${Date.now()}`, changes);
}

for (const backend of testBackends()) {
  describe(`leaver priority on ${backend.name}`, () => {
    let store: Store;
    let workers: Workers | null = null;
    beforeEach(async () => {
      store = await backend.open();
    });
    afterEach(async () => {
      await workers?.stop(2_000);
      workers = null;
      await store.close();
    });

    test('a leaver queued after 1,000 joiner changes is confirmed before any of them, and the steps behind it follow before the joiners too', { timeout: 120_000 }, async () => {
      const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      const calls: string[] = [];
      const recording = { ...wiki, apply: async (change: Change) => (calls.push(`${change.kind}:${change.identityKey}`), wiki.apply(change)) };
      const leaverAccount = addAccount(wiki.state, 'L1');
      wiki.state.grants.get(leaverAccount.accountId)!.add('staff');
      const joiners = joinerPlan(1000);
      await seedIdentities(store, joiners.changes.map((c) => c.identityKey), 'active');
      await seedIdentities(store, ['L1'], 'left');
      const disable: Change = { id: 'disable-L1', kind: 'disable_account', identityKey: 'L1', system: 'wiki', accountId: leaverAccount.accountId, reason: 'leaver', dependsOn: [] };
      const removeGrant: Change = { id: 'remove-L1', kind: 'remove_grant', identityKey: 'L1', system: 'wiki', accountId: leaverAccount.accountId, entitlement: 'staff', reason: 'leaver', dependsOn: [disable.id] };
      const leaver = plan(`leaver-${Date.now()}`, [disable, removeGrant]);

      // Both plans are queued before any worker runs: the joiners' 1,000 jobs first, the leaver's last.
      const boss = await startJobBoss(store.db, store.backend, { schedule: false, supervise: false });
      await submitPlan({ db: store.db, boss, actor: 'test' }, joiners);
      await submitPlan({ db: store.db, boss, actor: 'test' }, leaver);
      await boss.stop({ graceful: false, close: false });

      // One job at a time and no loop kept for leavers, so the order of connector calls is the order the queue hands jobs out.
      workers = await startWorkers({ store, connectorFor: (s) => (s === 'wiki' ? recording : undefined), options: { applyOnly: true, batchSize: 1, concurrency: 1, leaverLoops: 0, pollingIntervalSeconds: 0.5 } });
      for (let i = 0; i < 300 && calls.length < 4; i++) await new Promise((r) => setTimeout(r, 50));
      await workers.stop(2_000);
      workers = null;

      assert.deepEqual(calls.slice(0, 3), ['disable_account:L1', 'remove_grant:L1', 'create_account:J0']);
      const leaverDone = await store.db.selectFrom('plan_changes').select(['change_id', 'state', 'finished_at']).where('plan_id', '=', leaver.id).orderBy('position').execute();
      assert.deepEqual(leaverDone.map((r) => r.state), ['confirmed', 'confirmed']);
      // Confirmed before: earlier in the audit chain, whose sequence is the order of the commits (timestamps of two
      // batches recorded within the same millisecond, or taken at a batch's start, cannot say which came first).
      const confirmations = await store.db.selectFrom('audit_log').select('trigger').where('action', '=', 'change.confirmed').where('trigger', 'in', [`plan:${leaver.id}`, `plan:${joiners.id}`]).orderBy('seq').execute();
      const lastLeaver = confirmations.map((c) => c.trigger).lastIndexOf(`plan:${leaver.id}`);
      assert.equal(lastLeaver, 1, 'the leaver\'s two confirmations are the first in the audit chain');
      assert.ok(confirmations.slice(0, 2).every((c) => c.trigger === `plan:${leaver.id}`), 'no joiner was confirmed before the leaver');
    });

    test('a leaver does not overtake an earlier leaver: between leavers the queue stays first come, first served', { timeout: 60_000 }, async () => {
      const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      const calls: string[] = [];
      const recording = { ...wiki, apply: async (change: Change) => (calls.push(`${change.kind}:${change.identityKey}`), wiki.apply(change)) };
      await seedIdentities(store, ['L2', 'L3'], 'left');
      await seedIdentities(store, ['J9001'], 'active');
      const disable = (key: string): Change => ({ id: `disable-${key}`, kind: 'disable_account', identityKey: key, system: 'wiki', accountId: addAccount(wiki.state, key).accountId, reason: 'leaver', dependsOn: [] });
      const boss = await startJobBoss(store.db, store.backend, { schedule: false, supervise: false });
      await submitPlan({ db: store.db, boss, actor: 'test' }, plan(`first-${Date.now()}`, [disable('L2')]));
      await submitPlan({ db: store.db, boss, actor: 'test' }, plan(`joiner-${Date.now()}`, [{ id: 'create-J9001', kind: 'create_account', identityKey: 'J9001', system: 'wiki', reason: 'joiner', dependsOn: [] }]));
      await submitPlan({ db: store.db, boss, actor: 'test' }, plan(`second-${Date.now()}`, [disable('L3')]));
      await boss.stop({ graceful: false, close: false });

      workers = await startWorkers({ store, connectorFor: (s) => (s === 'wiki' ? recording : undefined), options: { applyOnly: true, batchSize: 1, concurrency: 1, leaverLoops: 0, pollingIntervalSeconds: 0.5 } });
      for (let i = 0; i < 200 && calls.length < 3; i++) await new Promise((r) => setTimeout(r, 50));

      assert.deepEqual(calls.slice(0, 3), ['disable_account:L2', 'disable_account:L3', 'create_account:J9001']);
    });

    test('a leaver’s lock-out overtakes the grant clean-up of a leaver queued before it', { timeout: 60_000 }, async () => {
      const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      const calls: string[] = [];
      const recording = { ...wiki, apply: async (change: Change) => (calls.push(`${change.kind}:${change.identityKey}`), wiki.apply(change)) };
      await seedIdentities(store, ['L4', 'L5'], 'left');
      // L4's account is disabled already: only its grant is left to remove.
      const l4 = addAccount(wiki.state, 'L4');
      l4.enabled = false;
      wiki.state.grants.get(l4.accountId)!.add('staff');
      const l5 = addAccount(wiki.state, 'L5');
      const boss = await startJobBoss(store.db, store.backend, { schedule: false, supervise: false });
      await submitPlan({ db: store.db, boss, actor: 'test' }, plan(`plan-L4-${Date.now()}`, [{ id: 'remove-L4', kind: 'remove_grant', identityKey: 'L4', system: 'wiki', accountId: l4.accountId, entitlement: 'staff', reason: 'leaver', dependsOn: [] }]));
      await submitPlan({ db: store.db, boss, actor: 'test' }, plan(`plan-L5-${Date.now()}`, [{ id: 'disable-L5', kind: 'disable_account', identityKey: 'L5', system: 'wiki', accountId: l5.accountId, reason: 'leaver', dependsOn: [] }]));
      await boss.stop({ graceful: false, close: false });

      workers = await startWorkers({ store, connectorFor: (s) => (s === 'wiki' ? recording : undefined), options: { applyOnly: true, batchSize: 1, concurrency: 1, leaverLoops: 0, pollingIntervalSeconds: 0.5 } });
      for (let i = 0; i < 200 && calls.length < 2; i++) await new Promise((r) => setTimeout(r, 50));

      assert.deepEqual(calls, ['disable_account:L5', 'remove_grant:L4']);
    });

    test('a leaver’s change fetched in one batch after joiner changes is carried out before them', { timeout: 60_000 }, async () => {
      const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      const calls: string[] = [];
      const recording = { ...wiki, readBack: async (change: Change) => (calls.push(`${change.kind}:${change.identityKey}`), wiki.readBack(change)) };
      const joiners = joinerPlan(5);
      await seedIdentities(store, joiners.changes.map((c) => c.identityKey), 'active');
      await seedIdentities(store, ['L7'], 'left');
      const account = addAccount(wiki.state, 'L7');
      const leaver = plan(`leaver-L7-${Date.now()}`, [{ id: 'disable-L7', kind: 'disable_account', identityKey: 'L7', system: 'wiki', accountId: account.accountId, reason: 'leaver', dependsOn: [] }]);
      const boss = await startJobBoss(store.db, store.backend, { schedule: false, supervise: false });
      try {
        const deps = { db: store.db, boss, workerId: 'test-worker', leaseMs: 5_000, actor: 'test', connectorFor: (s: string | null) => (s === 'wiki' ? recording : undefined), alert: () => undefined, connectorConcurrency: 1 };
        await submitPlan(deps, joiners);
        await submitPlan(deps, leaver);
        // The batch as a fetch may return it: the queue's order is not the order of the rows it hands back.
        const batch = [...joiners.changes, ...leaver.changes].map((c) => ({ planId: c.identityKey === 'L7' ? leaver.id : joiners.id, changeId: c.id, seq: 1 }));
        const results = await runChangeJobs(deps, batch);

        assert.deepEqual(results.map((r) => ('outcome' in r ? r.outcome : r.error.message)), ['confirmed', 'confirmed', 'confirmed', 'confirmed', 'confirmed', 'confirmed']);
        assert.equal(calls[0], 'disable_account:L7', `the leaver's change went first: ${calls.join(', ')}`);
      } finally {
        await boss.stop({ graceful: false, close: false });
      }
    });

    test('a leaver is taken up while the workers are still busy with a batch of joiner changes', { timeout: 60_000 }, async () => {
      const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      let openGate: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      // Joiner creations hang until the gate opens: the general fetch loop is stuck in its batch.
      const slow = { ...wiki, apply: async (change: Change) => (change.kind === 'create_account' ? gate.then(() => wiki.apply(change)) : wiki.apply(change)) };
      const joiners = joinerPlan(20);
      await seedIdentities(store, joiners.changes.map((c) => c.identityKey), 'active');
      await seedIdentities(store, ['L6'], 'left');
      workers = await startWorkers({ store, connectorFor: (s) => (s === 'wiki' ? slow : undefined), options: { applyOnly: true, batchSize: 20, concurrency: 1, pollingIntervalSeconds: 0.5 } });
      await submitPlan({ db: store.db, boss: workers.boss, actor: 'test' }, joiners);
      workers.wake('apply-change');
      const running = async () => (await store.db.selectFrom('plan_changes').select('change_id').where('plan_id', '=', joiners.id).where('state', '=', 'running').execute()).length;
      for (let i = 0; i < 200 && (await running()) < 20; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await running(), 20, 'the joiner batch is in hand');

      const account = addAccount(wiki.state, 'L6');
      const leaver = plan(`leaver-L6-${Date.now()}`, [{ id: 'disable-L6', kind: 'disable_account', identityKey: 'L6', system: 'wiki', accountId: account.accountId, reason: 'leaver', dependsOn: [] }]);
      await submitPlan({ db: store.db, boss: workers.boss, actor: 'test' }, leaver);
      workers.wake('apply-change');
      const state = async () => (await store.db.selectFrom('plan_changes').select('state').where('plan_id', '=', leaver.id).executeTakeFirstOrThrow()).state;
      for (let i = 0; i < 200 && (await state()) !== 'confirmed'; i++) await new Promise((r) => setTimeout(r, 50));
      const leaverState = await state();
      const joinersConfirmed = (await store.db.selectFrom('plan_changes').select('change_id').where('plan_id', '=', joiners.id).where('state', '=', 'confirmed').execute()).length;
      openGate();

      assert.equal(leaverState, 'confirmed');
      assert.equal(joinersConfirmed, 0, 'the joiner batch was still in hand');
    });

    test('a leaver is locked out while every other loop holds a batch of an earlier leaver’s grant clean-up', { timeout: 60_000 }, async () => {
      const groups = Array.from({ length: 40 }, (_, i) => `g${i}`);
      const wiki = createFakeConnector({ groups }, { system: 'wiki' });
      let openGate: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      // Grant removals hang until the gate opens, as calls to a slow system would.
      const slow = { ...wiki, apply: async (change: Change) => (change.kind === 'remove_grant' ? gate.then(() => wiki.apply(change)) : wiki.apply(change)) };
      await seedIdentities(store, ['L9', 'L10'], 'left');
      const l9 = addAccount(wiki.state, 'L9');
      l9.enabled = false;
      for (const g of groups) wiki.state.grants.get(l9.accountId)!.add(g);
      const cleanUp = plan(`clean-up-L9-${Date.now()}`, groups.map((g) => ({ id: `remove-L9-${g}`, kind: 'remove_grant', identityKey: 'L9', system: 'wiki', accountId: l9.accountId, entitlement: g, reason: 'leaver', dependsOn: [] })));
      workers = await startWorkers({ store, connectorFor: (s) => (s === 'wiki' ? slow : undefined), options: { applyOnly: true, batchSize: 20, concurrency: 1, pollingIntervalSeconds: 0.5 } });
      await submitPlan({ db: store.db, boss: workers.boss, actor: 'test' }, cleanUp);
      workers.wake('apply-change');
      const running = async () => (await store.db.selectFrom('plan_changes').select('change_id').where('plan_id', '=', cleanUp.id).where('state', '=', 'running').execute()).length;
      for (let i = 0; i < 200 && (await running()) < 20; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok((await running()) >= 20, 'a batch of clean-up is in hand');

      const l10 = addAccount(wiki.state, 'L10');
      const leaver = plan(`leaver-L10-${Date.now()}`, [{ id: 'disable-L10', kind: 'disable_account', identityKey: 'L10', system: 'wiki', accountId: l10.accountId, reason: 'leaver', dependsOn: [] }]);
      await submitPlan({ db: store.db, boss: workers.boss, actor: 'test' }, leaver);
      workers.wake('apply-change');
      const state = async () => (await store.db.selectFrom('plan_changes').select('state').where('plan_id', '=', leaver.id).executeTakeFirstOrThrow()).state;
      for (let i = 0; i < 100 && (await state()) !== 'confirmed'; i++) await new Promise((r) => setTimeout(r, 50));
      const leaverState = await state();
      openGate();

      assert.equal(leaverState, 'confirmed');
    });

    test('joiner changes start no connector call while a leaver’s change is being carried out, and carry on after it', { timeout: 60_000 }, async () => {
      const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      let joinerCalls = 0;
      let leaverStarted: () => void = () => undefined;
      const started = new Promise<void>((resolve) => (leaverStarted = resolve));
      let finishLeaver: () => void = () => undefined;
      const leaverMayFinish = new Promise<void>((resolve) => (finishLeaver = resolve));
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const connector = {
        ...wiki,
        readBack: async (change: Change) => {
          if (change.identityKey === 'L8') {
            leaverStarted();
            await leaverMayFinish;
          } else joinerCalls++;
          return wiki.readBack(change);
        },
        // Each joiner creation takes a while, so the joiner batch has calls in flight throughout.
        apply: async (change: Change) => (change.identityKey === 'L8' ? wiki.apply(change) : (joinerCalls++, await sleep(20), wiki.apply(change))),
      };
      const joiners = joinerPlan(1000);
      await seedIdentities(store, joiners.changes.map((c) => c.identityKey), 'active');
      await seedIdentities(store, ['L8'], 'left');
      workers = await startWorkers({ store, connectorFor: (s) => (s === 'wiki' ? connector : undefined), options: { applyOnly: true, batchSize: 20, concurrency: 1, pollingIntervalSeconds: 0.5 } });
      await submitPlan({ db: store.db, boss: workers.boss, actor: 'test' }, joiners);
      workers.wake('apply-change');
      for (let i = 0; i < 400 && joinerCalls < 40; i++) await sleep(25);
      assert.ok(joinerCalls >= 40, 'the joiner plan is under way');

      const account = addAccount(wiki.state, 'L8');
      await submitPlan({ db: store.db, boss: workers.boss, actor: 'test' }, plan(`leaver-L8-${Date.now()}`, [{ id: 'disable-L8', kind: 'disable_account', identityKey: 'L8', system: 'wiki', accountId: account.accountId, reason: 'leaver', dependsOn: [] }]));
      workers.wake('apply-change');
      await started;
      const atLeaverStart = joinerCalls;
      await sleep(300);
      const duringLeaver = joinerCalls - atLeaverStart;
      finishLeaver();
      for (let i = 0; i < 400 && joinerCalls < atLeaverStart + duringLeaver + 20; i++) await sleep(25);

      assert.equal(duringLeaver, 0, 'no joiner call started while the leaver’s change was in flight');
      assert.ok(joinerCalls >= atLeaverStart + 20, 'the joiners carried on once the leaver was done');
    });
  });
}
