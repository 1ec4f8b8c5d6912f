/**
 * The malformed-file corpus (test/fixtures/sources) through the whole import:
 * every broken file is refused with file, row and column named, and nothing
 * is written; the awkward-but-valid files import.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { sql } from 'kysely';
import { testBackends } from '../../test/support/backends.ts';
import { staff, tempDir, testConfig, writeFile, writeHr } from '../../test/support/hr-files.ts';
import type { Store } from '../store/open-store.ts';
import { importSource } from './import-source.ts';

const corpus = path.resolve(import.meta.dirname, '../../test/fixtures/sources');
const actor = 'cli:test';

async function tableCounts(store: Store): Promise<string> {
  const r = await sql<{ s: string }>`select (select count(*) from identities) || '/' || (select count(*) from source_records) || '/' || (select count(*) from lifecycle_events) || '/' || (select count(*) from credentials) || '/' || (select max(seq) from audit_log) as s`.execute(store.db);
  return r.rows[0]!.s;
}

const refused: [string, 'rejected' | 'held', RegExp, number | null, string | null][] = [
  ['hr-bad-dates.csv', 'rejected', /date/i, null, 'start_date'],
  ['hr-duplicate-keys.csv', 'rejected', /duplicate/i, null, 'employee_id'],
  ['hr-missing-column.csv', 'rejected', /not found|missing/i, 0, null],
  ['hr-unbalanced-quotes.csv', 'rejected', /quote/i, null, null],
  ['hr-semicolon.csv', 'rejected', /delimiter/i, 0, null],
  ['hr-truncated.csv', 'rejected', /field|column|truncated/i, null, null],
  ['empty.csv', 'held', /empty|no data/i, null, null],
  ['header-only.csv', 'held', /header/i, null, null],
];

for (const backend of testBackends()) {
  describe(`malformed-file corpus on ${backend.name}`, () => {
    let store: Store;
    const config = testConfig();
    before(async () => {
      store = await backend.open();
      await importSource({ db: store.db, config }, { source: 'hr', file: writeHr(tempDir(), 'base.csv', staff(20)), actor, asOf: '2026-11-01' });
    });
    after(async () => store.close());

    for (const [file, status, message, row, column] of refused) {
      test(`${file} is ${status} with the problem named, and nothing is written`, async () => {
        const before = await tableCounts(store);
        const r = await importSource({ db: store.db, config }, { source: 'hr', file: path.join(corpus, file), actor, asOf: '2026-11-02', dryRun: status === 'held' });
        assert.equal(r.status, status);
        if (status === 'rejected') {
          assert.ok(r.errors.length > 0);
          const first = r.errors[0]!;
          assert.match(first.message, message);
          assert.ok(first.file.endsWith(file));
          if (row !== null) assert.equal(first.row, row);
          else assert.ok(first.row > 1, `names a data row, got ${first.row}`);
          if (column !== null) assert.equal(first.column, column);
        } else {
          assert.match(r.heldReason ?? '', message);
        }
        assert.equal(await tableCounts(store), before);
      });
    }

    test('a UTF-8 file with a BOM and CRLF line ends imports with clean keys', async () => {
      const r = await importSource({ db: store.db, config }, { source: 'hr', file: path.join(corpus, 'hr-bom-crlf.csv'), actor, asOf: '2026-11-02', dryRun: true, allowMassChange: true });
      assert.equal(r.status, 'dry_run');
      assert.ok(r.events.length > 0);
      for (const e of r.events) assert.match(e.key, /^[A-Za-z0-9-]+$/, `key ${JSON.stringify(e.key)} has no BOM or CR`);
    });

    test('the non-human inventory brings service accounts and AI agents in with owners and credentials', async () => {
      const dir = tempDir();
      const inventory = writeFile(
        dir,
        'nhi.yaml',
        [
          '- key: svc-backup',
          '  kind: service_account',
          '  name: Backup runner',
          '  owner: E0002',
          '  systems: [ldap, github]',
          '  credentials:',
          '    - { system: github, kind: api_key, name: deploy-key, created: 2025-01-10, last_rotated: 2025-06-01, expires: 2026-01-10 }',
          '- key: agent-triage',
          '  kind: ai_agent',
          '  name: Ticket triage agent',
          '  owner: E0003',
          '  systems: [jira]',
        ].join('\n'),
      );
      const r = await importSource({ db: store.db, config }, { source: 'nhi', file: inventory, actor, asOf: '2026-11-02' });
      assert.equal(r.status, 'applied', JSON.stringify(r.errors));
      assert.deepEqual(r.events.map((e) => [e.type, e.key]), [['joiner', 'svc-backup'], ['joiner', 'agent-triage']]);
      const svc = await store.db.selectFrom('identities').selectAll().where('key', '=', 'svc-backup').executeTakeFirstOrThrow();
      assert.deepEqual([svc.kind, svc.owner, svc.status], ['service_account', 'E0002', 'active']);
      const creds = await store.db.selectFrom('credentials').selectAll().where('identity_key', '=', 'svc-backup').execute();
      assert.equal(creds.length, 1);
      assert.equal(creds[0]!.expires_at?.slice(0, 10), '2026-01-10');
      const again = await importSource({ db: store.db, config }, { source: 'nhi', file: inventory, actor, asOf: '2026-11-03' });
      assert.equal(again.events.length, 0);
      assert.equal((await store.db.selectFrom('credentials').select('id').execute()).length, 1, 're-importing does not duplicate credentials');

      const orphan = writeFile(dir, 'nhi-orphan.yaml', '- key: svc-x\n  kind: integration\n  name: Orphan\n  systems: [crm]\n');
      const bad = await importSource({ db: store.db, config }, { source: 'nhi', file: orphan, actor, asOf: '2026-11-03' });
      assert.equal(bad.status, 'rejected');
      assert.match(bad.errors[0]!.message, /owner/);
      assert.equal(bad.errors[0]!.row, 1);
    });
  });
}
