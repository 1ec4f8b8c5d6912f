import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { testBackends } from '../../../test/support/backends.ts';
import { testConfig } from '../../../test/support/hr-files.ts';
import { startJobBoss } from '../../jobs/job-boss.ts';
import { registerScimBatchJobs } from '../../jobs/scim-batch-job.ts';
import type { Store } from '../../store/open-store.ts';
import { JmlError } from '../../domain/errors.ts';
import { acceptBatch, BATCH_LEASE_MS, BATCH_MAX_ATTEMPTS, runBatch } from './scim-batch.ts';
import type { BulkOperation, BulkOutcome } from './scim-bulk-run.ts';
import { pushUsers, type PushInput, type PushResult } from './scim-push.ts';

const config = testConfig({ timezone: 'Europe/Berlin', sources: { entra: { type: 'scim' } }, mass_change: { minimum: 1000, percent: 100 } });

function user(id: string, extra: Record<string, unknown> = {}) {
  return { externalId: id, userName: `${id.toLowerCase()}@example.com`, name: { givenName: 'Pat', familyName: id }, title: 'Engineer', ...extra };
}

/** Three pushes: [A, B] joiners, [A, B] movers, [A leaver, C joiner]. */
function operations(prefix: string): BulkOperation[] {
  const [a, b, c] = [`${prefix}A`, `${prefix}B`, `${prefix}C`];
  return [
    { method: 'POST', bulkId: 'a', path: '/Users', data: user(a) },
    { method: 'POST', bulkId: 'b', path: '/Users', data: user(b) },
    { method: 'PUT', path: '/Users/bulkId:a', data: user(a, { title: 'Lead' }) },
    { method: 'PUT', path: `/Users/${b}`, data: user(b, { title: 'Lead' }) },
    { method: 'PATCH', path: `/Users/${a}`, data: { Operations: [{ op: 'replace', path: 'active', value: 'False' }] } },
    { method: 'POST', path: '/Users', data: user(c) },
  ];
}

