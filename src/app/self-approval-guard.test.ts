import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testBackends } from '../../test/support/backends.ts';
import { tempDir, testConfig, writeHr, type Person } from '../../test/support/hr-files.ts';
import { verifyAudit } from '../store/audit-log.ts';
import { listFindings } from './findings-store.ts';
import { importSource } from './import-source.ts';

const AT = new Date('2026-11-22T10:00:00Z');

/** E0001 heads the team; E0002 and E0003 report to E0001, E0004 to E0002. */
const TEAM: readonly Person[] = [
  { id: 'E0001', manager: '' }, { id: 'E0002', manager: 'E0001' }, { id: 'E0003', manager: 'E0001' }, { id: 'E0004', manager: 'E0002' }, { id: 'E0009', manager: 'E0001' },
];

for (const backend of testBackends()) {
  describe(`self-approval caught at the manager change (${backend.name})`, () => {
    test('a mover that closes a management loop opens a finding for everyone in it at once, reroutes the approvals waiting on the loop and blocks those with nobody outside it', async () => {
      const store = await backend.open();
      const dir = tempDir();
      try {
        const config = testConfig();
        const run = (people: readonly Person[], name: string) => importSource({ db: store.db, config }, { source: 'hr', file: writeHr(dir, name, people), actor: 'cli:hr', asOf: '2026-11-22', now: AT });
        await run(TEAM, 'first.csv');
        assert.deepEqual(await listFindings(store.db, { kind: 'self_approver' }), []);

        // Requests already waiting, routed when the chain was sound.
        const request = (id: string, identityKey: string, approvers: string[]) => ({
          request: { id, kind: 'request' as const, requester: identityKey, identity_key: identityKey, role: null, entitlements: JSON.stringify([{ system: 'erp', entitlement: 'pay-view' }]), justification: 'work', duration_days: null, state: 'pending' as const, created_at: AT.toISOString() },
          step: { id: `${id}-1`, request_id: id, stage: 1, stage_name: 'manager', approvers, state: 'open' as const, timeout_hours: 72, escalate_to: null },
        });
        const filed = [request('r-cut', 'E0001', ['E0002']), request('r-reroute', 'E0001', ['E0002', 'E0009']), request('r-other', 'E0004', ['E0002'])];
        await store.db.insertInto('access_requests').values(filed.map((f) => f.request)).execute();
        await store.db.insertInto('approval_steps').values(filed.map((f) => f.step)).execute();

        // HR now says E0001 reports to E0002, who reports to E0001.
        await run(TEAM.map((p) => (p.id === 'E0001' ? { ...p, manager: 'E0002' } : p)), 'mover.csv');

        const open = await listFindings(store.db, { kind: 'self_approver', state: 'open' });
        assert.deepEqual(open.map((f) => f.id).sort(), ['self_approver:E0001', 'self_approver:E0002'], 'found by the import, before any scan');
        assert.match(open.find((f) => f.id === 'self_approver:E0001')!.detail, /E0001 → E0002 → E0001/);
        const requests = await store.db.selectFrom('access_requests').select(['id', 'state']).orderBy('id').execute();
        assert.deepEqual(requests.map((r) => `${r.id}:${r.state}`), ['r-cut:cancelled', 'r-other:pending', 'r-reroute:pending']);
        const steps = await store.db.selectFrom('approval_steps').select(['id', 'approvers', 'state']).orderBy('id').execute();
        assert.deepEqual(steps.map((s) => [s.id, s.approvers, s.state]), [['r-cut-1', ['E0002'], 'cancelled'], ['r-other-1', ['E0002'], 'open'], ['r-reroute-1', ['E0009'], 'open']]);
        const audited = await store.db.selectFrom('audit_log').select(['action', 'subject', 'trigger']).where('action', 'in', ['alert.raised', 'approval.reassigned', 'request.cancelled']).orderBy('seq').execute();
        assert.deepEqual(audited.map((a) => `${a.action}:${a.subject}`).sort(), ['alert.raised:E0001', 'alert.raised:E0002', 'approval.reassigned:E0001', 'request.cancelled:E0001']);

        // The same data again changes nothing and alerts nobody twice.
        await run(TEAM.map((p) => (p.id === 'E0001' ? { ...p, manager: 'E0002' } : p)), 'again.csv');
        assert.equal((await store.db.selectFrom('audit_log').select('seq').where('action', '=', 'alert.raised').execute()).length, 2);
        assert.equal((await verifyAudit(store.db)).ok, true);
      } finally {
        await store.close();
      }
    });
  });
}
