import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FAKE_WIKI_POLICY, person, seedIdentities, writePolicyDir } from '../../test/support/jml-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import { loadPolicy } from '../policy/index.ts';
import type { ImportedEvent } from './import-source.ts';
import { coalescedFollowUps, followUpDecision, followUpImport, MAX_REPLAN_KEYS, tolerantReplan, type FollowedImport, type ReplanQueue } from './replan-follow-up.ts';

/** A stateful queue: what was asked, in order. */
function recordingQueue(): ReplanQueue & { sent: { keys: readonly string[] | undefined; reason: string }[] } {
  const sent: { keys: readonly string[] | undefined; reason: string }[] = [];
  return { sent, requestReplan: async (keys, reason) => void sent.push({ keys, reason }) };
}
const joiner = (identity: string): ImportedEvent => ({ type: 'joiner', key: identity, identity, source: 'hr', effective: '2026-03-02', changes: {} });
const NOW = new Date('2026-03-02T09:00:00Z');

for (const backend of testBackends()) {
  describe(`replan follow-up (${backend.name})`, () => {
    test('an applied import opens joiner approvals first, then asks for a replan of the identities its events touched', async () => {
      const store = await backend.open();
      try {
        const dir = writePolicyDir({ ...FAKE_WIKI_POLICY, 'approvals.yaml': 'approvals:\n  - { name: contractors, joiners: { kind: [contractor] }, stages: [sponsor] }\n' });
        await seedIdentities(store.db, [person('E0'), person('C1', {}, { kind: 'contractor', sponsor: 'E0', startDate: '2026-03-02' })]);
        const queue = recordingQueue();
        const deps = { db: store.db, queue, policy: async () => (await loadPolicy(dir)).policy, now: () => NOW };
        const result = { status: 'applied' as const, source: 'hr', importId: 'i-1', events: [joiner('C1'), joiner('E0'), { ...joiner('C1'), type: 'mover' as const }], effective: [] };
        assert.deepEqual(await followUpImport(deps, result), { replan: ['C1', 'E0'], joinerApprovals: ['C1'], warnings: [] });
        assert.deepEqual(queue.sent, [{ keys: ['C1', 'E0'], reason: 'import hr i-1' }]);

        assert.equal((await followUpImport(deps, { ...result, status: 'dry_run' })).replan, null, 'a dry run changed nothing');
        assert.equal((await followUpImport(deps, { ...result, events: [] })).replan, null);
        const many = Array.from({ length: MAX_REPLAN_KEYS + 1 }, (_, i) => joiner(`N${i}`));
        assert.equal((await followUpImport({ ...deps, policy: async () => { throw new Error('no policy here'); } }, { ...result, events: many })).replan, 'all');
        assert.equal(queue.sent.at(-1)?.keys, undefined, 'a large import asks for one whole replan');
        assert.equal(queue.sent.length, 2);

        const due = await followUpImport(deps, { ...result, events: [], effective: [{ event: 'ev-1', type: 'leaver', identity: 'C9', effective: '2026-03-01' }] });
        assert.deepEqual(due.replan, ['C9'], 'a scheduled leaver that took effect with the import is planned again too');
      } finally {
        await store.close();
      }
    });
  });
}

test('only a decision that approves a request asks for a replan, of its identity', async () => {
  const queue = recordingQueue();
  const request = { id: 'req-1', kind: 'request' as const, identityKey: 'E1' };
  assert.equal((await followUpDecision({ queue }, { ...request, state: 'pending' })).replan, null, 'a stage in between');
  assert.equal((await followUpDecision({ queue }, { ...request, state: 'denied' })).replan, null);
  assert.deepEqual((await followUpDecision({ queue }, { ...request, state: 'approved' })).replan, ['E1']);
  assert.deepEqual(queue.sent, [{ keys: ['E1'], reason: 'request req-1 approved' }]);
});

test('a tolerant replan queue reports a failed request and lets the action that asked for it stand', async () => {
  const warnings: string[] = [];
  const down = tolerantReplan({ requestReplan: async () => { throw new Error('queue unreachable'); } }, (m) => warnings.push(m));
  await down.requestReplan(['E1'], 'asset LAP-1 reported lost');
  assert.deepEqual(warnings, ["replan (asset LAP-1 reported lost) not requested: queue unreachable; the workers' next scheduled plan picks it up"]);
});

describe('follow-ups of pushes in quick succession', () => {
  const pushed = (importId: string, source: string, ...events: ImportedEvent[]): FollowedImport => ({ status: 'applied', source, importId, events, effective: [] });
  const leaver = (identity: string): ImportedEvent => ({ ...joiner(identity), type: 'leaver' });

  test('pushes of one source within the window are followed up once, with every event they brought, and the answer does not wait', async () => {
    const runs: FollowedImport[] = [];
    const followUps = coalescedFollowUps(async (merged) => void runs.push(merged), 50);
    followUps.add(pushed('p1', 'entra', joiner('E1')));
    followUps.add(pushed('p2', 'entra', joiner('E2'), joiner('E3')));
    followUps.add(pushed('w1', 'workday', joiner('W1')));
    followUps.add(pushed('p3', 'entra', joiner('E4')));
    assert.equal(runs.length, 0, 'nothing runs before the window ends');
    for (let waited = 0; runs.length < 2 && waited < 5000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(runs.map((r) => [r.source, r.importId, r.events.map((e) => e.identity)]), [['entra', 'p1 and 2 more', ['E1', 'E2', 'E3', 'E4']], ['workday', 'w1', ['W1']]]);
    followUps.add(pushed('p4', 'entra', joiner('E5')));
    await followUps.flush();
    assert.deepEqual(runs.at(-1)?.events.map((e) => e.identity), ['E5'], 'a push after the window starts the next follow-up');
  });

  test('a push with a leaver starts its source follow-up at once, taking the pushes queued before it', async () => {
    const runs: FollowedImport[] = [];
    const followUps = coalescedFollowUps(async (merged) => void runs.push(merged), 60_000);
    followUps.add(pushed('p1', 'entra', joiner('E1')));
    followUps.add(pushed('p2', 'entra', leaver('E2')));
    assert.deepEqual(runs.map((r) => r.events.map((e) => [e.type, e.identity])), [[['joiner', 'E1'], ['leaver', 'E2']]]);
    await followUps.flush();
    assert.equal(runs.length, 1);
  });

  test('a push that was not applied is not followed up', async () => {
    const runs: FollowedImport[] = [];
    const followUps = coalescedFollowUps(async (merged) => void runs.push(merged), 10);
    followUps.add({ ...pushed('p1', 'entra', joiner('E1')), status: 'held' });
    followUps.add({ ...pushed('p2', 'entra', joiner('E2')), status: 'dry_run' });
    await followUps.flush();
    assert.deepEqual(runs, []);
  });
});
