import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isJmlError } from '../../domain/errors.ts';
import { person, seedIdentities } from '../../../test/support/jml-fixture.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { importAssets } from '../asset-register.ts';
import { answerAttestation, attestationsOf, checkCompletion, dueAttestations, openMonthlyCheck } from './monthly-check.ts';

const NOW = new Date('2026-12-01T08:00:00Z');
const HEADER = 'tag,serial,kind,description,holder,location,status';

for (const backend of testBackends()) {
  describe(`monthly end-user check (${backend.name})`, () => {
    test('every person (and the owner for an NHI) is asked once a month; lost, not mine and no longer needed become actions; overdue answers escalate to the manager', async () => {
      const store = await backend.open();
      try {
        await seedIdentities(store.db, [
          person('M1', { department: 'eng' }),
          person('E1', { department: 'eng', manager: 'M1' }),
          person('E2', { department: 'sales', manager: 'M1' }),
          person('SVC1', {}, { kind: 'service_account', owner: 'E1' }),
          person('GONE', {}, { status: 'left' }),
        ]);
        await importAssets(store.db, `${HEADER}\nLAP-1,SN-L1,laptop,ThinkPad,E1,Berlin,assigned\nPHN-1,SN-P1,phone,Pixel,E1,Berlin,assigned\nKEY-9,SN-K9,security_key,YubiKey,SVC1,Rack,assigned\nLAP-2,SN-L2,laptop,ThinkPad,E2,Paris,assigned\nLAP-3,SN-L3,laptop,ThinkPad,GONE,,assigned\n`, { file: 'a.csv', actor: 'test', now: NOW });
        await store.db.insertInto('assignments').values({ id: 'asg-vpn', identity_key: 'E1', system: 'vpn', entitlement: 'full', reason_type: 'request', reason: JSON.stringify({ type: 'request', requestId: 'r1' }), created_by: 'test' }).execute();

        const opened = await openMonthlyCheck(store.db, { period: '2026-12', actor: 'scheduler' }, NOW);
        assert.deepEqual(opened, { campaignId: 'chk-2026-12', items: 5, created: true });
        assert.equal((await openMonthlyCheck(store.db, { period: '2026-12', actor: 'scheduler' }, NOW)).created, false, 'a month is opened once');
        const mine = await attestationsOf(store.db, 'E1');
        assert.deepEqual(mine.map((i) => `${i.itemType}:${i.ref}:${i.subjectKey}`).sort(), ['access:asg-vpn:E1', 'asset:KEY-9:SVC1', 'asset:LAP-1:E1', 'asset:PHN-1:E1']);
        assert.match(mine.find((i) => i.ref === 'LAP-1')!.label, /serial SN-L1/);

        const replans: string[][] = [];
        const deps = { db: store.db, custodian: 'it-desk', replan: { requestReplan: async (keys: readonly string[] | undefined) => void replans.push([...(keys ?? [])]) } };
        const item = (ref: string) => mine.find((i) => i.ref === ref)!.id;
        const foreign = await answerAttestation(deps, { itemId: item('LAP-1'), by: 'E2', answer: 'confirmed' }, NOW).catch((e: unknown) => e);
        assert.ok(isJmlError(foreign, 'not_found'), 'nobody answers for someone else');
        await assert.rejects(answerAttestation(deps, { itemId: item('asg-vpn'), by: 'E1', answer: 'lost' }, NOW), /an access item is answered with needed, no_longer_needed/);

        const lost = await answerAttestation(deps, { itemId: item('LAP-1'), by: 'E1', answer: 'lost' }, NOW);
        assert.equal(lost.action, 'finding:lost_asset:asset:LAP-1');
        assert.equal((await store.db.selectFrom('assets').select('status').where('tag', '=', 'LAP-1').executeTakeFirstOrThrow()).status, 'lost');
        const notMine = await answerAttestation(deps, { itemId: item('PHN-1'), by: 'E1', answer: 'not_mine', note: 'never had a phone' }, NOW);
        const task = await store.db.selectFrom('tasks').select(['owner', 'instruction']).where('id', '=', notMine.action!.replace('task:', '')).executeTakeFirstOrThrow();
        assert.equal(task.owner, 'it-desk');
        assert.match(task.instruction, /E1 says Pixel PHN-1, serial SN-P1 is not theirs \(never had a phone\)/);
        await answerAttestation(deps, { itemId: item('asg-vpn'), by: 'E1', answer: 'no_longer_needed' }, NOW);
        const assignment = await store.db.selectFrom('assignments').select(['state', 'ended_by']).where('id', '=', 'asg-vpn').executeTakeFirstOrThrow();
        assert.deepEqual(assignment, { state: 'revoked', ended_by: 'E1' });
        assert.deepEqual(replans, [['E1'], ['E1']], 'the lost laptop and the ended assignment each ask for a replan of E1');
        await assert.rejects(answerAttestation(deps, { itemId: item('LAP-1'), by: 'E1', answer: 'confirmed' }, NOW), /already answered \(lost\)/);

        assert.deepEqual((await dueAttestations(store.db, NOW)).map((d) => `${d.respondentKey}:${d.unanswered}:${d.state}:${d.escalateTo}`), ['E1:1:due:null', 'E2:1:due:null']);
        const late = new Date(NOW.getTime() + 8 * 86_400_000);
        assert.deepEqual((await dueAttestations(store.db, late)).map((d) => `${d.respondentKey}:${d.state}:${d.escalateTo}`), ['E1:overdue:M1', 'E2:overdue:M1']);

        const completion = await checkCompletion(store.db, 'chk-2026-12');
        assert.deepEqual(completion.byDepartment, [
          { group: 'eng', items: 4, answered: 3, respondents: 1, respondentsDone: 0 },
          { group: 'sales', items: 1, answered: 0, respondents: 1, respondentsDone: 0 },
        ]);
        assert.deepEqual(completion.byManager, [{ group: 'M1', items: 5, answered: 3, respondents: 2, respondentsDone: 0 }]);
      } finally {
        await store.close();
      }
    });
  });
}
