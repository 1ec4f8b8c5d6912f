import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Change, ChangeOutcome, Plan } from '../domain/change.ts';
import { isJmlError } from '../domain/errors.ts';
import type { Connector } from '../connectors/connector.ts';
import { createChaosConnector } from '../connectors/chaos/chaos-connector.ts';
import { createFakeConnector, type FakeConnector } from '../connectors/fake/fake-connector.ts';
import { addAccount } from '../connectors/fake/fake-system.ts';
import { createManualConnector } from '../connectors/manual/manual-connector.ts';
import { createTaskStore } from '../connectors/manual/task-store.ts';
import { BUILT_IN_CONNECTORS, createConnectorRegistry } from '../connectors/registry.ts';
import { loadPolicy } from '../policy/index.ts';
import { verifyAudit } from '../store/audit-log.ts';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { writePolicyDir } from '../../test/support/jml-fixture.ts';
import { openPolicyConnectors } from '../app/connectors-from-policy.ts';
import { submitPlan } from './change-job.ts';
import { startJobBoss } from './job-boss.ts';
import { executePlan, nextPollMs, planNudge, resumeUnfinishedPlans, startPlan, type PlanExecutorDeps } from './plan-executor.ts';

let plans = 0;
function makePlan(changes: readonly Change[]): Plan {
  return { id: `plan-${++plans}`, computedAt: '2026-03-01T08:00:00Z', fingerprint: 'fp-1', changes };
}
const base = { system: 'wiki', reason: 'joiner effective 2026-03-01', dependsOn: [] as string[] };
const create = (key: string): Change => ({ ...base, id: `create:${key}`, kind: 'create_account', identityKey: key, attributes: { user_name: key.toLowerCase() } });
const grant = (key: string, group: string): Change => ({ ...base, id: `grant:${key}:${group}`, kind: 'add_grant', identityKey: key, entitlement: group, dependsOn: [`create:${key}`] });

/** Wraps a connector to log apply calls and measure concurrency; it observes, the fake decides. */
function observed(inner: Connector, log: string[]): Connector & { maxInFlight: number } {
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  const wrapper = {
    maxInFlight: 0,
    describe: () => inner.describe(),
    validate: () => inner.validate(),
    list: inner.list.bind(inner),
    readBack: (c: Change) => inner.readBack(c),
    apply: async (c: Change): Promise<ChangeOutcome> => {
      inFlight++;
      wrapper.maxInFlight = Math.max(wrapper.maxInFlight, inFlight);
      log.push(`start ${c.id}`);
      // Wait a moment for company, so concurrency shows however the database happens to schedule the steps before apply.
      for (const wake of waiting.splice(0)) wake();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        waiting.push(() => { clearTimeout(timer); resolve(); });
      });
      const outcome = await inner.apply!(c);
      log.push(`end ${c.id}`);
      inFlight--;
      return outcome;
    },
  };
  return wrapper;
}

describe('how often an apply reads its plan\'s tally', () => {
  test('a tally that takes long is read less often, so reading it takes at most a fiftieth of the time, but at least every 15 s', () => {
    assert.equal(nextPollMs(2_000, 270, { total: 200_000, moving: 150_000 }), 13_230);
    assert.equal(nextPollMs(250, 200, { total: 200_000, moving: 150_000 }), 9_800);
    assert.equal(nextPollMs(250, 1_000, { total: 200_000, moving: 150_000 }), 15_000);
  });

  test('a quick tally is read at the base interval', () => {
    assert.equal(nextPollMs(2_000, 30, { total: 40_000, moving: 30_000 }), 2_000);
    assert.equal(nextPollMs(250, 5, { total: 100, moving: 100 }), 250);
  });

  test('once a fiftieth of the plan or less is left to move, the tally is read at the base interval however long it takes, so the end is seen promptly', () => {
    assert.equal(nextPollMs(2_000, 270, { total: 200_000, moving: 4_000 }), 2_000);
    assert.equal(nextPollMs(2_000, 270, { total: 200_000, moving: 0 }), 2_000);
  });
});

