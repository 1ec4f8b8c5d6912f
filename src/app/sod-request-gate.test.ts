import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { person, seedIdentities, writePolicyDir } from '../../test/support/jml-fixture.ts';
import { SOD_POLICY } from '../../test/support/sod-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import { isJmlError } from '../domain/errors.ts';
import { loadPolicy } from '../policy/policy-loader.ts';
import { verifyAudit } from '../store/audit-log.ts';
import { createAccessRequest } from './access-request.ts';
import { decideRequest } from './approval.ts';
import { listExceptions } from './exception-review.ts';

const T0 = new Date('2026-03-02T09:00:00Z');

for (const backend of testBackends()) {
  describe(`SoD on access requests (${backend.name})`, () => {
    test('a request that would break an SoD rule is refused unless it is a mitigation the rule owner approves with a control, an owner and an end date', async () => {
      const { policy } = await loadPolicy(writePolicyDir(SOD_POLICY));
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [person('E1', { manager: 'M1' }), person('M1'), person('CFO'), person('AUD'), person('OWNER')]);
        const deps = { db: store.db, policy, now: () => T0 };
        const first = await createAccessRequest(deps, { requester: 'E1', identityKey: 'E1', entitlement: 'erp:pay-create', justification: 'accounts payable' });
        await decideRequest(store.db, { requestId: first.request.id, approver: 'M1', decision: 'approve' }, T0);
        await decideRequest(store.db, { requestId: first.request.id, approver: 'OWNER', decision: 'approve' }, T0);

        const before = await store.db.selectFrom('access_requests').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        await assert.rejects(
          createAccessRequest(deps, { requester: 'E1', identityKey: 'E1', entitlement: 'erp:pay-approve', justification: 'month end' }),
          (e) => isJmlError(e, 'conflict') && /payments/.test(e.message) && /erp:pay-approve and erp:pay-create/.test(e.message),
        );
        await assert.rejects(
          createAccessRequest(deps, { requester: 'E1', identityKey: 'E1', entitlement: 'erp:pay-approve', justification: 'month end', durationDays: 10, mitigation: { control: 'trust-me', owner: 'AUD' } }),
          (e) => isJmlError(e, 'conflict') && /dual-signature-review/.test(e.message),
        );
        await assert.rejects(
          createAccessRequest(deps, { requester: 'E1', identityKey: 'E1', entitlement: 'erp:pay-approve', justification: 'month end', durationDays: 60, mitigation: { control: 'dual-signature-review', owner: 'AUD' } }),
          (e) => isJmlError(e, 'invalid_input') && /30 days/.test(e.message),
        );
        const after = await store.db.selectFrom('access_requests').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        assert.equal(after.n, before.n, 'a refusal files nothing');

        const { request, stages } = await createAccessRequest(deps, {
          requester: 'E1', identityKey: 'E1', entitlement: 'erp:pay-approve', justification: 'month end cover', durationDays: 14, mitigation: { control: 'dual-signature-review', owner: 'AUD' },
        });
        assert.equal(request.kind, 'exception');
        assert.deepEqual(request.sod, { rule: 'payments', control: 'dual-signature-review', controlOwner: 'AUD' });
        assert.deepEqual(stages.map((s) => [s.name, s.approvers]), [['manager', ['M1']], ['system_owner', ['OWNER']], ['sod:payments', ['CFO']]]);
        await decideRequest(store.db, { requestId: request.id, approver: 'M1', decision: 'approve' }, T0);
        await decideRequest(store.db, { requestId: request.id, approver: 'OWNER', decision: 'approve' }, T0);
        await assert.rejects(decideRequest(store.db, { requestId: request.id, approver: 'M1', decision: 'approve' }, T0), (e) => isJmlError(e, 'forbidden'), 'only the rule owner decides the mitigation');
        const approved = await decideRequest(store.db, { requestId: request.id, approver: 'CFO', decision: 'approve' }, T0);
        assert.equal(approved.state, 'approved');
        assert.equal(approved.validTo?.slice(0, 10), '2026-03-16');

        const listed = await listExceptions(store.db, T0, { warnDays: 7, reviewEveryDays: 90 });
        assert.deepEqual(listed.map((x) => [x.id, x.sod?.rule, x.sod?.control]), [[request.id, 'payments', 'dual-signature-review']]);
        assert.equal((await verifyAudit(store.db)).ok, true);
      } finally {
        await store.close();
      }
    });
  });
}
