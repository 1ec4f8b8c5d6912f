/**
 * What a batch of change jobs costs the store and the connector: the store's
 * work is done per batch, not per change (statements do not grow with the
 * batch), and a connector that reads back a page at once is asked once before
 * acting and once after, with the same confirmation rule as one read-back per
 * change.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { PgBoss } from 'pg-boss';
import { dieAtQuery, statementCounter, WorkerDied } from '../../test/support/query-plugins.ts';
import type { Change, ChangeOutcome, Plan } from '../domain/change.ts';
import type { ChangeSecrets, Connector } from '../connectors/connector.ts';
import { createFakeConnector, type FakeConnector } from '../connectors/fake/fake-connector.ts';
import { createKeyring, masterKey } from '../connectors/secrets/index.ts';
import { createInitialCredentials, withInitialCredentials } from '../app/initial-credentials.ts';
import { verifyAudit } from '../store/audit-log.ts';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { closeStoreWithBoss, openStoreWithBoss } from '../../test/support/store-with-boss.ts';
import { queueCurrent, runChangeJobs, submitPlan, type ChangeJobDeps } from './change-job.ts';
import { changeJobSchema, QUEUE } from './job-queues.ts';

let plans = 0;
const makePlan = (changes: readonly Change[]): Plan => ({ id: `plan-batch-${++plans}-${Date.now()}`, computedAt: '2026-03-01T08:00:00Z', fingerprint: 'fp', changes });
const create = (key: string): Change => ({
  id: `create:wiki:${key}`, kind: 'create_account', identityKey: key, system: 'wiki', reason: 'joiner', dependsOn: [], attributes: { user_name: key.toLowerCase() }, credential: 'new_secret',
});
const grant = (key: string): Change => ({ id: `grant:wiki:${key}:staff`, kind: 'add_grant', identityKey: key, system: 'wiki', entitlement: 'staff', reason: 'rule', dependsOn: [`create:wiki:${key}`] });

/** The fake, reading back a page per call and setting passwords; counts what it is asked. */
function pagedDirectory(inner: FakeConnector, apply: (c: Change, secrets?: ChangeSecrets) => Promise<ChangeOutcome> = (c) => inner.apply(c)) {
  const asked = { pages: 0, single: 0, secrets: new Map<string, string>() };
  const connector: Connector = {
    describe: () => ({ ...inner.describe(), credentials: true }),
    validate: () => inner.validate(),
    list: inner.list.bind(inner),
    readBack: (c) => (asked.single++, inner.readBack(c)),
    readBackMany: async (changes) => (asked.pages++, Promise.all(changes.map((c) => inner.readBack(c)))),
    apply: async (c, secrets) => {
      if (secrets?.newSecret) asked.secrets.set(c.id, secrets.newSecret.reveal());
      return apply(c, secrets);
    },
  };
  return { connector, asked };
}


