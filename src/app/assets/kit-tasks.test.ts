import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kitChanges } from '../../engine/profile-kit.ts';
import type { ProfileDef } from '../../domain/policy.ts';
import { person, seedIdentities } from '../../../test/support/jml-fixture.ts';
import { testBackends } from '../../../test/support/backends.ts';
import { createInternalChanges } from '../internal-changes.ts';

const NOW = new Date('2026-03-10T09:00:00Z');
const PROFILES: readonly ProfileDef[] = [{ name: 'engineer', description: '', when: { equals: { department: 'engineering' } }, kit: [{ kind: 'laptop', model: 'developer-32gb' }], roles: [] }];

for (const backend of testBackends()) {
  describe(`kit tasks (${backend.name})`, () => {
    test('a joiner\'s allocation task goes to the asset custodian and is due at the end of the day before the start date in the organisation\'s zone', async () => {
      const store = await backend.open();
      try {
        const joiner = person('J1', { department: 'engineering', manager: 'M1' }, { status: 'pending', startDate: '2026-04-01' });
        await seedIdentities(store.db, [person('M1'), joiner]);
        const [change] = kitChanges({ identity: joiner, profiles: PROFILES, assets: [], today: '2026-03-10' });
        const internal = createInternalChanges({ assetCustodian: 'it-desk', iamTeam: 'iam' }, { db: store.db, now: () => NOW, timezone: 'Europe/Paris' });
        const outcome = await internal.apply(change!);
        assert.equal(outcome.status, 'pending');
        const [task] = await internal.tasks.listTasks({ identityKey: 'J1' });
        assert.equal(task!.owner, 'it-desk');
        // Paris is on summer time (UTC+2) from 29 March: the 31st ends at 22:00 UTC.
        assert.equal(task!.dueAt, '2026-03-31T21:59:59.999Z');
        assert.match(task!.instruction, /profile engineer: issue laptop \(developer-32gb\) before the start date 2026-04-01 for J1/);
      } finally {
        await store.close();
      }
    });
  });
}
