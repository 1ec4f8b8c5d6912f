import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testBackends } from '../../test/support/backends.ts';
import { staff, tempDir, testConfig, VENDOR_HEADER, writeFile, writeHr, type Person } from '../../test/support/hr-files.ts';
import { verifyAudit } from '../store/audit-log.ts';
import { getIdentity, timelineOf } from '../store/identity-store.ts';
import type { Store } from '../store/open-store.ts';
import { importSource, type ImportOptions } from './import-source.ts';
import { applyDueEvents } from './lifecycle-clock.ts';
import { rescindLeaver } from './rescind-leaver.ts';
import { recordIdentityEdit } from './identity-edit.ts';

const actor = 'cli:test';

/** Row counts of every table an import may write: "changes nothing" means these stay equal. */
async function footprint(store: Store) {
  const count = async (table: string) => Number((await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(store.db)).rows[0]!.n);
  return {
    identities: await count('identities'),
    records: await count('source_records'),
    events: await count('lifecycle_events'),
    audit: await count('audit_log'),
    credentials: await count('credentials'),
    snapshot: (await sql<{ s: string }>`select coalesce(string_agg(key || status || attributes::text, ',' order by key), '') as s from identities`.execute(store.db)).rows[0]!.s,
  };
}

for (const backend of testBackends()) {
  describe(`import on ${backend.name}`, () => {
    let store: Store;
    let dir: string;
    const config = testConfig({ timezone: 'Europe/Berlin' });
    const run = (file: string, o: Partial<ImportOptions> = {}) =>
      importSource({ db: store.db, config }, { source: 'hr', file, actor, asOf: '2026-11-22', now: new Date('2026-11-22T10:00:00Z'), ...o });

    before(async () => {
      store = await backend.open();
      dir = tempDir();
    });
    after(async () => store.close());

    test('a first import makes every row a joiner, and future starts stay pending until their date', async () => {
      const people: Person[] = [...staff(3), { id: 'E0100', start: '2026-12-01', manager: 'E0001' }];
      const r = await run(writeHr(dir, 'first.csv', people));
      assert.equal(r.status, 'applied');
      assert.deepEqual(r.events.map((e) => e.type), ['joiner', 'joiner', 'joiner', 'joiner']);
      assert.deepEqual(r.events[0]!.changes.department, [null, 'Engineering']);
      assert.equal((await getIdentity(store.db, 'E0002'))!.status, 'active');
      assert.equal((await getIdentity(store.db, 'E0100'))!.status, 'pending');
      assert.equal((await getIdentity(store.db, 'E0002'))!.attributes.manager, 'E0001');
    });

    test('a department change is a mover with old and new values, on the same identity', async () => {
      const r = await run(writeHr(dir, 'mover.csv', [...staff(3).map((p) => (p.id === 'E0002' ? { ...p, department: 'Sales' } : p)), { id: 'E0100', start: '2026-12-01', manager: 'E0001' }]));
      assert.deepEqual(r.events.map((e) => [e.type, e.key, e.changes]), [['mover', 'E0002', { department: ['Engineering', 'Sales'] }]]);
      assert.equal(r.counts.unchanged, 3);
      assert.equal((await getIdentity(store.db, 'E0002'))!.attributes.department, 'Sales');
    });

    test('a name and email change is a mover, never a leaver and a joiner', async () => {
      const people = [...staff(3).map((p) => (p.id === 'E0002' ? { ...p, department: 'Sales', last: 'Married', email: 'married@example.com' } : p)), { id: 'E0100', start: '2026-12-01', manager: 'E0001' }];
      const r = await run(writeHr(dir, 'rename.csv', people));
      assert.deepEqual(r.events.map((e) => e.type), ['mover']);
      assert.deepEqual(r.events[0]!.changes, { last_name: ['LastE0002', 'Married'], email: ['e0002@example.com', 'married@example.com'] });
      const identity = await getIdentity(store.db, 'E0002');
      assert.equal(identity!.key, 'E0002');
      assert.equal(identity!.attributes.last_name, 'Married');
    });

    test('the pending joiner becomes active when the clock passes midnight of its start date in the organisation zone', async () => {
      // 2026-12-01 00:00 in Berlin is 2026-11-30 23:00 UTC.
      await applyDueEvents({ db: store.db }, new Date('2026-11-30T22:59:59Z'));
      assert.equal((await getIdentity(store.db, 'E0100'))!.status, 'pending');
      const tick = await applyDueEvents({ db: store.db }, new Date('2026-11-30T23:00:00Z'));
      assert.equal(tick.events, 1);
      assert.equal((await getIdentity(store.db, 'E0100'))!.status, 'active');
      assert.equal((await applyDueEvents({ db: store.db }, new Date('2026-11-30T23:30:00Z'))).events, 0, 'the clock is idempotent');
    });

    test('status terminated with an end date schedules a leaver that takes effect after the last day', async () => {
      const base = [...staff(3).map((p) => (p.id === 'E0002' ? { ...p, department: 'Sales', last: 'Married', email: 'married@example.com' } : p)), { id: 'E0100', start: '2026-12-01', manager: 'E0001' }];
      const people = base.map((p) => (p.id === 'E0003' ? { ...p, status: 'terminated', end: '2026-12-15' } : p));
      const r = await run(writeHr(dir, 'leaver.csv', people), { asOf: '2026-12-02', now: new Date('2026-12-02T09:00:00Z') });
      assert.deepEqual(r.events.map((e) => [e.type, e.key, e.effective]), [['leaver', 'E0003', '2026-12-15']]);
      assert.equal((await getIdentity(store.db, 'E0003'))!.status, 'active');
      const timeline = await timelineOf(store.db, 'E0003');
      const leaver = timeline.find((e) => e.type === 'leaver')!;
      assert.equal(leaver.effectiveAt, '2026-12-15T23:00:00.000Z', 'the last day ends at midnight Berlin time');
      await applyDueEvents({ db: store.db }, new Date('2026-12-15T23:00:00Z'));
      assert.equal((await getIdentity(store.db, 'E0003'))!.status, 'left');
    });

    test('a mover that arrives after a leaver took effect does not bring the person back', async () => {
      const people = [...staff(3).map((p) => (p.id === 'E0003' ? { ...p, status: 'terminated', end: '2026-12-15', department: 'Finance' } : p.id === 'E0002' ? { ...p, department: 'Sales', last: 'Married', email: 'married@example.com' } : p)), { id: 'E0100', start: '2026-12-01', manager: 'E0001' }];
      const r = await run(writeHr(dir, 'late-mover.csv', people), { asOf: '2026-12-20', now: new Date('2026-12-20T09:00:00Z') });
      assert.deepEqual(r.events.map((e) => [e.type, e.key]), [['mover', 'E0003']]);
      const e3 = await getIdentity(store.db, 'E0003');
      assert.equal(e3!.status, 'left');
      assert.equal(e3!.attributes.department, 'Finance');
    });

    test('a leaver is undone only by an explicit rescind, which is audited with its reason', async () => {
      await assert.rejects(rescindLeaver(store.db, { key: 'E0003', reason: 'no', actor }), /reason/);
      const r = await rescindLeaver(store.db, { key: 'E0003', reason: 'termination entered by mistake', actor, now: new Date('2026-12-21T09:00:00Z') });
      assert.equal(r.identity.status, 'active');
      const entry = await store.db.selectFrom('audit_log').selectAll().where('action', '=', 'leaver.rescinded').executeTakeFirstOrThrow();
      assert.equal(entry.subject, 'E0003');
      assert.deepEqual(entry.details, { reason: 'termination entered by mistake' });
    });

    test('a key missing from a full snapshot is a leaver at once', async () => {
      const people = [...staff(3).filter((p) => p.id !== 'E0003').map((p) => (p.id === 'E0002' ? { ...p, department: 'Sales', last: 'Married', email: 'married@example.com' } : p)), { id: 'E0100', start: '2026-12-01', manager: 'E0001' }];
      const r = await run(writeHr(dir, 'gone.csv', people), { asOf: '2026-12-22', now: new Date('2026-12-22T09:00:00Z') });
      assert.deepEqual(r.events.map((e) => [e.type, e.key, e.effective]), [['leaver', 'E0003', '2026-12-22']]);
      assert.equal((await getIdentity(store.db, 'E0003'))!.status, 'left');
    });

    test('a leaver who comes back with a new start date is a rehire of the same identity', async () => {
      const people = [...staff(3).map((p) => (p.id === 'E0003' ? { ...p, start: '2027-02-01', department: 'Research' } : p.id === 'E0002' ? { ...p, department: 'Sales', last: 'Married', email: 'married@example.com' } : p)), { id: 'E0100', start: '2026-12-01', manager: 'E0001' }];
      const r = await run(writeHr(dir, 'rehire.csv', people), { asOf: '2027-01-10', now: new Date('2027-01-10T09:00:00Z') });
      assert.deepEqual(r.events.map((e) => [e.type, e.key, e.effective]), [['rehire', 'E0003', '2027-02-01']]);
      assert.equal((await getIdentity(store.db, 'E0003'))!.status, 'left', 'still left until the new start date');
      await applyDueEvents({ db: store.db }, new Date('2027-02-01T00:00:00Z'));
      const back = await getIdentity(store.db, 'E0003');
      assert.equal(back!.status, 'active');
      assert.equal(back!.attributes.department, 'Research');
    });

    test('a dry run reports exactly what the real import does and writes nothing', async () => {
      const people = [...staff(3).map((p) => (p.id === 'E0001' ? { ...p, title: 'CEO' } : p.id === 'E0003' ? { ...p, start: '2027-02-01', department: 'Research' } : p.id === 'E0002' ? { ...p, department: 'Sales', last: 'Married', email: 'married@example.com' } : p)), { id: 'E0100', start: '2026-12-01', manager: 'E0001' }];
      const file = writeHr(dir, 'dry.csv', people);
      const beforeFootprint = await footprint(store);
      const dry = await run(file, { dryRun: true, asOf: '2027-02-02', now: new Date('2027-02-02T09:00:00Z') });
      assert.equal(dry.status, 'dry_run');
      assert.deepEqual(await footprint(store), beforeFootprint);
      const real = await run(file, { asOf: '2027-02-02', now: new Date('2027-02-02T09:00:00Z') });
      const reported = (r: typeof real) => ({ events: r.events, effective: r.effective, warnings: r.warnings, counts: r.counts });
      assert.deepEqual(reported(real), reported(dry));
      assert.deepEqual(real.events.map((e) => [e.type, e.key]), [['mover', 'E0001']]);
    });

    test('every import and event is in an intact audit chain', async () => {
      const verdict = await verifyAudit(store.db);
      assert.equal(verdict.ok, true);
      const actions = await store.db.selectFrom('audit_log').select('action').distinct().execute();
      const set = new Set(actions.map((a) => a.action));
      for (const a of ['import.applied', 'lifecycle.joiner', 'lifecycle.mover', 'lifecycle.leaver', 'lifecycle.rehire', 'identity.status_changed', 'leaver.rescinded']) assert.ok(set.has(a), a);
    });
  });

  describe(`import safety on ${backend.name}`, () => {
    let store: Store;
    let dir: string;
    const config = testConfig();
    const run = (file: string, o: Partial<ImportOptions> = {}) => importSource({ db: store.db, config }, { source: 'hr', file, actor, asOf: '2026-11-22', ...o });

    before(async () => {
      store = await backend.open();
      dir = tempDir();
      await run(writeHr(dir, 'base.csv', staff(300)));
    });
    after(async () => store.close());

    const heldCases: [string, () => string][] = [
      ['an empty file', () => writeFile(dir, 'empty.csv', '')],
      ['a header-only file', () => writeHr(dir, 'header.csv', [])],
      ['a file that drops 16 of 300 people (limit is max(10, 5 %) = 15)', () => writeHr(dir, 'mass.csv', staff(284))],
      ['a file that terminates 16 people', () => writeHr(dir, 'mass-t.csv', staff(300).map((p, i) => (i >= 284 ? { ...p, status: 'terminated' } : p)))],
    ];
    for (const [name, make] of heldCases) {
      test(`${name} is held, exits as held and changes nothing`, async () => {
        const beforeFootprint = await footprint(store);
        const r = await run(make());
        assert.equal(r.status, 'held');
        assert.equal(r.held, true);
        assert.ok(r.heldReason && r.heldReason.length > 10);
        const afterFootprint = await footprint(store);
        assert.deepEqual({ ...afterFootprint, audit: 0 }, { ...beforeFootprint, audit: 0 });
        assert.equal(afterFootprint.audit, beforeFootprint.audit + 1, 'only the hold itself is audited');
      });
    }

    test('15 leavers out of 300 pass the guard', async () => {
      const r = await run(writeHr(dir, 'fifteen.csv', staff(285)), { dryRun: true });
      assert.equal(r.status, 'dry_run');
      assert.equal(r.counts.leavers, 15);
    });

    test('--allow-mass-change releases a held import, and the release is audited', async () => {
      const r = await run(writeHr(dir, 'release.csv', staff(284)), { allowMassChange: true });
      assert.equal(r.status, 'applied');
      assert.equal(r.counts.leavers, 16);
      const release = await store.db.selectFrom('audit_log').select('details').where('action', '=', 'import.mass_change_released').executeTakeFirst();
      assert.ok(release);
    });

    test('a file with an invalid row is rejected whole and changes nothing', async () => {
      const beforeFootprint = await footprint(store);
      const people = staff(284).map((p) => (p.id === 'E0005' ? { ...p, start: '2026-13-45' } : p.id === 'E0006' ? { ...p, title: 'Staff Engineer' } : p));
      const r = await run(writeHr(dir, 'invalid.csv', people));
      assert.equal(r.status, 'rejected');
      assert.deepEqual(r.errors.map((e) => [e.file, e.row, e.column]), [[`${dir}/invalid.csv`, 6, 'start_date']]);
      assert.match(r.errors[0]!.message, /2026-13-45/);
      assert.deepEqual(await footprint(store), beforeFootprint);
    });

    test('--skip-invalid imports the valid rows, and an invalid row is never taken for a leaver', async () => {
      const people = staff(284).map((p) => (p.id === 'E0005' ? { ...p, start: '2026-13-45' } : p.id === 'E0006' ? { ...p, title: 'Staff Engineer' } : p));
      const r = await run(writeHr(dir, 'skip.csv', people), { skipInvalid: true });
      assert.equal(r.status, 'applied');
      assert.deepEqual(r.events.map((e) => [e.type, e.key]), [['mover', 'E0006']]);
      assert.equal((await getIdentity(store.db, 'E0005'))!.status, 'active');
    });

    test('an unreadable file is an error, never "everyone left"', async () => {
      await assert.rejects(run(`${dir}/does-not-exist.csv`), (e: Error & { code?: string }) => e.code === 'source_unreadable');
    });
  });

  describe(`re-import of an unchanged file on ${backend.name}`, () => {
    let store: Store;
    let dir: string;
    const config = testConfig({ timezone: 'Europe/Berlin' });
    const people: Person[] = [...staff(3), { id: 'E0100', start: '2026-12-01', manager: 'E0001' }];
    const run = (file: string, asOf: string) => importSource({ db: store.db, config }, { source: 'hr', file, actor, asOf, now: new Date(`${asOf}T10:00:00Z`) });
    const updatedAt = async (key: string) => (await store.db.selectFrom('identities').select('updated_at').where('key', '=', key).executeTakeFirstOrThrow()).updated_at.toISOString();

    before(async () => {
      store = await backend.open();
      dir = tempDir();
    });
    after(async () => store.close());

    test('an unchanged file rewrites no identity, but a start that has come due takes effect and is audited', async () => {
      const file = writeHr(dir, 'same.csv', people);
      assert.equal((await run(file, '2026-11-22')).status, 'applied');
      const untouched = await updatedAt('E0002');
      const r = await run(file, '2026-12-02');
      assert.equal(r.status, 'applied');
      assert.deepEqual(r.events, []);
      assert.equal(r.counts.unchanged, 4);
      assert.equal((await getIdentity(store.db, 'E0100'))!.status, 'active');
      assert.equal(await updatedAt('E0002'), untouched);
      const statusChanges = await store.db.selectFrom('audit_log').select(['subject', 'before', 'after']).where('action', '=', 'identity.status_changed').execute();
      assert.deepEqual(statusChanges, [{ subject: 'E0100', before: { status: 'pending' }, after: { status: 'active' } }]);
      const stamped = await store.db.selectFrom('source_records').select('last_import_id').distinct().execute();
      assert.deepEqual(stamped, [{ last_import_id: r.importId }], 'every record is stamped with the import that last saw it');
      assert.equal((await verifyAudit(store.db)).ok, true);
    });

    test('an edit made in jml is an event on the timeline, and the next import keeps it', async () => {
      await store.db.transaction().execute((trx) =>
        recordIdentityEdit(trx, { identityKey: 'E0003', attributes: { title: 'Team Lead' }, status: 'suspended', actor, trigger: 'api:test', at: new Date('2026-12-02T12:00:00Z'), timezone: 'Europe/Berlin' }),
      );
      const edited = await getIdentity(store.db, 'E0003');
      assert.deepEqual([edited!.status, edited!.attributes.title], ['suspended', 'Team Lead']);
      const event = (await timelineOf(store.db, 'E0003')).at(-1)!;
      assert.deepEqual([event.type, event.source, event.changes.title], ['mover', 'jml', ['Engineer', 'Team Lead']]);
      // A re-import that touches E0003 (a department change) re-folds it: the jml edit is part of the fold.
      await run(writeHr(dir, 'after-edit.csv', people.map((p) => (p.id === 'E0003' ? { ...p, department: 'Research' } : p))), '2026-12-03');
      const after = await getIdentity(store.db, 'E0003');
      assert.deepEqual([after!.status, after!.attributes.title, after!.attributes.department], ['suspended', 'Team Lead', 'Research']);
    });
  });

  describe(`contractor conversion on ${backend.name}`, () => {
    let store: Store;
    let dir: string;
    const config = testConfig();
    before(async () => {
      store = await backend.open();
      dir = tempDir();
      await importSource({ db: store.db, config }, { source: 'hr', file: writeHr(dir, 'hr0.csv', staff(2)), actor, asOf: '2026-11-01' });
    });
    after(async () => store.close());

    test('a contractor hired as an employee is one identity: a mover of source and kind, not a leaver and a joiner', async () => {
      const vendor = writeFile(dir, 'vendor.csv', `${VENDOR_HEADER}\nC-17,Lin,Chen,lin.chen@example.com,Acme Consulting,E0001,2026-01-05,2027-01-31,active\n`);
      const v = await importSource({ db: store.db, config }, { source: 'vendor', file: vendor, actor, asOf: '2026-11-01' });
      assert.deepEqual(v.events.map((e) => [e.type, e.key, e.effective]), [['joiner', 'C-17', '2026-01-05'], ['leaver', 'C-17', '2027-01-31']]);
      assert.equal((await getIdentity(store.db, 'C-17'))!.kind, 'contractor');
      assert.equal((await getIdentity(store.db, 'C-17'))!.sponsor, 'E0001');

      const hr = writeHr(dir, 'hr1.csv', [...staff(2), { id: 'E0777', first: 'Lin', last: 'Chen', email: 'Lin.Chen@example.com', start: '2026-12-01', manager: 'E0001' }]);
      const h = await importSource({ db: store.db, config }, { source: 'hr', file: hr, actor, asOf: '2026-11-20' });
      assert.deepEqual(h.events.map((e) => [e.type, e.key, e.identity]), [['mover', 'E0777', 'C-17']]);
      assert.deepEqual(h.events[0]!.changes.source, ['vendor', 'hr']);
      assert.deepEqual(h.events[0]!.changes.kind, ['contractor', 'employee']);
      assert.equal(await store.db.selectFrom('identities').select('key').where('key', '=', 'E0777').executeTakeFirst(), undefined);

      await applyDueEvents({ db: store.db }, new Date('2026-12-01T00:00:00Z'));
      const converted = await getIdentity(store.db, 'C-17');
      assert.equal(converted!.kind, 'employee');
      assert.equal(converted!.source, 'hr');
      const timeline = await timelineOf(store.db, 'C-17');
      assert.equal(timeline.find((e) => e.type === 'leaver')!.state, 'rescinded', 'the contract end no longer applies');

      const dropped = await importSource({ db: store.db, config }, { source: 'vendor', file: writeFile(dir, 'vendor2.csv', `${VENDOR_HEADER}\nC-18,Sam,Lee,sam@example.com,Acme,E0001,2026-01-05,2027-01-31,active\n`), actor, asOf: '2026-12-02' });
      assert.deepEqual(dropped.events.map((e) => [e.type, e.key]), [['joiner', 'C-18'], ['leaver', 'C-18']], 'no leaver for the converted contractor');
      await applyDueEvents({ db: store.db }, new Date('2026-12-02T12:00:00Z'));
      assert.equal((await getIdentity(store.db, 'C-17'))!.status, 'active');
    });
  });
}

