import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testBackends } from '../../test/support/backends.ts';
import { staff, tempDir, testConfig, writeFile, writeHr } from '../../test/support/hr-files.ts';
import { listIdentities } from '../store/identity-store.ts';
import type { Store } from '../store/open-store.ts';
import { importSource } from './import-source.ts';

const actor = 'cli:test';
const HEADER = 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status\n';
const row = (id: string, first = 'Ada') => `${id},${first},Lovelace,${id.toLowerCase()}@example.com,Eng,X,E0001,Berlin,Full-time,2024-12-31,,active\n`;

for (const backend of testBackends()) {
  describe(`malformed rows and --skip-invalid on ${backend.name}`, () => {
    let store: Store;
    let dir: string;
    const config = testConfig({ timezone: 'Europe/Berlin' });
    const run = (file: string) => importSource({ db: store.db, config }, { source: 'hr', file, actor, asOf: '2026-11-22', now: new Date('2026-11-22T10:00:00Z'), skipInvalid: true });

    before(async () => {
      store = await backend.open();
      dir = tempDir();
      assert.equal((await run(writeHr(dir, 'first.csv', staff(3)))).status, 'applied');
    });
    after(async () => store.close());

    for (const [name, line] of [
      ['a stray quote', 'E0002,"Al"an,Turing,e0002@example.com,Eng,X,E0001,Berlin,Full-time,2024-12-31,,active\n'],
      ['a missing field', 'E0002,Alan,Turing\n'],
    ] as const) {
      test(`a row with ${name} cannot be skipped: its key is unknown, so it would read as a leaver`, async () => {
        const file = writeFile(dir, 'malformed.csv', HEADER + row('E0001') + line + row('E0003'));
        const r = await run(file);
        assert.equal(r.status, 'rejected');
        assert.deepEqual(r.errors.map((e) => e.row), [3]);
        assert.deepEqual((await listIdentities(store.db)).map((i) => [i.key, i.status]), [['E0001', 'active'], ['E0002', 'active'], ['E0003', 'active']]);
      });
    }

    test('a row with a bad value is still skipped with --skip-invalid, and is no leaver', async () => {
      const r = await run(writeFile(dir, 'bad-date.csv', HEADER + row('E0001') + row('E0002').replace('2024-12-31', '31/12/2024') + row('E0003')));
      assert.equal(r.status, 'applied');
      assert.equal(r.counts.leavers, 0);
    });
  });
}
