import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { PgBoss } from 'pg-boss';
import { sql } from 'kysely';
import { dieAtQuery, statementCounter, WorkerDied } from '../../test/support/query-plugins.ts';
import type { Change, ChangeOutcome, Plan } from '../domain/change.ts';
import type { Connector } from '../connectors/connector.ts';
import { createFakeConnector, type FakeConnector } from '../connectors/fake/fake-connector.ts';
import { isQuarantined, probeQuarantined, releaseQuarantine } from '../app/quarantine.ts';
import { verifyAudit } from '../store/audit-log.ts';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { closeStoreWithBoss, openStoreWithBoss } from '../../test/support/store-with-boss.ts';
import { queueCurrent, resumeSystem, runChangeJob, runChangeJobs, submitPlan, sweepChanges, type ChangeJobDeps, type ChangeJobOutcome } from './change-job.ts';
import { changeJobId, changeJobSchema, QUEUE, type ChangeJob } from './job-queues.ts';

let plans = 0;
const makePlan = (changes: readonly Change[]): Plan => ({ id: `plan-${++plans}-${Date.now()}`, computedAt: '2026-03-01T08:00:00Z', fingerprint: 'fp', changes });
const create = (key: string, system = 'wiki'): Change => ({ id: `create:${system}:${key}`, kind: 'create_account', identityKey: key, system, reason: 'joiner', dependsOn: [], attributes: { user_name: key.toLowerCase() } });
const grant = (key: string, group: string, system = 'wiki'): Change => ({ id: `grant:${system}:${key}:${group}`, kind: 'add_grant', identityKey: key, system, entitlement: group, reason: 'rule', dependsOn: [`create:${system}:${key}`] });

/** Fails `apply` retryably `failures` times (429 with Retry-After), then lets the fake carry it out. */
function flaky(inner: FakeConnector, failures: number, retryAfterMs = 0): Connector {
  let left = failures;
  return {
    describe: () => inner.describe(),
    validate: () => inner.validate(),
    list: inner.list.bind(inner),
    readBack: (c) => inner.readBack(c),
    apply: async (c: Change): Promise<ChangeOutcome> => {
      if (left > 0) {
        left--;
        return { status: 'failed', retryable: true, message: '429 too many requests', retryAfterMs };
      }
      return inner.apply(c);
    },
  };
}