for (const backend of testBackends()) {
  test(`a first import of 10,000 people, loaded with the secondary indexes built afterwards, leaves every index and constraint as the migrations made it (${backend.name})`, async () => {
    const store = await backend.open();
    try {
      const indexes = async () =>
        (
          await sql<{ def: string }>`
            SELECT indexdef AS def FROM pg_indexes WHERE tablename IN ('identities', 'source_records', 'lifecycle_events')
            UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid IN ('identities'::regclass, 'source_records'::regclass, 'lifecycle_events'::regclass)
            ORDER BY def`.execute(store.db)
        ).rows.map((r) => r.def);
      const before = await indexes();
      const file = writeHr(tempDir(), 'first.csv', staff(10_000, { department: 'Sales' }));
      const r = await importSource({ db: store.db, config: testConfig() }, { source: 'hr', file, actor, asOf: '2026-11-22', now: new Date('2026-11-22T10:00:00Z') });
      assert.equal(r.counts.joiners, 10_000);
      assert.deepEqual(await indexes(), before);
      const bySales = await sql<{ n: number }>`SELECT count(*)::int AS n FROM identities WHERE attributes->>'department' = 'Sales'`.execute(store.db);
      assert.equal(bySales.rows[0]!.n, 10_000);
      assert.equal((await timelineOf(store.db, 'E9999')).length, 1);
    } finally {
      await store.close();
    }
  });
}