describe('what ends the wait between two looks at a plan early', () => {
  const elapsed = async (wait: Promise<void>) => {
    const started = performance.now();
    await wait;
    return performance.now() - started;
  };

  test('the wait ends once as many of the plan\'s changes as were moving have stopped in this process', async () => {
    const nudge = planNudge('p1');
    nudge.reset();
    const wait = nudge.sleep(60_000, 2);
    nudge.onChange('confirmed', { planId: 'p1' });
    nudge.onChange('retrying', { planId: 'p1' }); // still moving
    nudge.onChange('confirmed', { planId: 'p2' }); // another plan's
    setTimeout(() => nudge.onChange('parked', { planId: 'p1' }), 20);
    assert.ok((await elapsed(wait)) < 30_000);
  });

  test('changes that stopped before the wait began count, since the last look', async () => {
    const nudge = planNudge('p1');
    nudge.reset();
    nudge.onChange('already', { planId: 'p1' });
    assert.ok((await elapsed(nudge.sleep(60_000, 1))) < 30_000);
  });

  test('each of the plan\'s changes that stops during the wait is heard, with how many have stopped since the last look', async () => {
    const nudge = planNudge('p1');
    nudge.reset();
    nudge.onChange('confirmed', { planId: 'p1' });
    const heard: string[] = [];
    const wait = nudge.sleep(60_000, 4, (since) => heard.push(`${since.stopped} stopped, ${since.settled} settled`));
    nudge.onChange('retrying', { planId: 'p1' }); // still moving
    nudge.onChange('confirmed', { planId: 'p2' }); // another plan's
    nudge.onChange('already', { planId: 'p1' });
    nudge.onChange('pending', { planId: 'p1' }); // waits on a person: stopped, not settled
    nudge.onChange('blocked', { planId: 'p1' });
    await wait;
    assert.deepEqual(heard, ['2 stopped, 2 settled', '3 stopped, 2 settled', '4 stopped, 3 settled']);
  });

  test('with nothing moving the wait lasts its whole time, whatever settles: a plan waiting on a task is not looked at in a loop', async () => {
    const nudge = planNudge('p1');
    nudge.reset();
    const wait = nudge.sleep(150, 0);
    nudge.onChange('confirmed', { planId: 'p1' });
    assert.ok((await elapsed(wait)) >= 140);
  });
});

