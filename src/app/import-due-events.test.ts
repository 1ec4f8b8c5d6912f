/**
 * Events that come due between two imports take effect with the later import,
 * at its as-of, for every identity — whether or not its row changed, and
 * whether or not the file names it at all. A row that still shows the end date
 * the person left on is not a rehire and raises no warning.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createFakeConnector } from '../connectors/fake/fake-connector.ts';
import { testBackends } from '../../test/support/backends.ts';
import { tempDir, testConfig, VENDOR_HEADER, writeFile, writeHr, staff } from '../../test/support/hr-files.ts';
import { writePolicyDir } from '../../test/support/jml-fixture.ts';
import { verifyAudit } from '../store/audit-log.ts';
import { getIdentity, timelineOf } from '../store/identity-store.ts';
import type { Store } from '../store/open-store.ts';
import { executePlan } from '../jobs/plan-executor.ts';
import { createPlanner } from './compute-plan.ts';
import { importSource, type ImportOptions } from './import-source.ts';

const actor = 'cli:test';

const POLICY = {
  'systems.yaml': `systems:
  - name: wiki
    connector: { type: fake, settings: { groups: [staff] } }
    owner: E0001
    enforcement: full
    correlation: { account: identity_key, identity: key }
`,
  'entitlements.yaml': 'entitlements:\n  - { system: wiki, name: staff }\n',
  'rules.yaml': 'rules:\n  - name: everyone\n    when: { kind: [employee, contractor] }\n    grant: { entitlements: ["wiki:staff"] }\n',
};

/** C-17's contract ends 2026-11-30; C-18 starts 2026-11-25 with a contract end in January. */
const VENDOR = `${VENDOR_HEADER}
C-17,Lin,Chen,lin.chen@example.com,Acme Consulting,E0001,2026-01-05,2026-11-30,active
C-18,Sam,Lee,sam.lee@example.com,Acme Consulting,E0001,2026-11-25,2027-01-31,active
`;

for (const backend of testBackends()) {
  describe(`due events at a later import's as-of on ${backend.name}`, () => {
    let store: Store;
    let dir: string;
    let vendor: string;
    let now = new Date('2026-11-16T09:00:00Z');
    const config = testConfig({ timezone: 'Europe/Berlin' });
    const run = (source: string, file: string, asOf: string, o: Partial<ImportOptions> = {}) => {
      now = new Date(`${asOf}T09:00:00Z`);
      return importSource({ db: store.db, config }, { source, file, actor, asOf, now, ...o });
    };
    const wiki = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
    let planner: ReturnType<typeof createPlanner>;
    const plannedFor = async (key: string) => (await planner.compute()).plan.changes.filter((c) => c.identityKey === key).map((c) => c.kind);

    before(async () => {
      store = await backend.open();
      dir = tempDir();
      vendor = writeFile(dir, 'vendor.csv', VENDOR);
      planner = createPlanner({ db: store.db, config: { policy_dir: writePolicyDir(POLICY), timezone: 'Europe/Berlin' }, actor, now: () => now });
    });
    after(async () => store.close());

    test('before the contract end the leaver is scheduled and the contractor gets an account', async () => {
      await run('hr', writeHr(dir, 'hr.csv', staff(1, { end: '2026-11-30' })), '2026-11-16');
      const first = await run('vendor', vendor, '2026-11-16');
      assert.deepEqual(first.events.map((e) => [e.type, e.identity, e.effective]), [
        ['joiner', 'C-17', '2026-01-05'],
        ['leaver', 'C-17', '2026-11-30'],
        ['joiner', 'C-18', '2026-11-25'],
        ['leaver', 'C-18', '2027-01-31'],
      ]);
      assert.deepEqual(first.effective, []);
      assert.equal((await getIdentity(store.db, 'C-17'))!.status, 'active');
      assert.equal((await getIdentity(store.db, 'C-18'))!.status, 'pending');
      const { plan } = await planner.compute();
      await executePlan({ store, connectorFor: () => wiki, actor, now: () => now }, plan, () => planner.currentFingerprint({}));
      assert.deepEqual(await plannedFor('C-17'), [], 'the account is there');
    });

    test('a dry run after the contract end reports the due leaver and the due start, without a warning, and writes nothing', async () => {
      const dry = await run('vendor', vendor, '2026-12-02', { dryRun: true });
      assert.deepEqual(dry.warnings, []);
      assert.deepEqual(dry.events, []);
      assert.deepEqual(dry.effective.map((e) => [e.type, e.identity, e.effective]), [
        ['joiner', 'C-18', '2026-11-25'],
        ['leaver', 'C-17', '2026-11-30'],
        ['leaver', 'E0001', '2026-11-30'],
      ]);
      assert.equal((await getIdentity(store.db, 'C-17'))!.status, 'active');
    });

    test('the same file imported after the contract end applies the leaver, with no warning, and the plan disables the account', async () => {
      const dry = await run('vendor', vendor, '2026-12-02', { dryRun: true });
      const r = await run('vendor', vendor, '2026-12-02');
      assert.equal(r.status, 'applied');
      assert.deepEqual(r.warnings, []);
      assert.deepEqual(r.events, []);
      assert.deepEqual(r.effective, dry.effective, 'the dry run reported exactly what the import did');
      assert.equal((await getIdentity(store.db, 'C-17'))!.status, 'left');
      const leaver = (await timelineOf(store.db, 'C-17')).find((e) => e.type === 'leaver')!;
      assert.equal(leaver.state, 'applied');
      assert.equal((await getIdentity(store.db, 'C-18'))!.status, 'active', 'the start that passed between the imports took effect');
      assert.equal((await getIdentity(store.db, 'E0001'))!.status, 'left', 'a due leaver of another source took effect too');
      assert.deepEqual(await plannedFor('C-17'), ['disable_account', 'remove_grant'], 'the leaver order: disable, then remove');
      assert.deepEqual(await plannedFor('C-18'), ['create_account', 'add_grant']);
    });

    test('every later import of the file stays quiet and changes nothing', async () => {
      const r = await run('vendor', vendor, '2026-12-03');
      assert.deepEqual([r.warnings, r.events, r.effective, r.counts.unchanged], [[], [], [], 2]);
      assert.equal((await getIdentity(store.db, 'C-17'))!.status, 'left');
    });

    test('the status changes carry the import that made them, in an intact audit chain', async () => {
      const changes = await store.db.selectFrom('audit_log').select(['subject', 'trigger', 'after']).where('action', '=', 'identity.status_changed').orderBy('seq').execute();
      assert.deepEqual(changes.map((c) => [c.subject, c.after, c.trigger.startsWith('import:')]), [
        ['C-17', { status: 'left' }, true],
        ['C-18', { status: 'active' }, true],
        ['E0001', { status: 'left' }, true],
      ]);
      const effective = await store.db.selectFrom('audit_log').select(['subject', 'trigger']).where('action', '=', 'lifecycle.event_effective').orderBy('subject').execute();
      assert.deepEqual(effective.map((e) => [e.subject, e.trigger.startsWith('import:')]), [['C-17', true], ['C-18', true], ['E0001', true]], 'one entry per event that took effect');
      assert.equal((await verifyAudit(store.db)).ok, true);
    });
  });
}
