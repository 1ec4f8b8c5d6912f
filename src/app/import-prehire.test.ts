import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testBackends } from '../../test/support/backends.ts';
import { tempDir, testConfig, writeFile } from '../../test/support/hr-files.ts';
import { getIdentity, timelineOf } from '../store/identity-store.ts';
import type { Store } from '../store/open-store.ts';
import { importSource } from './import-source.ts';
import { applyDueEvents } from './lifecycle-clock.ts';

const actor = 'cli:test';
const HEADER = 'Employee ID,First,Last,Email,Hire Date,Termination Date,Last Day Worked,Active Status\n';

/** A Workday-like export: Active Status 0 for pre-hires and leavers alike; the dates tell them apart. */
const workday = (accessEnds: 'end_date' | 'last_day_worked') => ({
  type: 'hr',
  access_ends: accessEnds,
  mapping: {
    key: 'Employee ID', first_name: 'First', last_name: 'Last', email: 'Email',
    start_date: { column: 'Hire Date', format: 'MM/DD/YYYY' },
    end_date: { column: 'Termination Date', format: 'MM/DD/YYYY' },
    last_day_worked: { column: 'Last Day Worked', format: 'MM/DD/YYYY' },
    status: { column: 'Active Status', map: { '1': 'active', '0': 'from_dates' } },
  },
});

for (const backend of testBackends()) {
  describe(`pre-hires and garden leave on ${backend.name}`, () => {
    let store: Store;
    let dir: string;
    before(async () => {
      store = await backend.open();
      dir = tempDir();
    });
    after(async () => store.close());

    test('a pre-hire is a pending joiner on the start date, named in the summary, and starting is never a rehire', async () => {
      const config = testConfig({ timezone: 'Europe/Berlin', sources: { hr: workday('end_date') } });
      const run = (file: string, asOf: string) =>
        importSource({ db: store.db, config }, { source: 'hr', file, actor, asOf, now: new Date(`${asOf}T10:00:00Z`) });
      const first = await run(
        writeFile(dir, 'w1.csv', HEADER + 'P1,Ada,Lovelace,ada@example.com,01/04/2027,,,0\nP2,Old,Timer,old@example.com,01/04/2020,03/31/2024,,0\nP3,Now,Here,now@example.com,01/04/2020,,,1\n'),
        '2026-12-05',
      );
      assert.equal(first.status, 'applied', JSON.stringify(first.errors));
      assert.deepEqual(first.classified, { historical: ['P2'], pending: ['P1'] });
      assert.deepEqual(first.events.map((e) => [e.type, e.key, e.effective]), [['joiner', 'P1', '2027-01-04'], ['joiner', 'P3', '2020-01-04']]);
      assert.equal((await getIdentity(store.db, 'P1'))!.status, 'pending');
      assert.equal((await getIdentity(store.db, 'P2'))!.status, 'left');

      await applyDueEvents({ db: store.db }, new Date('2027-01-04T10:00:00Z'));
      assert.equal((await getIdentity(store.db, 'P1'))!.status, 'active', 'the joiner took effect on the start date');
      const started = await run(
        writeFile(dir, 'w2.csv', HEADER + 'P1,Ada,Lovelace,ada@example.com,01/04/2027,,,1\nP2,Old,Timer,old@example.com,01/04/2020,03/31/2024,,0\nP3,Now,Here,now@example.com,01/04/2020,,,1\n'),
        '2027-01-05',
      );
      assert.equal(started.status, 'applied', JSON.stringify(started.errors));
      assert.deepEqual(started.events, [], 'the status turning from pending to active is neither a rehire nor a mover');
      assert.deepEqual((await timelineOf(store.db, 'P1')).map((e) => e.type), ['joiner']);
    });

    test('garden leave ends access after the termination date by default, and records the last day worked', async () => {
      const config = testConfig({ timezone: 'Europe/Berlin', sources: { garden: workday('end_date') } });
      const r = await importSource({ db: store.db, config }, {
        source: 'garden', actor, asOf: '2026-12-05', now: new Date('2026-12-05T10:00:00Z'),
        file: writeFile(dir, 'g1.csv', HEADER + 'G1,Gil,Garden,gil@example.com,01/04/2020,03/31/2027,12/31/2026,1\n'),
      });
      assert.equal(r.status, 'applied', JSON.stringify(r.errors));
      assert.deepEqual(r.events.map((e) => [e.type, e.effective]), [['joiner', '2020-01-04'], ['leaver', '2027-03-31']]);
      const gil = (await getIdentity(store.db, 'G1'))!;
      assert.deepEqual([gil.endDate, gil.attributes.last_day_worked], ['2027-03-31', '2026-12-31']);
    });

    test('with access_ends: last_day_worked the leaver takes effect after the last day worked, and the termination date is kept', async () => {
      const config = testConfig({ timezone: 'Europe/Berlin', sources: { garden2: workday('last_day_worked') } });
      const r = await importSource({ db: store.db, config }, {
        source: 'garden2', actor, asOf: '2026-12-05', now: new Date('2026-12-05T10:00:00Z'),
        file: writeFile(dir, 'g2.csv', HEADER + 'G2,Gwen,Garden,gwen@example.com,01/04/2020,03/31/2027,12/31/2026,1\n'),
      });
      assert.equal(r.status, 'applied', JSON.stringify(r.errors));
      assert.deepEqual(r.events.map((e) => [e.type, e.effective]), [['joiner', '2020-01-04'], ['leaver', '2026-12-31']]);
      const gwen = (await getIdentity(store.db, 'G2'))!;
      assert.deepEqual([gwen.endDate, gwen.attributes.last_day_worked, gwen.attributes.termination_date], ['2026-12-31', '2026-12-31', '2027-03-31']);
    });
  });
}
