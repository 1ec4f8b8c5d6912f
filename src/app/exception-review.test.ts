import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { person, seedIdentities } from '../../test/support/jml-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import { isJmlError } from '../domain/errors.ts';
import { verifyAudit } from '../store/audit-log.ts';
import type { Alert } from './alert.ts';
import { checkExceptionReviews, listExceptions, recordExceptionReview } from './exception-review.ts';
import { listFindings } from './findings-store.ts';

const T0 = new Date('2026-03-02T09:00:00Z');
const day = (n: number) => new Date(T0.getTime() + n * 86_400_000);
const settings = { warnDays: 14, reviewEveryDays: 90 };

for (const backend of testBackends()) {
  describe(`exception review (${backend.name})`, () => {
    test('exceptions ending soon and past their review raise a finding and one alert each; a review or the end resolves it', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1', { manager: 'M1' }), person('M1')]);
        const exception = (id: string, validTo: Date) => ({
          id, kind: 'exception' as const, requester: 'E1', identity_key: 'E1', role: null, entitlements: JSON.stringify([{ system: 'wiki', entitlement: id }]),
          justification: 'project', duration_days: null, state: 'approved' as const, created_at: T0.toISOString(), decided_at: T0.toISOString(), valid_to: validTo.toISOString(),
        });
        await store.db.insertInto('access_requests').values([exception('X1', day(30)), exception('X2', day(200))]).execute();
        const alerts: Alert[] = [];
        const sink = (a: Alert) => void alerts.push(a);
        const states = async (at: Date) => (await listExceptions(store.db, at, settings)).map((x) => `${x.id}:${x.reviewState}:${x.daysLeft}`);

        assert.deepEqual(await states(day(1)), ['X1:in_force:29', 'X2:in_force:199']);
        assert.deepEqual(await checkExceptionReviews(store.db, day(1), settings, sink), []);

        assert.deepEqual(await states(day(17)), ['X1:ending_soon:13', 'X2:in_force:183']);
        assert.deepEqual(await checkExceptionReviews(store.db, day(17), settings, sink), ['X1:ending']);
        await checkExceptionReviews(store.db, day(18), settings, sink);
        assert.deepEqual(alerts.map((a) => a.subject), ['X1:ending'], 'one alert while the finding stays open');

        assert.deepEqual(await states(day(91)), ['X2:review_overdue:109'], 'X1 has ended');
        assert.deepEqual(await checkExceptionReviews(store.db, day(91), settings, sink), ['X2:review']);
        const open = await listFindings(store.db, { kind: 'exception_review', state: 'open' });
        assert.deepEqual(open.map((f) => f.id), ['exception_review:X2:review']);
        assert.match(open[0]!.detail, /was due for review on 2026-05-31/);

        await assert.rejects(recordExceptionReview(store.db, { requestId: 'X2', reviewer: 'E1' }, day(92), settings), (e) => isJmlError(e, 'forbidden'), 'nobody reviews their own exception');
        const reviewed = await recordExceptionReview(store.db, { requestId: 'X2', reviewer: 'M1', comment: 'still on the project' }, day(92), settings);
        assert.equal(reviewed.reviewState, 'in_force');
        assert.equal(reviewed.reviewDue, day(182).toISOString());
        assert.deepEqual(await listFindings(store.db, { kind: 'exception_review', state: 'open' }), []);
        assert.deepEqual(await states(day(181)), ['X2:in_force:19']);
        assert.deepEqual(await states(day(183)), ['X2:review_overdue:17'], 'due again 90 days after the review');
        assert.deepEqual(alerts.map((a) => a.subject), ['X1:ending', 'X2:review']);
        assert.equal((await verifyAudit(store.db)).ok, true);
      } finally {
        await store.close();
      }
    });
  });
}
