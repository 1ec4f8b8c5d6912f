import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Change } from '../../domain/change.ts';
import { isJmlError } from '../../domain/errors.ts';
import type { Store } from '../../store/open-store.ts';
import { verifyAudit } from '../../store/audit-log.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { CONFORMANCE_ENTITLEMENTS, describeConformance } from '../conformance/conformance-suite.ts';
import { createManualConnector } from './manual-connector.ts';
import { openTasksByChange } from './task-store.ts';

const sha = 'a'.repeat(64);

for (const backend of testBackends()) {
  let store: Store;
  let systems = 0;
  before(async () => {
    store = await backend.open();
  });
  after(() => store.close());

  // Each harness gets its own system in the shared store; confirmation is on, so both people act.
  describeConformance(`manual on ${backend.name}`, async () => {
    const system = `manual-${++systems}`;
    const connector = createManualConnector({ owner: 'it-ops', requireConfirmation: true, entitlements: [...CONFORMANCE_ENTITLEMENTS] }, { system, db: store.db });
    return {
      connector,
      system,
      seedEntitlement: async (name) => name,
      accountAttributes: (identityKey) => ({ user_name: identityKey }),
      attributeUpdate: { title: 'Clerk' },
      completePending: async (outcome) => {
        await connector.tasks.closeTask(outcome.taskId!, { doneBy: 'owner-1', doneAt: new Date().toISOString(), note: 'done in the console' }, 'owner-1');
        await connector.tasks.confirmTask(outcome.taskId!, 'owner-2');
      },
    };
  });

  describe(`manual tasks on ${backend.name}`, () => {
    const at = new Date('2026-03-02T09:00:00Z');
    const change = (system: string, kind: Change['kind'] = 'create_account'): Change => ({
      id: `${kind}:${system}:E1`,
      kind,
      identityKey: 'E1',
      system,
      reason: 'joiner effective 2026-03-02',
      dependsOn: [],
      attributes: { user_name: 'e.one' },
    });

    test('a change becomes an open task for the owner, due after the SLA, saying what to do for whom', async () => {
      const connector = createManualConnector({ owner: 'payroll-team', slaHours: 48 }, { system: 'payroll', db: store.db, now: () => at });
      const outcome = await connector.apply(change('payroll'));
      assert.equal(outcome.status, 'pending');
      const [task] = await connector.tasks.listTasks({ system: 'payroll' });
      assert.equal(task?.id, outcome.status === 'pending' ? outcome.taskId : undefined);
      assert.equal(task?.status, 'open');
      assert.equal(task?.owner, 'payroll-team');
      assert.equal(task?.dueAt, '2026-03-04T09:00:00.000Z');
      assert.equal(task?.instruction, 'Create an account in payroll for E1 with user_name=e.one.');
      assert.equal((await connector.readBack(change('payroll'))).holds, false);
    });

    test('closing a task needs evidence: who, when, and a note or a file hash', async () => {
      const connector = createManualConnector({}, { system: 'badges', db: store.db });
      const outcome = await connector.apply(change('badges'));
      const id = outcome.status === 'pending' ? outcome.taskId! : '';
      await assert.rejects(connector.tasks.closeTask(id, { doneBy: 'bob', doneAt: new Date().toISOString() }, 'bob'), (e) => isJmlError(e, 'invalid_input'));
      await assert.rejects(connector.tasks.closeTask(id, { doneBy: 'bob', doneAt: new Date().toISOString(), fileSha256: 'xyz' }, 'bob'), (e) => isJmlError(e, 'invalid_input'));
      const closed = await connector.tasks.closeTask(id, { doneBy: 'bob', doneAt: new Date().toISOString(), fileSha256: sha }, 'carol');
      assert.equal(closed.status, 'done');
      assert.equal(closed.evidence?.fileSha256, sha);
      assert.equal(closed.closedBy, 'carol');
      assert.equal((await connector.readBack(change('badges'))).holds, true);
      await assert.rejects(connector.tasks.closeTask(id, { doneBy: 'bob', doneAt: new Date().toISOString(), note: 'again' }, 'bob'), (e) => isJmlError(e, 'conflict'));
    });

    test('with confirmation required, the change holds only after someone other than the doer confirms', async () => {
      const connector = createManualConnector({ requireConfirmation: true }, { system: 'vault', db: store.db });
      const outcome = await connector.apply(change('vault'));
      const id = outcome.status === 'pending' ? outcome.taskId! : '';
      await connector.tasks.closeTask(id, { doneBy: 'dave', doneAt: new Date().toISOString(), note: 'created' }, 'erin');
      assert.equal((await connector.readBack(change('vault'))).holds, false);
      await assert.rejects(connector.tasks.confirmTask(id, 'dave'), (e) => isJmlError(e, 'forbidden'));
      await assert.rejects(connector.tasks.confirmTask(id, 'erin'), (e) => isJmlError(e, 'forbidden'));
      const confirmed = await connector.tasks.confirmTask(id, 'frank');
      assert.equal(confirmed.status, 'confirmed');
      assert.equal((await connector.readBack(change('vault'))).holds, true);
      assert.equal((await connector.apply(change('vault'))).status, 'done');
    });

    test('changes without account state read back from their own task', async () => {
      const connector = createManualConnector({}, { system: 'laptops', db: store.db });
      const collect: Change = { ...change('laptops', 'collect_asset'), assetTag: 'LT-0042' };
      const outcome = await connector.apply(collect);
      assert.equal(outcome.status, 'pending');
      assert.match((await connector.tasks.getTask(outcome.status === 'pending' ? outcome.taskId! : '')).instruction, /Collect asset LT-0042 from E1/);
      assert.equal((await connector.readBack(collect)).holds, false);
      await connector.tasks.closeTask(outcome.status === 'pending' ? outcome.taskId! : '', { doneBy: 'gina', doneAt: new Date().toISOString(), note: 'returned to IT' }, 'gina');
      assert.equal((await connector.readBack(collect)).holds, true);
    });

    test('a plan\'s changes, few or many, find the open tasks handed out for them and no closed one', async () => {
      const connector = createManualConnector({}, { system: 'keys', db: store.db });
      const open = change('keys');
      const closed: Change = { ...change('keys', 'collect_asset'), assetTag: 'KEY-7' };
      assert.equal((await connector.apply(open)).status, 'pending');
      const outcome = await connector.apply(closed);
      await connector.tasks.closeTask(outcome.status === 'pending' ? outcome.taskId! : '', { doneBy: 'hal', doneAt: new Date().toISOString(), note: 'done' }, 'hal');
      // Past one lookup's worth of ids, the open tasks' change ids are matched instead.
      const many = [...Array.from({ length: 1500 }, (_, i) => `add_grant:keys:E${i}`), closed.id, open.id];
      for (const ids of [[open.id, closed.id], many]) {
        const found = await openTasksByChange(store.db, ids);
        assert.deepEqual([...found.keys()], [open.id]);
        assert.equal(found.get(open.id)!.status, 'open');
      }
    });

    test('opening, closing and confirming tasks are audited on an intact chain', async () => {
      const entries = await store.db.selectFrom('audit_log').select(['action', 'subject']).where('action', 'like', 'task.%').execute();
      const actions = new Set(entries.map((e) => e.action));
      assert.deepEqual([...actions].sort(), ['task.closed', 'task.confirmed', 'task.opened']);
      assert.equal((await verifyAudit(store.db)).ok, true);
    });
  });
}