for (const backend of testBackends()) {
  describe(`change jobs on ${backend.name}`, () => {
    let store: Store;
    let boss: PgBoss;
    before(async () => ({ store, boss } = await openStoreWithBoss(backend)));
    after(() => closeStoreWithBoss(store, boss));
    // Each test starts with an empty apply queue: a job an earlier test left (a retry not yet due, or an
    // active one pg-boss's monitor expired and put back for retry) would otherwise turn up in its drain.
    beforeEach(async () => {
      await boss.deleteAllJobs(QUEUE.applyChange);
    });

    const deps = (connectors: Record<string, Connector>, extra: Partial<ChangeJobDeps> = {}): ChangeJobDeps => ({
      db: store.db,
      boss,
      workerId: 'test-worker',
      leaseMs: 5_000,
      actor: 'test:jobs',
      connectorFor: (system) => (system === null ? undefined : connectors[system]),
      random: () => 1,
      alert: () => undefined,
      ...extra,
    });

    /** Fetches and runs due jobs (ignoring start times when asked) until none are left; returns each outcome. */
    async function drain(d: ChangeJobDeps, options: { ignoreStartAfter?: boolean; max?: number } = {}): Promise<{ job: ChangeJob; outcome: ChangeJobOutcome }[]> {
      const log: { job: ChangeJob; outcome: ChangeJobOutcome }[] = [];
      for (let round = 0; round < (options.max ?? 50); round++) {
        const jobs = await boss.fetch(QUEUE.applyChange, { batchSize: 50, ignoreStartAfter: options.ignoreStartAfter ?? false });
        if (jobs.length === 0) break;
        for (const job of jobs) {
          const data = changeJobSchema.parse(job.data);
          log.push({ job: data, outcome: await runChangeJob(d, data) });
          await boss.complete(QUEUE.applyChange, job.id);
        }
      }
      return log;
    }

    test('a plan runs as jobs in dependency order and ends applied', async () => {
      const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      const plan = makePlan([grant('E1', 'staff'), create('E1')]);
      const { queued } = await submitPlan(deps({ wiki }), plan);
      assert.equal(queued, 1, 'only the change without dependencies is queued at first');
      const log = await drain(deps({ wiki }));
      assert.deepEqual(log.map((l) => [l.job.changeId, l.outcome]), [['create:wiki:E1', 'confirmed'], ['grant:wiki:E1:staff', 'confirmed']]);
      assert.equal(wiki.state.effects.create_account, 1);
      const row = await store.db.selectFrom('plans').select('status').where('id', '=', plan.id).executeTakeFirstOrThrow();
      assert.equal(row.status, 'applied');
      assert.equal((await submitPlan(deps({ wiki }), plan)).queued, 1);
      assert.deepEqual(await drain(deps({ wiki })), [], 'submitting the same plan again queues nothing new');
    });

    test('as soon as a large plan is submitted, the database knows how many changes it has, so a batch looks its 200 up by key instead of reading the whole plan', async () => {
      const keys = Array.from({ length: 3_000 }, (_, i) => `L${String(i).padStart(5, '0')}`);
      const plan = makePlan(keys.flatMap((key) => [create(key), grant(key, 'staff')]));
      await submitPlan({ db: store.db, boss, actor: 'test:jobs' }, plan);
      // The planner's estimate of the plan's rows decides between an index lookup and reading every row of the plan.
      const estimate = async (table: 'plan_changes' | 'change_runs') => {
        const { rows } = await sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT change_id FROM ${sql.table(table)} WHERE plan_id = ${plan.id}`.execute(store.db);
        return Number(/rows=(\d+)/.exec(rows[0]!['QUERY PLAN'])![1]);
      };
      for (const table of ['plan_changes', 'change_runs'] as const) {
        const rows = await estimate(table);
        assert.ok(rows >= plan.changes.length / 2 && rows <= plan.changes.length * 2, `${table}: ${rows} rows expected for a plan of ${plan.changes.length} changes`);
      }
      // Not applied here: its changes must not turn up in the later tests' sweeps.
      await boss.deleteQueuedJobs(QUEUE.applyChange);
      await store.db.updateTable('plans').set({ status: 'partial' }).where('id', '=', plan.id).execute();
    });

    test('a plan of 6,000 changes is recorded and queued in a handful of statements, not one per 500 changes', async () => {
      const keys = Array.from({ length: 3_000 }, (_, i) => `W${String(i).padStart(5, '0')}`);
      const plan = makePlan(keys.flatMap((key) => [create(key), grant(key, 'staff')]));
      const counter = statementCounter();
      await submitPlan({ db: store.db.withPlugin(counter), boss, actor: 'test:jobs' }, plan);
      assert.ok(counter.count <= 14, `${counter.count} statements`);
      const rows = await store.db.selectFrom('plan_changes').select(['change_id', 'position', 'state', 'kind', 'identity_key']).where('plan_id', '=', plan.id).orderBy('position').execute();
      assert.deepEqual(rows.map((r) => [r.change_id, r.position, r.state, r.kind, r.identity_key]), plan.changes.map((c, i) => [c.id, i, 'planned', c.kind, c.identityKey]));
      const runs = await store.db.selectFrom('change_runs').select(['change_id', 'seq', 'system']).where('plan_id', '=', plan.id).orderBy('change_id').execute();
      assert.deepEqual(runs.map((r) => [r.change_id, r.seq, r.system]), plan.changes.map((c) => [c.id, 1, 'wiki']).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
      await boss.deleteQueuedJobs(QUEUE.applyChange);
      await store.db.updateTable('plans').set({ status: 'partial' }).where('id', '=', plan.id).execute();
    });

    test('a duplicate or out-of-order delivery of a change job does nothing', async () => {
      const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      const plan = makePlan([create('E2'), grant('E2', 'staff')]);
      await submitPlan(deps({ wiki }), plan);
      const first = { planId: plan.id, changeId: 'create:wiki:E2', seq: 1 };
      const [a, b] = await Promise.allSettled([runChangeJob(deps({ wiki }), first), runChangeJob(deps({ wiki }, { workerId: 'other' }), first)]);
      const outcomes = [a, b].map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message));
      assert.ok(outcomes.includes('confirmed'), `one delivery acts: ${outcomes.join(', ')}`);
      assert.ok(outcomes.some((o) => o === 'stale' || o === 'locked'), `the other does nothing: ${outcomes.join(', ')}`);
      await drain(deps({ wiki }));
      // The first job delivered once more, late: nothing happens, nothing is recorded.
      const auditBefore = await store.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(await runChangeJob(deps({ wiki }), first), 'stale');
      // A job from the future (a seq not reached yet) is stale too.
      assert.equal(await runChangeJob(deps({ wiki }), { ...first, seq: 99 }), 'stale');
      const auditAfter = await store.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(auditAfter.n, auditBefore.n);
      assert.equal(wiki.state.effects.create_account, 1);
      assert.equal(wiki.state.effects.add_grant, 1);
    });

    test('a retryable failure is retried later with backoff, never sooner than Retry-After', async () => {
      const fake = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      const wiki = flaky(fake, 2, 45_000);
      const plan = makePlan([create('E3')]);
      const d = deps({ wiki }, { retry: { baseDelayMs: 1_000, maxAttempts: 5 } });
      await submitPlan(d, plan);
      const [first] = await drain(d);
      assert.equal(first?.outcome, 'retrying');
      const next = await boss.findJobs<ChangeJob>(QUEUE.applyChange, { data: { planId: plan.id, seq: 2 } });
      assert.equal(next.length, 1);
      const delay = next[0]!.startAfter.getTime() - Date.now();
      assert.ok(delay > 40_000, `the next try waits for Retry-After (45 s), got ${delay} ms`);
      const rest = (await drain(d, { ignoreStartAfter: true })).filter((r) => r.job.planId === plan.id);
      assert.deepEqual(rest.map((r) => r.outcome), ['retrying', 'confirmed']);
      assert.equal(fake.state.effects.create_account, 1);
    });

    test('a process that opened only some systems leaves a change for another system in the queue instead of parking it', async () => {
      const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      const plan = makePlan([create('E30', 'crm')]);
      // `jml apply` of a wiki plan works the shared queue, and finds another plan's crm change there.
      const partial = deps({ wiki }, { leftToOthers: (system) => system === 'crm' });
      await submitPlan(partial, plan);
      const log = (await drain(partial)).filter((l) => l.job.planId === plan.id);
      assert.deepEqual(log.map((l) => l.outcome), ['elsewhere']);
      const row = await store.db.selectFrom('plan_changes').select('state').where('plan_id', '=', plan.id).where('change_id', '=', 'create:crm:E30').executeTakeFirstOrThrow();
      assert.equal(row.state, 'planned', 'the change is neither parked nor tried');
      const waiting = await boss.findJobs<ChangeJob>(QUEUE.applyChange, { data: { planId: plan.id }, queued: true });
      assert.equal(waiting.length, 1, 'the job is back in the queue for a process that has the connector');
      // A process with the crm connector then carries it out.
      const crm = createFakeConnector({ groups: ['staff'] }, { system: 'crm' });
      const rest = (await drain(deps({ crm, wiki }), { ignoreStartAfter: true })).filter((l) => l.job.planId === plan.id);
      assert.deepEqual(rest.map((l) => l.outcome), ['confirmed']);
      assert.equal(crm.state.effects.create_account, 1);
    });

    test('a change that keeps failing is parked with a finding, and what depends on it is blocked', async () => {
      const fake = createFakeConnector({ groups: ['staff'] }, { system: 'crm' });
      const crm = flaky(fake, 100);
      const plan = makePlan([create('E4', 'crm'), grant('E4', 'staff', 'crm')]);
      const d = deps({ crm }, { retry: { maxAttempts: 3, baseDelayMs: 10 }, quarantine: { after: 100 } });
      await submitPlan(d, plan);
      const log = await drain(d, { ignoreStartAfter: true });
      assert.deepEqual(log.map((l) => l.outcome), ['retrying', 'retrying', 'parked', 'blocked']);
      const change = await store.db.selectFrom('plan_changes').select(['state', 'last_error']).where('plan_id', '=', plan.id).where('change_id', '=', 'create:crm:E4').executeTakeFirstOrThrow();
      assert.equal(change.state, 'parked');
      assert.match(change.last_error ?? '', /gave up after 3 attempts: 429/);
      const finding = await store.db.selectFrom('findings').selectAll().where('id', '=', 'parked_change:create:crm:E4').executeTakeFirstOrThrow();
      assert.equal(finding.state, 'open');
      assert.equal((await store.db.selectFrom('plans').select('status').where('id', '=', plan.id).executeTakeFirstOrThrow()).status, 'partial');
    });

    test('a failing system is quarantined while others carry on, and a passing health check releases it', async () => {
      const down = createFakeConnector({ groups: [], unreachable: true }, { system: 'down' });
      const wiki = createFakeConnector({ groups: [] }, { system: 'wiki' });
      const connectors: Record<string, Connector> = { down, wiki };
      const alerts: string[] = [];
      // 'down' refuses connections: its first two failures, in the first batch, quarantine it whatever the clock
      // (before, the third failure had to come from a 10 ms retry that the drain caught only if it was already due).
      const d = deps(connectors, { retry: { maxAttempts: 50, baseDelayMs: 60_000 }, quarantine: { after: 2, unreachableAfter: 2, retryDelayMs: 600_000 }, alert: (a) => void alerts.push(a.kind) });
      const plan = makePlan([create('Q1', 'down'), create('Q2', 'down'), create('Q3', 'wiki')]);
      await submitPlan(d, plan);
      const log = await drain(d);
      assert.ok(log.some((l) => l.job.changeId === 'create:wiki:Q3' && l.outcome === 'confirmed'), 'the healthy system carries on');
      assert.ok(await isQuarantined(store.db, 'down'));
      assert.deepEqual(alerts, ['quarantined_system']);
      const deferred = await drain(d, { ignoreStartAfter: true, max: 1 });
      assert.ok(deferred.length > 0 && deferred.every((l) => l.outcome === 'deferred'), 'a quarantined system is not called');
      const pending = await boss.findJobs<ChangeJob>(QUEUE.applyChange, { data: { planId: plan.id }, queued: true });
      assert.ok(pending.every((j) => j.startAfter.getTime() - Date.now() > 500_000), 'its changes wait the slower quarantine delay');
      assert.deepEqual(await probeQuarantined(store.db, (s) => connectors[s], new Date()), [], 'a failing health check keeps it quarantined');
      connectors.down = createFakeConnector({ groups: [] }, { system: 'down' });
      assert.deepEqual(await probeQuarantined(store.db, (s) => connectors[s], new Date()), ['down']);
      assert.equal(await isQuarantined(store.db, 'down'), false);
      const rest = await drain(d, { ignoreStartAfter: true });
      assert.deepEqual(rest.map((r) => r.outcome).sort(), ['confirmed', 'confirmed']);
      assert.equal((await verifyAudit(store.db)).ok, true);
    });

    test('a system that cannot be reached is quarantined after three failures in a row; its other changes wait without using up attempts, and a release queues them again at once', async () => {
      const connectors: Record<string, Connector> = { gone: createFakeConnector({ groups: [], unreachable: true }, { system: 'gone' }) };
      const alerts: string[] = [];
      const d = deps(connectors, { alert: (a) => void alerts.push(a.kind) });
      const plan = makePlan(['U1', 'U2', 'U3', 'U4', 'U5'].map((k) => create(k, 'gone')));
      await submitPlan(d, plan);
      const log = await drain(d);
      assert.deepEqual(log.map((l) => l.outcome), ['retrying', 'retrying', 'retrying', 'deferred', 'deferred']);
      assert.ok(await isQuarantined(store.db, 'gone'));
      assert.deepEqual(alerts, ['quarantined_system']);
      const finding = await store.db.selectFrom('findings').select(['state', 'detail']).where('id', '=', 'quarantined_system:gone').executeTakeFirstOrThrow();
      assert.match(finding.detail, /gone quarantined after 3 consecutive failures to reach it: gone: connection refused/);
      const runs = await store.db.selectFrom('change_runs').select(['change_id', 'failures']).where('plan_id', '=', plan.id).orderBy('change_id').execute();
      assert.deepEqual(runs.map((r) => r.failures).sort(), [0, 0, 1, 1, 1], 'the waiting changes keep every attempt');

      connectors.gone = createFakeConnector({ groups: [] }, { system: 'gone' });
      await releaseQuarantine(store.db, 'gone', 'test:ops', new Date());
      assert.equal(await resumeSystem(d, 'gone'), 5);
      const rest = await drain(d);
      assert.deepEqual(rest.map((r) => r.outcome), ['confirmed', 'confirmed', 'confirmed', 'confirmed', 'confirmed'], 'at once, not at the turn given while it was down');
      assert.equal((await store.db.selectFrom('plans').select('status').where('id', '=', plan.id).executeTakeFirstOrThrow()).status, 'applied');
    });

    test('the sweep queues a change whose job was lost', async () => {
      const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      const plan = makePlan([create('E5')]);
      await submitPlan(deps({ wiki }), plan);
      await boss.deleteAllJobs(QUEUE.applyChange);
      assert.equal(await sweepChanges(deps({ wiki }), 0), 1);
      const log = await drain(deps({ wiki }));
      assert.deepEqual(log.map((l) => l.outcome), ['confirmed']);
    });

    test('a plan whose last change was recorded by a worker that died before closing the plan is closed by the sweep', async () => {
      let diedBeforeClosing = 0;
      for (let k = 1; k < 200; k++) {
        const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
        const plan = makePlan([create(`C${k}`)]);
        await submitPlan({ db: store.db, boss, actor: 'test:jobs' }, plan);
        const died = await runChangeJob(deps({ wiki }, { db: store.db.withPlugin(dieAtQuery(k)) }), { planId: plan.id, changeId: `create:wiki:C${k}`, seq: 1 }).then(
          () => false,
          (error: unknown) => (error instanceof WorkerDied ? true : Promise.reject(error)),
        );
        const change = await store.db.selectFrom('plan_changes').select('state').where('plan_id', '=', plan.id).executeTakeFirstOrThrow();
        const status = async () => (await store.db.selectFrom('plans').select('status').where('id', '=', plan.id).executeTakeFirstOrThrow()).status;
        if (change.state === 'confirmed' && (await status()) === 'applying') {
          diedBeforeClosing++;
          await sweepChanges(deps({ wiki }));
          assert.equal(await status(), 'applied', `died at query ${k}: the sweep closes the plan`);
        }
        if (!died) break;
      }
      assert.ok(diedBeforeClosing > 0, 'some deaths came between the change\'s record and the plan\'s close, the window under test');
      assert.equal((await verifyAudit(store.db)).ok, true);
      await boss.deleteQueuedJobs(QUEUE.applyChange);
    });

    test('a delivery of a change another worker holds comes back when that lease lapses, not on a growing backoff', async () => {
      const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      const plan = makePlan([create('E9')]);
      await submitPlan(deps({ wiki }), plan);
      const leaseUntil = new Date(Date.now() + 60_000);
      await store.db.updateTable('change_runs').set({ lease_owner: 'slow-worker', lease_until: leaseUntil.toISOString() }).where('plan_id', '=', plan.id).execute();
      assert.equal(await runChangeJob(deps({ wiki }), { planId: plan.id, changeId: 'create:wiki:E9', seq: 1 }), 'locked');
      assert.deepEqual((await drain(deps({ wiki }))).map((l) => l.outcome), ['locked'], 'the queued delivery is held off too');
      const again = await sql<{ start_after: Date }>`select start_after from pgboss.job where name = ${QUEUE.applyChange} and data->>'planId' = ${plan.id} and (data->>'seq')::int = 1 and state = 'created' and start_after > now()`.execute(store.db);
      assert.equal(again.rows.length, 1, 'one delivery queued for later, however many came meanwhile');
      const at = new Date(again.rows[0]!.start_after).getTime();
      assert.ok(at >= leaseUntil.getTime() && at < leaseUntil.getTime() + 5_000, `after the lease, not much later: ${new Date(at).toISOString()}`);
      assert.equal(wiki.state.effects.create_account ?? 0, 0, 'the held change is not carried out');
    });

    test('a worker that dies at any query of a change job never leaves a recorded change with its dependent unqueued', async () => {
      let diedAfterRecord = 0;
      for (let k = 1; k < 200; k++) {
        const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
        // A person of its own per try: a dead worker's lease holds its change, in any plan, until it lapses.
        const key = `D${k}`;
        const plan = makePlan([create(key), grant(key, 'staff')]);
        await submitPlan({ db: store.db, boss, actor: 'test:jobs' }, plan);
        const died = await runChangeJob(deps({ wiki }, { db: store.db.withPlugin(dieAtQuery(k)) }), { planId: plan.id, changeId: `create:wiki:${key}`, seq: 1 }).then(
          () => false,
          (error: unknown) => (error instanceof WorkerDied ? true : Promise.reject(error)),
        );
        const states = new Map((await store.db.selectFrom('plan_changes').select(['change_id', 'state']).where('plan_id', '=', plan.id).execute()).map((r) => [r.change_id, r.state]));
        if (states.get(`create:wiki:${key}`) === 'confirmed') {
          const run = await store.db.selectFrom('change_runs').select('seq').where('plan_id', '=', plan.id).where('change_id', '=', `grant:wiki:${key}:staff`).executeTakeFirstOrThrow();
          const queued = await boss.getJobById(QUEUE.applyChange, changeJobId({ planId: plan.id, changeId: `grant:wiki:${key}:staff`, seq: run.seq }));
          assert.ok(queued, `died at query ${k}: the account is recorded but its grant is not queued`);
          if (died) diedAfterRecord++;
        }
        if (!died) break;
      }
      assert.ok(diedAfterRecord > 0, 'some deaths came after the record, the window under test');
      // These jobs were for this test only.
      await boss.deleteQueuedJobs(QUEUE.applyChange);
    });

    test('in a batch where one change fails retryably, the others are confirmed and the failed one is retried later, not confirmed', async () => {
      const fake = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      const wiki: Connector = { ...fake, readBack: (c) => fake.readBack(c), apply: async (c: Change) => (c.identityKey === 'B2' ? { status: 'failed', retryable: true, message: '503 busy' } : fake.apply(c)) };
      const plan = makePlan([create('B1'), create('B2'), create('B3')]);
      await submitPlan(deps({ wiki }), plan);
      const jobs = plan.changes.map((c) => ({ planId: plan.id, changeId: c.id, seq: 1 }));
      const results = await runChangeJobs(deps({ wiki }), jobs);
      assert.deepEqual(results.map((r) => ('outcome' in r ? r.outcome : r.error.message)), ['confirmed', 'retrying', 'confirmed']);
      const rows = await store.db.selectFrom('plan_changes').select(['change_id', 'state', 'last_error']).where('plan_id', '=', plan.id).orderBy('change_id').execute();
      assert.deepEqual(rows.map((r) => [r.change_id, r.state]), [['create:wiki:B1', 'confirmed'], ['create:wiki:B2', 'running'], ['create:wiki:B3', 'confirmed']]);
      assert.equal(rows[1]!.last_error, '503 busy');
      const next = await boss.findJobs<ChangeJob>(QUEUE.applyChange, { data: { planId: plan.id, changeId: 'create:wiki:B2', seq: 2 } });
      assert.equal(next.length, 1, 'the failed change has its next try queued');
      assert.equal((await verifyAudit(store.db)).ok, true);
      await boss.deleteQueuedJobs(QUEUE.applyChange);
    });

    test('in a batch, a change whose apply says done but whose read-back does not hold is not confirmed, while the rest of the batch is', async () => {
      const fake = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      // Claims success for L2 without doing anything: only its read-back can tell.
      const wiki: Connector = { ...fake, readBack: (c) => fake.readBack(c), apply: async (c: Change) => (c.identityKey === 'L2' ? { status: 'done' } : fake.apply(c)) };
      const plan = makePlan([create('L1'), create('L2')]);
      await submitPlan(deps({ wiki }), plan);
      const results = await runChangeJobs(deps({ wiki }), plan.changes.map((c) => ({ planId: plan.id, changeId: c.id, seq: 1 })));
      assert.deepEqual(results.map((r) => ('outcome' in r ? r.outcome : r.error.message)), ['confirmed', 'retrying']);
      const l2 = await store.db.selectFrom('plan_changes').select(['state', 'last_error']).where('plan_id', '=', plan.id).where('change_id', '=', 'create:wiki:L2').executeTakeFirstOrThrow();
      assert.equal(l2.state, 'running');
      assert.match(l2.last_error ?? '', /read-back does not hold/);
      const confirmedEntries = await store.db.selectFrom('audit_log').select('details').where('action', '=', 'change.confirmed').where('trigger', '=', `plan:${plan.id}`).execute();
      assert.deepEqual(confirmedEntries.map((e) => (e.details as { change: string }).change), ['create:wiki:L1'], 'only the change that read back is audited as confirmed');
      await boss.deleteQueuedJobs(QUEUE.applyChange);
    });

    test('a worker that dies at any query of a batch never carries out a change twice, and what it left is finished by the next worker', async () => {
      let diedAfterActing = 0;
      for (let k = 1; k < 300; k++) {
        const fake = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
        // Counts the calls that change the directory: a second one for the same change is the duplicate under test.
        const calls = new Map<string, number>();
        const wiki: Connector = { ...fake, readBack: (c) => fake.readBack(c), apply: (c: Change) => (calls.set(c.id, (calls.get(c.id) ?? 0) + 1), fake.apply(c)) };
        // New people on each try: change ids are stable across plans, and a dead worker's lease on a
        // change holds it in every plan that carries it until the lease lapses.
        const [a, b] = [`D${k}a`, `D${k}b`];
        const plan = makePlan([create(a), create(b), grant(a, 'staff'), grant(b, 'staff')]);
        await submitPlan({ db: store.db, boss, actor: 'test:jobs' }, plan);
        const batch = [`create:wiki:${a}`, `create:wiki:${b}`].map((changeId) => ({ planId: plan.id, changeId, seq: 1 }));
        const results = await runChangeJobs(deps({ wiki }, { db: store.db.withPlugin(dieAtQuery(k)) }), batch);
        const died = results.some((r) => 'error' in r && r.error instanceof WorkerDied);
        if (died && calls.size > 0) diedAfterActing++;
        // The dead worker's leases lapse; its jobs and whatever it queued are offered again.
        await store.db.updateTable('change_runs').set({ lease_owner: null, lease_until: null }).where('plan_id', '=', plan.id).execute();
        await queueCurrent({ db: store.db, boss }, plan.id, plan.changes.map((c) => c.id));
        await drain(deps({ wiki }), { ignoreStartAfter: true });
        const states = await store.db.selectFrom('plan_changes').select('state').where('plan_id', '=', plan.id).execute();
        assert.deepEqual(states.map((r) => r.state), ['confirmed', 'confirmed', 'confirmed', 'confirmed'], `died at query ${k}: every change ends confirmed`);
        assert.deepEqual([...calls.values()], [1, 1, 1, 1], `died at query ${k}: each change carried out once (${JSON.stringify([...calls])})`);
        if (!died) break;
      }
      assert.ok(diedAfterActing > 0, 'some deaths came after the directory was changed, the window under test');
      assert.equal((await verifyAudit(store.db)).ok, true);
      await boss.deleteQueuedJobs(QUEUE.applyChange);
    });
  });
}