for (const backend of testBackends()) {
  describe(`apply on ${backend.name}`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
    });
    after(() => store.close());

    const deps = (connectors: Record<string, Connector>, extra: Partial<PlanExecutorDeps> = {}): PlanExecutorDeps => ({
      store,
      connectorFor: (system) => (system === null ? undefined : connectors[system]),
      actor: 'test:apply',
      options: { retry: { baseDelayMs: 20 }, callTimeoutMs: 2_000, applyExpireSeconds: 10 },
      pollMs: 50,
      ...extra,
    });
    const applyPlan = (d: PlanExecutorDeps, plan: Plan, fingerprint = 'fp-1') => executePlan(d, plan, async () => fingerprint);
    const wikiFake = (): FakeConnector => createFakeConnector({ groups: ['staff', 'eng'] }, { system: 'wiki' });

    test('a change starts only after the changes it depends on are confirmed', async () => {
      const fake = wikiFake();
      const log: string[] = [];
      const wiki = observed(fake, log);
      const keys = ['E1', 'E2', 'E3', 'E4', 'E5'];
      const plan = makePlan(keys.flatMap((k) => [grant(k, 'staff'), create(k)]));
      const report = await applyPlan(deps({ wiki }), plan);
      assert.equal(report.status, 'applied');
      for (const k of keys) assert.ok(log.indexOf(`end create:${k}`) < log.indexOf(`start grant:${k}:staff`), `${k}: grant after create`);
      assert.ok(wiki.maxInFlight > 1, 'independent changes run at once');
      assert.equal(fake.state.effects.add_grant, 5);
      const rows = await store.db.selectFrom('plan_changes').select(['change_id', 'state', 'attempts']).where('plan_id', '=', plan.id).execute();
      assert.deepEqual(new Set(rows.map((r) => r.state)), new Set(['confirmed']));
    });

    test('an apply that opened only its own systems leaves another plan’s change for a system it did not open waiting, not parked', async () => {
      // A worker elsewhere queued a plan for crm; this apply opened only wiki.
      const crmKey = 'E70';
      const other = makePlan([{ ...create(crmKey), id: `create:crm:${crmKey}`, system: 'crm' }]);
      const boss = await startJobBoss(store.db, store.backend, { schedule: false, supervise: false });
      try {
        await submitPlan({ db: store.db, boss, actor: 'worker:elsewhere' }, other);
      } finally {
        await boss.stop({ graceful: false, close: false });
      }
      const report = await applyPlan(deps({ wiki: wikiFake() }, { leftToOthers: (system) => system === 'crm' }), makePlan([create('E71')]));
      assert.equal(report.status, 'applied');
      const waiting = await store.db.selectFrom('plan_changes').select('state').where('plan_id', '=', other.id).executeTakeFirstOrThrow();
      assert.equal(waiting.state, 'planned', 'the crm change is left for a process with the crm connector');
      const crm = createFakeConnector({ groups: [] }, { system: 'crm' });
      const resumed = (await resumeUnfinishedPlans(deps({ crm }))).find((r) => r.planId === other.id);
      assert.equal(resumed?.status, 'applied');
      assert.equal(crm.state.effects.create_account, 1);
    });

    test('the progress shown moves with each change this process settles, though the plan is looked at less often than the apply lasts', async () => {
      const fake = wikiFake();
      const wiki: Connector = { ...observed(fake, []), apply: async (c) => (await new Promise((resolve) => setTimeout(resolve, 15)), fake.apply(c)) };
      const plan = makePlan(Array.from({ length: 12 }, (_, i) => create(`P${i}`)));
      const shown: number[] = [];
      const started = performance.now();
      const report = await applyPlan(deps({ wiki }, { pollMs: 60_000, options: { retry: { baseDelayMs: 20 }, batchSize: 2, concurrency: 1, leaverLoops: 0 }, onProgress: (p) => shown.push(p.settled) }), plan);
      assert.equal(report.status, 'applied');
      assert.ok(performance.now() - started < 30_000, 'the end is seen as the last change settles, not at the next look');
      assert.equal(shown.at(-1), 12, 'the last progress shown is the whole plan');
      assert.ok(new Set(shown).size >= 6, `progress moved between looks: ${shown.join(' ')}`);
      for (let i = 1; i < shown.length; i += 1) assert.ok(shown[i]! >= shown[i - 1]!, `progress never goes back: ${shown.join(' ')}`);
    });

    test('the apply\'s worker runs the plan it has just recorded from memory: the stored copy is not read back', { timeout: 30_000 }, async () => {
      const fake = wikiFake();
      const plan = makePlan(Array.from({ length: 6 }, (_, i) => create(`H${i}`)));
      const run = await startPlan(deps({ wiki: fake }), plan, async () => 'fp-1');
      // Were the jobs to read the plan back now, they would find none of its changes in it.
      await store.db.updateTable('plans').set({ plan: JSON.stringify({ ...plan, changes: [] }) }).where('id', '=', plan.id).execute();
      const report = await run.finished;
      assert.equal(report.status, 'applied');
      assert.equal(fake.state.effects.create_account, 6);
    });

    test('changes left waiting on a person are not shown as settled, and the progress shown never goes back', async (t) => {
      const fake = wikiFake();
      // Half the accounts are made by hand: a task each, the change pending until it is closed.
      const wiki: Connector = {
        ...observed(fake, []),
        apply: async (c) => (await new Promise((resolve) => setTimeout(resolve, 15)), Number(c.identityKey.slice(1)) % 2 === 1 ? { status: 'pending' as const } : fake.apply(c)),
      };
      const plan = makePlan(Array.from({ length: 12 }, (_, i) => create(`Q${i}`)));
      // The plan stays applying while its tasks are open: they are closed after, or the next test's worker would take them up.
      t.after(async () => {
        await store.db.updateTable('plan_changes').set({ state: 'blocked' }).where('plan_id', '=', plan.id).where('state', '=', 'pending').execute();
        await store.db.updateTable('plans').set({ status: 'partial' }).where('id', '=', plan.id).execute();
      });
      const shown: { settled: number; active: number }[] = [];
      const report = await applyPlan(deps({ wiki }, { pollMs: 60_000, options: { retry: { baseDelayMs: 20 }, batchSize: 2, concurrency: 1, leaverLoops: 0 }, onProgress: (p) => shown.push({ settled: p.settled, active: p.active }) }), plan);
      assert.deepEqual({ confirmed: report.counts.confirmed, pending: report.counts.pending }, { confirmed: 6, pending: 6 });
      const line = shown.map((p) => `${p.settled}/${p.active}`).join(' ');
      assert.ok(shown.every((p) => p.settled <= 6), `never more settled than the six made: ${line}`);
      assert.deepEqual(shown.at(-1), { settled: 6, active: 0 }, line);
      for (let i = 1; i < shown.length; i += 1) assert.ok(shown[i]!.settled >= shown[i - 1]!.settled, `settled never goes back: ${line}`);
    });

    test('an apply takes a large plan’s changes up to 200 at a time, each batch read back with one call', async () => {
      const fake = wikiFake();
      const pages: number[] = [];
      const wiki: Connector = {
        describe: () => fake.describe(),
        validate: () => fake.validate(),
        list: fake.list.bind(fake),
        readBack: (c) => fake.readBack(c),
        readBackMany: async (changes) => (pages.push(changes.length), Promise.all(changes.map((c) => fake.readBack(c)))),
        apply: (c) => fake.apply(c),
      };
      const plan = makePlan(Array.from({ length: 300 }, (_, i) => create(`B${i}`)));
      const report = await applyPlan(deps({ wiki }), plan);
      assert.equal(report.status, 'applied');
      assert.equal(Math.max(...pages), 200, `read-back pages: ${pages.join(', ')}`);
    });

    test('a change whose target already holds is recorded as already and not applied', async () => {
      const fake = wikiFake();
      addAccount(fake.state, 'E1');
      const report = await applyPlan(deps({ wiki: fake }), makePlan([create('E1')]));
      assert.deepEqual(report.changes.map((c) => c.state), ['already']);
      assert.equal(fake.calls.apply ?? 0, 0);
    });

    test('a retryable failure is tried again no sooner than Retry-After, then succeeds', async () => {
      const fake = wikiFake();
      const tries: number[] = [];
      const flaky: Connector = {
        ...fake,
        readBack: (c) => fake.readBack(c),
        apply: async (c) => {
          tries.push(Date.now());
          return tries.length <= 2 ? { status: 'failed', retryable: true, message: '429', retryAfterMs: 700 } : fake.apply(c);
        },
      };
      const report = await applyPlan(deps({ wiki: flaky }), makePlan([create('E9')]));
      assert.deepEqual(report.changes.map((c) => [c.state, c.attempts]), [['confirmed', 3]]);
      assert.ok(tries[1]! - tries[0]! >= 700 && tries[2]! - tries[1]! >= 700, `tries ${tries.map((t) => t - tries[0]!).join(', ')} ms`);
      assert.equal(fake.state.effects.create_account, 1);
    });

    test('a terminal failure parks the change and blocks what depends on it, while independent changes go on', async () => {
      const fake = wikiFake();
      const disable: Change = { ...base, id: 'disable:E1', kind: 'disable_account', identityKey: 'E1', dependsOn: ['grant:E1:ghost'] };
      const plan = makePlan([create('E1'), grant('E1', 'ghost'), disable, create('E2')]);
      const report = await applyPlan(deps({ wiki: fake }), plan);
      assert.equal(report.status, 'partial');
      assert.deepEqual(report.changes.map((c) => c.state), ['confirmed', 'parked', 'blocked', 'confirmed']);
      assert.match(report.changes[1]!.lastError ?? '', /no entitlement ghost/);
      assert.match(report.changes[2]!.lastError ?? '', /blocked by grant:E1:ghost/);
      assert.equal(fake.calls['apply:disable_account'] ?? 0, 0);
      const audit = await store.db.selectFrom('audit_log').select('action').where('trigger', '=', `plan:${plan.id}`).execute();
      assert.deepEqual(audit.map((a) => a.action).sort(), ['change.blocked', 'change.confirmed', 'change.confirmed', 'change.parked']);
    });

    test('a plan whose inputs changed is refused as stale before anything is touched', async () => {
      const fake = wikiFake();
      const plan = makePlan([create('E1')]);
      await assert.rejects(applyPlan(deps({ wiki: fake }), plan, 'fp-2'), (e) => isJmlError(e, 'stale_plan'));
      assert.equal(Object.keys(fake.calls).length, 0);
      assert.equal(await store.db.selectFrom('plans').select('id').where('id', '=', plan.id).executeTakeFirst(), undefined);
    });

    test('a second apply of the same plan changes nothing', async () => {
      const fake = wikiFake();
      const plan = makePlan([create('E1'), grant('E1', 'staff'), create('E2')]);
      await applyPlan(deps({ wiki: fake }), plan);
      const applyCalls = fake.calls.apply;
      const auditBefore = (await store.db.selectFrom('audit_log').select('seq').execute()).length;
      const again = await applyPlan(deps({ wiki: fake }), plan);
      assert.equal(again.status, 'applied');
      assert.deepEqual(again.changes.map((c) => c.state), ['confirmed', 'confirmed', 'confirmed']);
      assert.equal(fake.calls.apply, applyCalls);
      assert.equal(fake.state.accounts.size, 2);
      // Only the submission is audited: no change had news.
      assert.equal((await store.db.selectFrom('audit_log').select('seq').execute()).length, auditBefore + 1);
    });

    test('a manual change stays pending and its dependents wait until the task is closed', async () => {
      const payroll = createManualConnector({ entitlements: ['staff'] }, { system: 'payroll', db: store.db });
      const on = (c: Change): Change => ({ ...c, system: 'payroll' });
      const plan = makePlan([on(create('P1')), on(grant('P1', 'staff'))]);
      const first = await applyPlan(deps({ payroll }), plan);
      assert.deepEqual(first.changes.map((c) => c.state), ['pending', 'waiting']);
      const [task] = await payroll.tasks.listTasks({ system: 'payroll', status: 'open' });
      await payroll.tasks.closeTask(task!.id, { doneBy: 'hr-ops', doneAt: new Date().toISOString(), note: 'added in payroll UI' }, 'hr-ops');
      const second = await applyPlan(deps({ payroll }), plan);
      assert.deepEqual(second.changes.map((c) => c.state), ['confirmed', 'pending']);
    });

    test('the wait for a plan ends as its own worker settles the last change, not at the next look: with an hour between looks it still ends', { timeout: 60_000 }, async () => {
      const fake = wikiFake();
      const keys = Array.from({ length: 30 }, (_, i) => `N${i}`);
      const plan = makePlan(keys.flatMap((k) => [create(k), grant(k, 'staff')]));
      const report = await applyPlan(deps({ wiki: fake }, { pollMs: 3_600_000 }), plan);
      assert.equal(report.status, 'applied');
      assert.equal(report.counts.confirmed, 60);
      assert.equal(fake.state.effects.add_grant, 30);
    });

    test('a change kind the connector does not provision becomes a task for the system owner; only the changes behind it wait', async () => {
      // A directory like LDAP: it disables accounts but has no sessions to end; the fake refuses what it was told it cannot do.
      const directory = wikiFake();
      const leaver = addAccount(directory.state, 'L1');
      directory.state.sessions.set(leaver.accountId, 2);
      const wiki = wikiFake();
      const wikiLeaver = addAccount(wiki.state, 'L1');
      const registry = createConnectorRegistry({
        ...BUILT_IN_CONNECTORS,
        'no-sessions': () => ({
          ...directory,
          describe: () => ({ type: 'no-sessions', provisions: directory.describe().provisions.filter((k) => k !== 'revoke_sessions'), manual: false }),
          apply: async (c: Change): Promise<ChangeOutcome> => (c.kind === 'revoke_sessions' ? { status: 'failed', retryable: false, message: 'cannot revoke sessions' } : directory.apply(c)),
        }),
        'shared-wiki': () => wiki,
      });
      const policyDir = writePolicyDir({
        'systems.yaml': `systems:
  - { name: directory, connector: { type: no-sessions }, owner: E0, identity_provider: true }
  - { name: wiki, connector: { type: shared-wiki }, owner: E9 }
`,
      });
      const { policy } = await loadPolicy(policyDir);
      const now = new Date('2026-03-01T09:00:00Z');
      const connectors = await openPolicyConnectors({ db: store.db, policy, registry, now: () => now });
      const leave = { reason: 'leaver effective 2026-03-01', identityKey: 'L1' };
      const plan = makePlan([
        { ...leave, id: 'disable:dir:L1', kind: 'disable_account', system: 'directory', accountId: leaver.accountId, dependsOn: [] },
        { ...leave, id: 'sessions:dir:L1', kind: 'revoke_sessions', system: 'directory', accountId: leaver.accountId, dependsOn: ['disable:dir:L1'] },
        { ...leave, id: 'disable:wiki:L1', kind: 'disable_account', system: 'wiki', accountId: wikiLeaver.accountId, dependsOn: ['sessions:dir:L1'] },
        { ...create('J1'), system: 'wiki' },
      ]);
      const apply = () => applyPlan(deps({}, { connectorFor: (s) => (s === null ? undefined : connectors.get(s)), tasksFor: (s) => connectors.tasksFor(s), now: () => now }), plan);

      const first = await apply();
      assert.equal(first.status, 'applying', 'a plan with a task open is not finished');
      assert.deepEqual(first.changes.map((c) => c.state), ['confirmed', 'pending', 'waiting', 'confirmed']);
      assert.equal(directory.calls['apply:revoke_sessions'] ?? 0, 0, 'the connector is not asked for what it does not provision');
      const tasks = createTaskStore({ db: store.db });
      const [task, ...more] = await tasks.listTasks({ system: 'directory', identityKey: 'L1', status: 'open' });
      assert.deepEqual(more, []);
      assert.equal(task?.kind, 'revoke_sessions');
      assert.equal(task?.owner, 'E0', 'the system owner carries it out');
      assert.equal(task?.dueAt, '2026-03-02T09:00:00.000Z');
      assert.match(task?.instruction ?? '', /End every session of L1 .*in directory\..*no-sessions connector cannot do this itself/);
      assert.equal(wiki.state.accounts.get(wikiLeaver.accountId)?.enabled, true, 'the wiki waits for the sessions to end');

      assert.deepEqual((await apply()).changes.map((c) => c.state), ['confirmed', 'pending', 'waiting', 'confirmed'], 'an open task keeps it pending');
      await tasks.closeTask(task!.id, { doneBy: 'E0', doneAt: now.toISOString(), note: 'signed out everywhere in the IdP console' }, 'E0');
      const second = await apply();
      assert.equal(second.status, 'applied');
      assert.deepEqual(second.changes.map((c) => c.state), ['confirmed', 'confirmed', 'confirmed', 'confirmed']);
      assert.equal(wiki.state.accounts.get(wikiLeaver.accountId)?.enabled, false);
      assert.equal(directory.calls['apply:revoke_sessions'] ?? 0, 0);
      await connectors.close();
    });

    test('with the chaos connector, apply recovers without duplicates over many seeded runs', { timeout: 240_000 }, async () => {
      const injected = { timeout: 0, rate_limited: 0, unavailable: 0, partial_page: 0, crash: 0 };
      for (let seed = 1; seed <= 12; seed++) {
        const fake = wikiFake();
        const leaver = addAccount(fake.state, 'L1');
        fake.state.grants.get(leaver.accountId)!.add('eng');
        const chaos = createChaosConnector(
          { seed, timeoutRate: 0.05, rateLimitRate: 0.05, unavailableRate: 0.05, crashRate: 0.2, crashMode: 'mixed', retryAfterMs: 100 },
          { inner: fake },
        );
        const leave = { ...base, identityKey: 'L1', reason: 'leaver effective 2026-03-01' };
        const disable: Change = { ...leave, id: 'disable:L1', kind: 'disable_account' };
        const removeGrant: Change = { ...leave, id: 'remove:L1:eng', kind: 'remove_grant', entitlement: 'eng', dependsOn: ['disable:L1'] };
        const joiners = ['J1', 'J2', 'J3'].flatMap((k) => [create(k), grant(k, 'staff'), grant(k, 'eng')]);
        const report = await applyPlan(
          deps({ wiki: chaos }, { options: { retry: { maxAttempts: 12, baseDelayMs: 10 }, quarantine: { after: 1_000, unreachableAfter: 1_000 }, callTimeoutMs: 200, applyExpireSeconds: 10 } }),
          makePlan([...joiners, disable, removeGrant]),
        );
        assert.equal(report.status, 'applied', `seed ${seed}: ${JSON.stringify(report.changes.filter((c) => c.state !== 'confirmed'))}`);
        assert.equal(fake.state.accounts.size, 4, `seed ${seed}: one account per joiner plus the leaver`);
        assert.equal(fake.state.effects.create_account, 3, `seed ${seed}: each account created once`);
        assert.equal(fake.calls['apply:create_account'], 3, `seed ${seed}: no create was sent twice`);
        assert.equal(fake.state.accounts.get(leaver.accountId)?.enabled, false);
        assert.equal(fake.state.grants.get(leaver.accountId)?.size, 0);
        for (const [fault, n] of Object.entries(chaos.injected)) injected[fault as keyof typeof injected] += n;
      }
      for (const fault of ['timeout', 'rate_limited', 'unavailable', 'crash'] as const) assert.ok(injected[fault] > 2, `${fault} was injected (${injected[fault]})`);
      assert.equal((await verifyAudit(store.db)).ok, true);
    });
  });
}