for (const backend of testBackends()) {
  describe(`change batches on ${backend.name}`, () => {
    let store: Store;
    let boss: PgBoss;
    before(async () => ({ store, boss } = await openStoreWithBoss(backend)));
    after(() => closeStoreWithBoss(store, boss));
    beforeEach(async () => {
      await boss.deleteAllJobs(QUEUE.applyChange);
    });
    const keyring = createKeyring(masterKey(randomBytes(32)));

    const deps = (connector: Connector, db = store.db): ChangeJobDeps => ({
      db, boss, workerId: 'test-worker', leaseMs: 5_000, actor: 'test:batch',
      connectorFor: (system) => (system === 'wiki' ? connector : undefined), random: () => 1, alert: () => undefined,
    });

    /** Applies `size` account creations with initial passwords as one batch; what it cost and what it left. */
    async function applyBatch(size: number, prefix: string) {
      const counter = statementCounter();
      const db = store.db.withPlugin(counter);
      const { connector, asked } = pagedDirectory(createFakeConnector({ groups: ['staff'] }, { system: 'wiki' }));
      const credentials = createInitialCredentials({ db, keyring: () => keyring, systemOwner: () => 'OWNER' });
      const plan = makePlan(Array.from({ length: size }, (_, i) => create(`${prefix}${i}`)));
      await submitPlan(deps(connector), plan);
      const results = await runChangeJobs(deps(withInitialCredentials(connector, credentials), db), plan.changes.map((c) => ({ planId: plan.id, changeId: c.id, seq: 1 })));
      const delivered = await store.db.selectFrom('initial_credentials').select(['change_id', 'state', 'task_id']).where('change_id', 'in', plan.changes.map((c) => c.id)).execute();
      return { statements: counter.count, results: results.map((r) => ('outcome' in r ? r.outcome : r.error.message)), asked, delivered, plan };
    }

    test('a batch of 40 account creations with initial passwords takes no more statements than a batch of 4', async () => {
      const small = await applyBatch(4, 'S');
      const large = await applyBatch(40, 'L');
      assert.deepEqual(large.results, Array(40).fill('confirmed'));
      assert.deepEqual(small.results, Array(4).fill('confirmed'));
      assert.ok(large.statements <= small.statements, `40 changes took ${large.statements} statements, 4 took ${small.statements}`);
      // Each password stored once, set in the system, and handed over for delivery through a task of its own.
      assert.equal(large.delivered.length, 40);
      assert.ok(large.delivered.every((d) => d.state === 'ready' && d.task_id !== null));
      assert.equal(new Set(large.delivered.map((d) => d.task_id)).size, 40);
      assert.equal(new Set(large.asked.secrets.values()).size, 40, 'every account got a password of its own');
      assert.equal((await verifyAudit(store.db)).ok, true);
    });

    test('a connector that reads back a page at once is asked twice per batch, before acting and after, and never change by change', async () => {
      const { asked, results } = await applyBatch(12, 'P');
      assert.deepEqual(results, Array(12).fill('confirmed'));
      assert.deepEqual([asked.pages, asked.single], [2, 0]);
    });

    test('in a batch read back a page at a time, a change whose apply says done but whose entry does not hold is not confirmed, while the rest are', async () => {
      const inner = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
      // Claims success for Q2 without doing anything: only the page's answer for Q2 can tell.
      const { connector } = pagedDirectory(inner, async (c) => (c.identityKey === 'Q2' ? { status: 'done' } : inner.apply(c)));
      const plan = makePlan(['Q1', 'Q2', 'Q3'].map(create));
      await submitPlan(deps(connector), plan);
      const credentials = createInitialCredentials({ db: store.db, keyring: () => keyring, systemOwner: () => 'OWNER' });
      const results = await runChangeJobs(deps(withInitialCredentials(connector, credentials)), plan.changes.map((c) => ({ planId: plan.id, changeId: c.id, seq: 1 })));
      assert.deepEqual(results.map((r) => ('outcome' in r ? r.outcome : r.error.message)), ['confirmed', 'retrying', 'confirmed']);
      const rows = await store.db.selectFrom('plan_changes').select(['change_id', 'state', 'last_error']).where('plan_id', '=', plan.id).orderBy('change_id').execute();
      assert.deepEqual(rows.map((r) => [r.change_id, r.state]), [['create:wiki:Q1', 'confirmed'], ['create:wiki:Q2', 'running'], ['create:wiki:Q3', 'confirmed']]);
      assert.match(rows[1]!.last_error ?? '', /read-back does not hold/);
      // The password of the change that does not hold stays pending, for its next attempt: it is not handed over.
      const states = await store.db.selectFrom('initial_credentials').select(['change_id', 'state']).where('change_id', 'in', plan.changes.map((c) => c.id)).orderBy('change_id').execute();
      assert.deepEqual(states.map((s) => [s.change_id, s.state]), [['create:wiki:Q1', 'ready'], ['create:wiki:Q2', 'pending'], ['create:wiki:Q3', 'ready']]);
      await boss.deleteQueuedJobs(QUEUE.applyChange);
    });

    test('a worker that dies at any query of a batch read back a page at a time never carries out a change twice, and each password is delivered once, the one the account got', async () => {
      let diedAfterActing = 0;
      for (let k = 1; k < 300; k++) {
        const inner = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
        const calls = new Map<string, number>();
        const { connector, asked } = pagedDirectory(inner, (c) => (calls.set(c.id, (calls.get(c.id) ?? 0) + 1), inner.apply(c)));
        // New people on each try: a dead worker's lease on a change holds it, in every plan, until it lapses.
        const [a, b] = [`K${k}a`, `K${k}b`];
        const plan = makePlan([create(a), create(b), grant(a), grant(b)]);
        await submitPlan(deps(connector), plan);
        const dying = store.db.withPlugin(dieAtQuery(k));
        const dyingCredentials = createInitialCredentials({ db: dying, keyring: () => keyring, systemOwner: () => 'OWNER' });
        const batch = plan.changes.slice(0, 2).map((c) => ({ planId: plan.id, changeId: c.id, seq: 1 }));
        const results = await runChangeJobs(deps(withInitialCredentials(connector, dyingCredentials), dying), batch);
        const died = results.some((r) => 'error' in r && r.error instanceof WorkerDied);
        if (died && calls.size > 0) diedAfterActing++;
        // The dead worker's leases lapse; its jobs and whatever it queued are offered again to a live one.
        await store.db.updateTable('change_runs').set({ lease_owner: null, lease_until: null }).where('plan_id', '=', plan.id).execute();
        await queueCurrent({ db: store.db, boss }, plan.id, plan.changes.map((c) => c.id));
        const credentials = createInitialCredentials({ db: store.db, keyring: () => keyring, systemOwner: () => 'OWNER' });
        for (let round = 0; round < 20; round++) {
          // One batch may hold a grant and the account it waits on: the grant goes again once the account is settled.
          const jobs = await boss.fetch(QUEUE.applyChange, { batchSize: 50, ignoreStartAfter: true });
          if (jobs.length === 0) break;
          await runChangeJobs(deps(withInitialCredentials(connector, credentials)), jobs.map((j) => changeJobSchema.parse(j.data)));
          for (const job of jobs) await boss.complete(QUEUE.applyChange, job.id);
        }
        const states = await store.db.selectFrom('plan_changes').select('state').where('plan_id', '=', plan.id).execute();
        assert.deepEqual(states.map((r) => r.state), ['confirmed', 'confirmed', 'confirmed', 'confirmed'], `died at query ${k}: every change ends confirmed`);
        assert.deepEqual([...calls.values()], [1, 1, 1, 1], `died at query ${k}: each change carried out once (${JSON.stringify([...calls])})`);
        const passwords = await store.db.selectFrom('initial_credentials').select(['id', 'change_id', 'state']).where('change_id', 'in', [`create:wiki:${a}`, `create:wiki:${b}`]).orderBy('change_id').execute();
        assert.deepEqual(passwords.map((p) => [p.change_id, p.state]), [[`create:wiki:${a}`, 'ready'], [`create:wiki:${b}`, 'ready']], `died at query ${k}: one password per account, ready for delivery`);
        for (const p of passwords) {
          const shown = await credentials.reveal(p.id, { actor: 'owner', identityKey: 'OWNER' });
          assert.equal(shown.reveal(), asked.secrets.get(p.change_id), `died at query ${k}: the password delivered is the one the account got`);
        }
        if (!died) break;
      }
      assert.ok(diedAfterActing > 0, 'some deaths came after the directory was changed, the window under test');
      assert.equal((await verifyAudit(store.db)).ok, true);
    });
  });
}