for (const backend of testBackends()) {
  describe(`durable asynchronous SCIM Bulk on ${backend.name}`, () => {
    let store: Store;
    const clock = { at: new Date('2026-11-22T10:00:00Z').getTime() };
    const now = () => new Date(clock.at);
    const push = (input: PushInput) => pushUsers({ db: store.db, config }, input);

    before(async () => {
      store = await backend.open();
    });
    after(async () => store.close());

    const accept = async (prefix: string) => {
      const id = randomUUID();
      await acceptBatch(store.db, { id, source: 'entra', actor: 'scim:entra:test', trigger: 'test', request: { operations: operations(prefix) }, now: now() });
      return id;
    };
    const events = async (keys: readonly string[]) =>
      (await sql<{ identity_key: string; type: string; n: number }>`select identity_key, type, count(*)::int as n from lifecycle_events where identity_key = any(${keys}::text[]) group by identity_key, type order by identity_key, type`.execute(store.db)).rows.map((r) => `${r.identity_key} ${r.type} ×${r.n}`);
    const batch = (id: string) => store.db.selectFrom('scim_batches').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const everyEventOnce = (p: string) => [`${p}A joiner ×1`, `${p}A leaver ×1`, `${p}A mover ×1`, `${p}B joiner ×1`, `${p}B mover ×1`, `${p}C joiner ×1`];

    test('a batch whose process dies after its second push is resumed by another process once the lease lapses: every operation runs once, and its events exist exactly once', async () => {
      const id = await accept('K');
      let pushes = 0;
      // The first process "dies" as its third push begins: the call never returns, its lease stays as it was.
      const dying = (input: PushInput): Promise<PushResult> => (++pushes === 3 ? new Promise<PushResult>(() => {}) : push(input));
      void runBatch({ db: store.db, push: dying, now, owner: 'api:host-1:100' }, id);
      for (let i = 0; i < 200 && pushes < 3; i += 1) await new Promise((r) => setTimeout(r, 20));
      assert.equal(pushes, 3);
      const stopped = await batch(id);
      assert.equal(stopped.status, 'running');
      assert.equal(stopped.processed, 4, 'the two pushes made are recorded with their four operations');
      assert.deepEqual(await events(['KA', 'KB', 'KC']), ['KA joiner ×1', 'KA mover ×1', 'KB joiner ×1', 'KB mover ×1']);

      assert.equal(await runBatch({ db: store.db, push, now, owner: 'worker:host-2:200' }, id), 'busy', 'while the lease holds, nobody else takes it');
      clock.at += BATCH_LEASE_MS + 1000;
      assert.equal(await runBatch({ db: store.db, push, now, owner: 'worker:host-2:200' }, id), 'done');

      const done = await batch(id);
      assert.equal(done.status, 'done');
      const outcomes = done.results as BulkOutcome[];
      assert.deepEqual(outcomes.map((o) => [o.position, o.ok]), [[0, true], [1, true], [2, true], [3, true], [4, true], [5, true]]);
      assert.equal(done.import_ids.length, 3, 'one import per push, none twice');
      assert.deepEqual(await events(['KA', 'KB', 'KC']), everyEventOnce('K'));
      assert.equal(await runBatch({ db: store.db, push, now, owner: 'worker:host-3:300' }, id), 'done', 'a finished batch is not run again');
      assert.deepEqual(await events(['KA', 'KB', 'KC']), everyEventOnce('K'));
    });

    test('a process that dies inside a push, before it commits, leaves neither the push nor its record: the resumed run applies it once', async () => {
      const id = await accept('L');
      let pushes = 0;
      const crashing = (input: PushInput): Promise<PushResult> =>
        push(++pushes !== 2 ? input : { ...input, inTransaction: async (trx, result) => { await input.inTransaction!(trx, result); throw new Error('the process died before COMMIT'); } });
      await assert.rejects(runBatch({ db: store.db, push: crashing, now, owner: 'api:host-1:101' }, id), /before COMMIT/);
      assert.equal((await batch(id)).processed, 2);
      assert.deepEqual(await events(['LA', 'LB', 'LC']), ['LA joiner ×1', 'LB joiner ×1'], 'the second push was rolled back with its record');
      assert.equal(await runBatch({ db: store.db, push, now, owner: 'worker:host-2:201' }, id), 'done', 'a run that failed gave its lease up at once');
      assert.deepEqual(await events(['LA', 'LB', 'LC']), everyEventOnce('L'));
      assert.equal((await batch(id)).processed, 6);
    });

    test('a batch that fails unexpectedly is run again at most five times in all, then fails saying so without showing the bug\'s own message to the client; a passing outage is not counted', async () => {
      const id = await accept('N');
      let calls = 0;
      const broken = async (): Promise<PushResult> => {
        calls += 1;
        throw new TypeError('mapping is not a function');
      };
      const outage = async (): Promise<PushResult> => {
        throw new JmlError('unavailable', 'the database is restarting', { retryable: true });
      };
      await assert.rejects(runBatch({ db: store.db, push: outage, now, owner: 'worker:host-5:500' }, id), /restarting/);
      assert.deepEqual([(await batch(id)).status, (await batch(id)).attempts], ['running', 0], 'an outage is retried as long as it lasts');
      for (let run = 1; run <= BATCH_MAX_ATTEMPTS; run += 1) {
        await assert.rejects(runBatch({ db: store.db, push: broken, now, owner: `worker:host-5:${500 + run}` }, id), /not a function/);
        const row = await batch(id);
        assert.deepEqual([row.status, row.attempts], [run < BATCH_MAX_ATTEMPTS ? 'running' : 'failed', run], `after run ${run}`);
      }
      const failed = await batch(id);
      assert.match(failed.error ?? '', new RegExp(`internal error stopped the batch after ${BATCH_MAX_ATTEMPTS} run\\(s\\).*batch ${id}`));
      assert.doesNotMatch(failed.error ?? '', /mapping/, 'the internal message stays in the server log');
      assert.ok(failed.finished_at !== null && failed.lease_owner === null);
      assert.equal(await runBatch({ db: store.db, push: broken, now, owner: 'worker:host-5:600' }, id), 'done', 'a failed batch is not taken again');
      assert.equal(calls, BATCH_MAX_ATTEMPTS);
      assert.deepEqual(await events(['NA', 'NB', 'NC']), []);
    });

    test('a batch accepted by a process that died before starting it is run by the workers\' sweep', async () => {
      const id = await accept('M');
      const boss = await startJobBoss(store.db, store.backend, { schedule: false });
      try {
        await registerScimBatchJobs(boss, { db: store.db, push, now, owner: 'worker:host-4:400' }, { pollingIntervalSeconds: 0.5 }, false);
        for (let i = 0; i < 150 && (await batch(id)).status !== 'done'; i += 1) await new Promise((r) => setTimeout(r, 100));
        assert.equal((await batch(id)).status, 'done');
        assert.deepEqual(await events(['MA', 'MB', 'MC']), everyEventOnce('M'));
      } finally {
        await boss.stop({ graceful: false, close: false });
      }
    });
  });
}
