/**
 * jml's SCIM service provider as real provisioning clients use it: the
 * request sequences Entra ID (API-driven inbound), Okta and a Workday-style
 * integration send, replayed against the API on each backend, and the safety
 * around them: token scope, dry run, guard, idempotent retries, If-Match,
 * body cap, rate limit and the audit trail.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createConsoleServices } from '../../src/api/console-services.ts';
import { ENTERPRISE_USER_SCHEMA, JML_USER_SCHEMA } from '../../src/sources/scim-user-table.ts';
import { getIdentity, timelineOf } from '../../src/store/identity-store.ts';
import { testBackends, type TestBackend } from '../support/backends.ts';
import { startScimEndpoint, type ScimEndpoint } from '../support/scim-endpoint.ts';

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const CSV_EXTENSION = 'urn:ietf:params:scim:schemas:extension:csv:1.0:User';

type Json = Record<string, any>;

async function call(scim: ScimEndpoint, method: string, url: string, options: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {}) {
  const res = await scim.app.inject({
    method: method as 'GET',
    url: `/scim/v2${url}`,
    headers: { authorization: `Bearer ${options.token ?? scim.token}`, 'content-type': 'application/scim+json', ...options.headers },
    ...(options.raw !== undefined ? { payload: options.raw } : options.body !== undefined ? { payload: JSON.stringify(options.body) } : {}),
  });
  return { status: res.statusCode, headers: res.headers, json: (res.body ? JSON.parse(res.body) : null) as Json, body: res.body };
}

async function eventCount(scim: ScimEndpoint, source?: string): Promise<number> {
  const q = source ? sql<{ n: number }>`select count(*)::int as n from lifecycle_events where source = ${source}` : sql<{ n: number }>`select count(*)::int as n from lifecycle_events`;
  return Number((await q.execute(scim.store.db)).rows[0]!.n);
}

/** One worker record as Entra's API-driven inbound provisioning sends it (its CSV-to-SCIM sample shape). */
function entraRecord(i: number, active = 'True'): Json {
  const id = `W${String(i).padStart(4, '0')}`;
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER_SCHEMA, CSV_EXTENSION],
    externalId: id,
    userName: `${id.toLowerCase()}@contoso.example`,
    name: { familyName: `Worker${i}`, givenName: 'Pat' },
    displayName: `Pat Worker${i}`,
    active,
    emails: [{ type: 'work', value: `${id.toLowerCase()}@contoso.example`, primary: 'True' }],
    title: 'Consultant',
    [ENTERPRISE_USER_SCHEMA]: { employeeNumber: id, department: 'Operations', costCenter: 'CC-10', ...(i > 1 ? { manager: { value: 'W0001' } } : {}) },
    [CSV_EXTENSION]: { HireDate: '2026-01-05' },
  };
}

function entraBulk(records: Json[]): Json {
  return { schemas: [BULK], Operations: records.map((data) => ({ method: 'POST', bulkId: String(data.externalId), path: '/Users', data })) };
}

function openEndpoint(backend: TestBackend, options: Parameters<typeof startScimEndpoint>[0] = {}) {
  return backend.open().then((store) => startScimEndpoint({ ...options, store }));
}

for (const backend of testBackends()) {
  describe(`SCIM clients against jml on ${backend.name}`, () => {
    let scim: ScimEndpoint;
    const clock = { now: new Date('2026-11-22T10:00:00Z') };
    before(async () => {
      scim = await openEndpoint(backend, { sources: { entra: { mapping: { start_date: { column: `${CSV_EXTENSION}:HireDate`, format: 'iso' } } }, okta: {}, workday: {} }, config: { timezone: 'Europe/Berlin', mass_change: { minimum: 10, percent: 5 } }, now: () => clock.now });
    });
    after(async () => {
      await scim.close();
      await scim.store.close();
    });

    test('Entra API-driven inbound: a bulkUpload of 50 records with string booleans makes 50 joiners; the same upload again changes nothing; a deactivation is a leaver', async () => {
      const records = Array.from({ length: 50 }, (_, i) => entraRecord(i + 1));
      const first = await call(scim, 'POST', '/Bulk', { body: entraBulk(records) });
      assert.equal(first.status, 200, first.body);
      assert.deepEqual(new Set(first.json.Operations.map((o: Json) => o.status)), new Set(['201']));
      assert.match(first.json.Operations[1].location, /^http:\/\/localhost(:80)?\/scim\/v2\/Users\/W0002$/);
      assert.equal(await eventCount(scim, 'entra'), 50);
      assert.equal((await getIdentity(scim.store.db, 'W0002'))!.attributes.manager, 'W0001');
      assert.equal((await getIdentity(scim.store.db, 'W0002'))!.attributes.cost_center, 'CC-10');

      const retry = await call(scim, 'POST', '/Bulk', { body: entraBulk(records) });
      assert.deepEqual(new Set(retry.json.Operations.map((o: Json) => o.status)), new Set(['200']));
      assert.equal(await eventCount(scim, 'entra'), 50, 'a retried upload changes nothing twice');
      assert.equal(retry.json.Operations[0].version, 'W/"1"');

      const deactivate = await call(scim, 'POST', '/bulkUpload', { body: entraBulk([entraRecord(7, 'False')]), headers: { 'content-type': 'application/scim+json; charset=utf-8' } });
      assert.equal(deactivate.json.Operations[0].status, '200');
      const events = await timelineOf(scim.store.db, 'W0007');
      assert.deepEqual(events.map((e) => [e.type, e.effectiveDate]), [['joiner', '2026-01-05'], ['leaver', '2026-11-22']]);
      assert.equal((await getIdentity(scim.store.db, 'W0007'))!.status, 'left');
      const read = await call(scim, 'GET', '/Users/W0007');
      assert.equal(read.json.active, false, 'the string "False" is answered as a boolean');
    });

    test('Okta: GET ?filter=userName eq before the create, POST, PUT a new title (mover), PATCH active false without a path (leaver)', async () => {
      const okta = await scim.issueToken('okta', 'okta');
      const filter = encodeURIComponent('userName eq "ada.lovelace@example.com"');
      const none = await call(scim, 'GET', `/Users?filter=${filter}&startIndex=1&count=100`, { token: okta });
      assert.equal(none.status, 200);
      assert.equal(none.json.totalResults, 0);
      const user = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'ada.lovelace@example.com', externalId: '00u1ada', name: { givenName: 'Ada', familyName: 'Lovelace' }, emails: [{ primary: true, value: 'ada.lovelace@example.com', type: 'work' }], displayName: 'Ada Lovelace', locale: 'en-US', active: true, password: 'not-kept' };
      const created = await call(scim, 'POST', '/Users', { token: okta, body: user });
      assert.equal(created.status, 201, created.body);
      assert.match(String(created.headers.location), /^http:\/\/localhost(:80)?\/scim\/v2\/Users\/00u1ada$/);
      assert.equal(created.headers.etag, 'W/"1"');
      assert.match(String(created.headers['content-type']), /^application\/scim\+json/);
      assert.equal(created.json.password, undefined, 'a password is never stored or answered');
      const again = await call(scim, 'POST', '/Users', { token: okta, body: user });
      assert.equal(again.status, 409);
      assert.equal(again.json.scimType, 'uniqueness');
      const found = await call(scim, 'GET', `/Users?filter=${encodeURIComponent('USERNAME eq "Ada.Lovelace@example.com"')}`, { token: okta });
      assert.equal(found.json.totalResults, 1);
      assert.equal(found.json.Resources[0].id, '00u1ada');

      const put = await call(scim, 'PUT', '/Users/00u1ada', { token: okta, body: { ...user, id: '00u1ada', title: 'Analyst' } });
      assert.equal(put.status, 200, put.body);
      assert.equal(put.json.meta.version, 'W/"2"');
      const patch = await call(scim, 'PATCH', '/Users/00u1ada', { token: okta, body: { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] } });
      assert.equal(patch.status, 200, patch.body);
      assert.equal(patch.json.active, false);
      const events = await timelineOf(scim.store.db, '00u1ada');
      assert.deepEqual(events.map((e) => [e.type, e.changes.title ?? null]), [['joiner', null], ['mover', [null, 'Analyst']], ['leaver', null]]);
      assert.deepEqual(events[2]!.changes.status, ['active', 'terminated']);
    });

    test('userName is unique within a source whatever its case: a create, a PUT or a PATCH onto a taken one is refused with 409 uniqueness and writes nothing', async () => {
      const okta = await scim.issueToken('okta', 'okta-uniqueness');
      const person = (externalId: string, userName: string) => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, externalId, name: { givenName: 'G', familyName: externalId }, emails: [{ primary: true, value: userName, type: 'work' }], active: true });
      assert.equal((await call(scim, 'POST', '/Users', { token: okta, body: person('00u1grace', 'grace.hopper@example.com') })).status, 201);
      assert.equal((await call(scim, 'POST', '/Users', { token: okta, body: person('00u1alan', 'alan.turing@example.com') })).status, 201);
      const events = await eventCount(scim, 'okta');

      const duplicate = await call(scim, 'POST', '/Users', { token: okta, body: person('00u1other', 'Grace.Hopper@EXAMPLE.com') });
      assert.equal(duplicate.status, 409, duplicate.body);
      assert.equal(duplicate.json.scimType, 'uniqueness');
      assert.match(duplicate.json.detail, /userName Grace\.Hopper@EXAMPLE\.com is already User 00u1grace's/);
      assert.equal((await call(scim, 'GET', '/Users/00u1other', { token: okta })).status, 404);
      assert.equal(await getIdentity(scim.store.db, '00u1other'), null);

      const put = await call(scim, 'PUT', '/Users/00u1alan', { token: okta, body: person('00u1alan', 'grace.hopper@example.com') });
      assert.equal(put.status, 409, put.body);
      assert.equal(put.json.scimType, 'uniqueness');
      const patch = await call(scim, 'PATCH', '/Users/00u1alan', { token: okta, body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'userName', value: 'GRACE.HOPPER@example.com' }] } });
      assert.equal(patch.status, 409, patch.body);
      assert.equal(patch.json.scimType, 'uniqueness');
      assert.equal((await call(scim, 'GET', '/Users/00u1alan', { token: okta })).json.userName, 'alan.turing@example.com');
      assert.equal(await eventCount(scim, 'okta'), events, 'a refused rename changes nothing');

      const ownCase = await call(scim, 'PATCH', '/Users/00u1grace', { token: okta, body: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'userName', value: 'Grace.Hopper@example.com' }] } });
      assert.equal(ownCase.status, 200, 'a User may change the case of its own userName');
      const otherSource = await scim.issueToken('workday', 'workday-uniqueness');
      assert.equal((await call(scim, 'POST', '/Users', { token: otherSource, body: { ...person('00u1grace-wd', 'grace.hopper@example.com'), [JML_USER_SCHEMA]: { startDate: '2026-01-01' } } })).status, 201, 'another source may hold the same userName');
      const inOneBulk = await call(scim, 'POST', '/Bulk', { token: okta, body: { schemas: [BULK], Operations: [{ method: 'POST', bulkId: 'a', path: '/Users', data: person('00u1x1', 'same.name@example.com') }, { method: 'POST', bulkId: 'b', path: '/Users', data: person('00u1x2', 'Same.Name@example.com') }] } });
      assert.deepEqual(inOneBulk.json.Operations.map((o: Json) => [o.status, o.response?.scimType]), [['201', undefined], ['409', 'uniqueness']]);
    });

    test('a Workday-style integration: a pre-hire is future-dated, an end date schedules the leaver, a changed end date moves it', async () => {
      const workday = await scim.issueToken('workday', 'workday-integration');
      const worker = (end?: string) => ({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER_SCHEMA, JML_USER_SCHEMA],
        externalId: '21001',
        userName: 'l.meitner@example.com',
        name: { givenName: 'Lise', familyName: 'Meitner' },
        emails: [{ type: 'work', value: 'l.meitner@example.com' }],
        [ENTERPRISE_USER_SCHEMA]: { employeeNumber: '21001', department: 'Research', organization: 'ACME GmbH' },
        [JML_USER_SCHEMA]: { startDate: '2026-12-01', employmentType: 'Fixed Term', ...(end ? { endDate: end } : {}) },
      });
      const hire = await call(scim, 'POST', '/Users', { token: workday, body: worker() });
      assert.equal(hire.status, 201, hire.body);
      assert.equal((await getIdentity(scim.store.db, '21001'))!.status, 'pending');
      await call(scim, 'PUT', '/Users/21001', { token: workday, body: worker('2027-05-31') });
      await call(scim, 'PUT', '/Users/21001', { token: workday, body: worker('2027-06-30') });
      const events = await timelineOf(scim.store.db, '21001');
      // As with a file, a pre-hire's changed record re-issues its joiner; the end date that moved is rescinded.
      assert.deepEqual(events.filter((e) => e.state !== 'rescinded').map((e) => [e.type, e.effectiveDate, e.state]), [['joiner', '2026-12-01', 'scheduled'], ['leaver', '2027-06-30', 'scheduled']]);
      assert.deepEqual(events.filter((e) => e.type === 'leaver').map((e) => [e.effectiveDate, e.state]), [['2027-05-31', 'rescinded'], ['2027-06-30', 'scheduled']]);
    });

    test('a pushed User whose manager has not been pushed yet is accepted with the manager unresolved, and the manager\'s later push resolves it', async () => {
      const workday = await scim.issueToken('workday', 'workday-manager-order');
      const worker = (id: string, manager?: string) => ({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER_SCHEMA, JML_USER_SCHEMA],
        externalId: id,
        userName: `w${id}@example.com`,
        name: { givenName: 'Emmy', familyName: `Noether${id}` },
        [ENTERPRISE_USER_SCHEMA]: { employeeNumber: id, department: 'Research', ...(manager ? { manager: { value: manager } } : {}) },
        [JML_USER_SCHEMA]: { startDate: '2026-01-05', employmentType: 'permanent' },
      });
      const report = await call(scim, 'POST', '/Users', { token: workday, body: worker('31002', '31001') });
      assert.equal(report.status, 201, report.body);
      assert.deepEqual(report.json[ENTERPRISE_USER_SCHEMA].manager, { value: '31001' }, 'the User is answered as it was sent');
      const waiting = (await getIdentity(scim.store.db, '31002'))!;
      assert.equal(waiting.attributes.manager ?? null, null);
      assert.equal(waiting.attributes.manager_unresolved, '31001');
      const version = report.json.meta.version;

      const manager = await call(scim, 'POST', '/Users', { token: workday, body: worker('31001') });
      assert.equal(manager.status, 201, manager.body);
      const resolved = (await getIdentity(scim.store.db, '31002'))!;
      assert.equal(resolved.attributes.manager, '31001');
      assert.equal(resolved.attributes.manager_unresolved ?? null, null);
      const events = await timelineOf(scim.store.db, '31002');
      assert.deepEqual(events.map((e) => [e.type, e.changes.manager ?? null]), [['joiner', null], ['mover', [null, '31001']]]);
      assert.equal((await call(scim, 'GET', '/Users/31002', { token: workday })).json.meta.version, version, 'the report\'s resource did not change, so neither did its version');

      const unknownAgain = await call(scim, 'PATCH', '/Users/31002', { token: workday, body: { schemas: [PATCH], Operations: [{ op: 'replace', path: `${ENTERPRISE_USER_SCHEMA}:manager`, value: { value: '39999' } }] } });
      assert.equal(unknownAgain.status, 200, unknownAgain.body);
      assert.equal((await getIdentity(scim.store.db, '31002'))!.attributes.manager_unresolved, '39999', 'a manager changed to someone not pushed yet waits again');
    });

    test('a list pages with startIndex and count, sorts by any attribute and answers only the attributes asked for', async () => {
      const all = await call(scim, 'GET', `/Users?filter=${encodeURIComponent('title eq "Consultant" and externalId sw "W00"')}&sortBy=name.familyName&sortOrder=descending&count=0`);
      assert.equal(all.json.totalResults, 50);
      assert.deepEqual(all.json.Resources, []);
      const page = await call(scim, 'GET', `/Users?filter=${encodeURIComponent('title eq "Consultant" and externalId sw "W00"')}&sortBy=externalId&sortOrder=descending&startIndex=3&count=2&attributes=userName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`);
      assert.equal(page.json.totalResults, 50);
      assert.equal(page.json.startIndex, 3);
      assert.equal(page.json.itemsPerPage, 2);
      assert.deepEqual(page.json.Resources.map((r: Json) => r.id), ['W0048', 'W0047']);
      assert.deepEqual(Object.keys(page.json.Resources[0]).sort(), ['id', 'schemas', ENTERPRISE_USER_SCHEMA, 'userName'].sort());
      assert.deepEqual(page.json.Resources[0][ENTERPRISE_USER_SCHEMA], { department: 'Operations' });
      const without = await call(scim, 'GET', '/Users/W0005?excludedAttributes=emails,name.givenName');
      assert.equal(without.json.emails, undefined);
      assert.deepEqual(without.json.name, { familyName: 'Worker5' });
      const search = await call(scim, 'POST', '/Users/.search', { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'emails[type eq "work" and value ew "w0005@contoso.example"]', attributes: ['userName'] } });
      assert.deepEqual(search.json.Resources.map((r: Json) => Object.keys(r).sort()), [['id', 'schemas', 'userName']]);
      assert.equal(search.json.Resources[0].userName, 'w0005@contoso.example');
    });

    test('a token of one source neither sees nor changes another source\'s records; a read token cannot write', async () => {
      const okta = await scim.issueToken('okta', 'okta-scope-test');
      const asOkta = await call(scim, 'GET', '/Users/W0002', { token: okta });
      assert.equal(asOkta.status, 404, 'entra\'s record is not okta\'s');
      const list = await call(scim, 'GET', '/Users?count=1000', { token: okta });
      assert.ok(list.json.Resources.every((r: Json) => r.id !== 'W0002'));
      const events = await eventCount(scim, 'entra');
      const put = await call(scim, 'PUT', '/Users/W0002', { token: okta, body: entraRecord(2, 'False') });
      assert.equal(put.status, 404);
      assert.equal(await eventCount(scim, 'entra'), events);
      const readOnly = await call(scim, 'POST', '/Users', { token: scim.readToken, body: entraRecord(99) });
      assert.equal(readOnly.status, 403);
      assert.equal(readOnly.json.schemas[0], 'urn:ietf:params:scim:api:messages:2.0:Error');
      const entraRead = await scim.issueToken('entra', 'entra-reader', ['scim:read']);
      assert.equal((await call(scim, 'PATCH', '/Users/W0002', { token: entraRead, body: { Operations: [{ op: 'replace', path: 'title', value: 'x' }] } })).status, 403);
      assert.equal((await call(scim, 'GET', '/Users/W0002', { token: entraRead })).status, 200);
      assert.equal((await call(scim, 'GET', '/Users', { token: 'jml_scim_not-a-token' })).status, 401);
    });

    test('a synchronous Bulk commits once: its batch record and its audit entry are written in its push\'s transaction, whether it changed something or nothing', async () => {
      /** The transaction that wrote a row (xmin): equal for rows one transaction wrote. */
      const writtenBy = async (table: 'scim_batches' | 'audit_log' | 'imports', column: 'id' | 'trigger', value: string) =>
        (await sql<{ tx: string }>`select xmin::text as tx from ${sql.table(table)} where ${sql.ref(column)} = ${value}`.execute(scim.store.db)).rows.map((r) => r.tx);
      const body = entraBulk([810, 811, 812].map((i) => entraRecord(i)));
      for (const [round, wanted] of [['creates', 'import.applied'], ['a retry', 'scim.request']] as const) {
        const res = await call(scim, 'POST', '/Bulk', { body });
        assert.equal(res.status, 200, res.body);
        const batchId = String(res.headers['jml-batch']).split('/').pop()!;
        const batch = await scim.store.db.selectFrom('scim_batches').select(['trigger', 'import_ids', 'processed']).where('id', '=', batchId).executeTakeFirstOrThrow();
        assert.equal(batch.processed, 3);
        const audit = await scim.store.db.selectFrom('audit_log').select('action').where('trigger', '=', batch.trigger!).execute();
        assert.deepEqual(audit.map((a) => a.action), [wanted], round);
        const [batchTx] = await writtenBy('scim_batches', 'id', batchId);
        assert.deepEqual(await writtenBy('audit_log', 'trigger', batch.trigger!), [batchTx], `${round}: the audit entry is written with the batch record`);
        if (round === 'creates') assert.deepEqual(await writtenBy('imports', 'id', batch.import_ids[0]!), [batchTx], 'the batch record commits with the push it made');
        else assert.deepEqual(batch.import_ids, []);
      }
    });

    test('a dry run (header or query) answers with the diff and writes nothing', async () => {
      const before = await eventCount(scim);
      const auditBefore = Number((await sql<{ n: number }>`select count(*)::int as n from audit_log where action <> 'scim.request'`.execute(scim.store.db)).rows[0]!.n);
      const dry = await call(scim, 'POST', '/Users', { body: entraRecord(200), headers: { 'jml-dry-run': 'true' } });
      assert.equal(dry.status, 200, dry.body);
      assert.deepEqual(dry.json.events.map((e: Json) => [e.type, e.id]), [['joiner', 'W0200']]);
      const patch = await call(scim, 'PATCH', '/Users/W0003?dryRun=true', { body: { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] } });
      assert.deepEqual(patch.json.events.map((e: Json) => [e.type, e.id]), [['leaver', 'W0003']]);
      assert.equal(await eventCount(scim), before);
      assert.equal((await call(scim, 'GET', '/Users/W0200')).status, 404);
      assert.equal((await call(scim, 'GET', '/Users/W0003')).json.active, true);
      const auditAfter = Number((await sql<{ n: number }>`select count(*)::int as n from audit_log where action <> 'scim.request'`.execute(scim.store.db)).rows[0]!.n);
      assert.equal(auditAfter, auditBefore, 'only the requests themselves are audited');
    });

    test('PUT, PATCH and DELETE with a stale If-Match are refused with 412 and change nothing', async () => {
      const current = await call(scim, 'GET', '/Users/W0004');
      const etag = String(current.headers.etag);
      const put = await call(scim, 'PUT', '/Users/W0004', { body: { ...entraRecord(4), title: 'Lead' }, headers: { 'if-match': etag } });
      assert.equal(put.status, 200);
      const stale = await call(scim, 'PUT', '/Users/W0004', { body: { ...entraRecord(4), title: 'Director' }, headers: { 'if-match': etag } });
      assert.equal(stale.status, 412);
      assert.equal(stale.json.status, '412');
      assert.equal((await call(scim, 'PATCH', '/Users/W0004', { body: { Operations: [{ op: 'replace', path: 'title', value: 'x' }] }, headers: { 'if-match': etag } })).status, 412);
      assert.equal((await call(scim, 'DELETE', '/Users/W0004', { headers: { 'if-match': etag } })).status, 412);
      assert.equal((await getIdentity(scim.store.db, 'W0004'))!.attributes.title, 'Lead');
    });

    test('a value the mapping refuses is a 400 in SCIM\'s error schema naming the attribute, and nothing is written', async () => {
      const res = await call(scim, 'POST', '/Users', { body: { ...entraRecord(300), [CSV_EXTENSION]: { HireDate: '31.12.2026' } } });
      assert.equal(res.status, 400);
      assert.equal(res.json.scimType, 'invalidValue');
      assert.match(res.json.detail, /urn:ietf:params:scim:schemas:extension:csv:1\.0:User:HireDate: invalid date "31\.12\.2026"/);
      assert.equal(await getIdentity(scim.store.db, 'W0300'), null);
      const filter = await call(scim, 'GET', `/Users?filter=${encodeURIComponent('userName eq')}`);
      assert.equal(filter.status, 400);
      assert.equal(filter.json.scimType, 'invalidFilter');
    });

    test('a body over the cap is refused with 413 in SCIM\'s error form; more operations than advertised too', async () => {
      const big = await call(scim, 'POST', '/Users', { raw: JSON.stringify({ ...entraRecord(400), title: 'x'.repeat(1024 * 1024) }) });
      assert.equal(big.status, 413);
      assert.equal(big.json.schemas[0], 'urn:ietf:params:scim:api:messages:2.0:Error');
      const config = await call(scim, 'GET', '/ServiceProviderConfig');
      const tooMany = await call(scim, 'POST', '/Bulk', { body: entraBulk(Array.from({ length: config.json.bulk.maxOperations + 1 }, (_, i) => entraRecord(i + 500))) });
      assert.equal(tooMany.status, 413);
      assert.equal(tooMany.json.scimType, 'tooMany');
    });

    test('Bulk resolves bulkId references (in the identity and in the stored User), and failOnErrors stops after that many failures', async () => {
      const res = await call(scim, 'POST', '/Bulk', {
        body: {
          schemas: [BULK],
          failOnErrors: 1,
          Operations: [
            { method: 'POST', bulkId: 'boss', path: '/Users', data: { ...entraRecord(600), [ENTERPRISE_USER_SCHEMA]: { department: 'Ops' } } },
            { method: 'POST', bulkId: 'report', path: '/Users', data: { ...entraRecord(601), [ENTERPRISE_USER_SCHEMA]: { department: 'Ops', manager: { value: 'bulkId:boss' } } } },
            { method: 'PATCH', path: '/Users/bulkId:report', data: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value: 'Lead' }] } },
            { method: 'DELETE', path: '/Users/NOPE' },
            { method: 'POST', path: '/Users', data: entraRecord(602) },
          ],
        },
      });
      assert.deepEqual(res.json.Operations.map((o: Json) => o.status), ['201', '201', '200', '404'], JSON.stringify(res.json.Operations.map((o: Json) => o.response?.detail)));
      assert.equal((await getIdentity(scim.store.db, 'W0601'))!.attributes.manager, 'W0600');
      const report = await call(scim, 'GET', '/Users/W0601');
      assert.deepEqual(report.json[ENTERPRISE_USER_SCHEMA].manager, { value: 'W0600' }, 'GET answers the reference as the id it was created as (RFC 7644 §3.7.2)');
      assert.equal((await getIdentity(scim.store.db, 'W0601'))!.attributes.title, 'Lead');
      assert.equal(await getIdentity(scim.store.db, 'W0602'), null, 'operations after the failure limit are not run');
    });

    test('an asynchronous Bulk is accepted with a status resource that reports its progress and results', async () => {
      const res = await call(scim, 'POST', '/Bulk', { body: entraBulk([entraRecord(700), entraRecord(701)]), headers: { prefer: 'respond-async' } });
      assert.equal(res.status, 202);
      const location = new URL(String(res.headers.location)).pathname.replace('/scim/v2', '');
      let status: Json = {};
      for (let i = 0; i < 100 && status.status !== 'done'; i += 1) {
        status = (await call(scim, 'GET', location)).json;
        if (status.status !== 'done') await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(status.status, 'done');
      assert.equal(status.processed, 2);
      assert.equal(status.imports.length, 1);
      assert.deepEqual(status.Operations.map((o: Json) => o.status), ['201', '201']);
      const okta = await scim.issueToken('okta', 'okta-batch-test');
      assert.equal((await call(scim, 'GET', location, { token: okta })).status, 404, 'a batch is its source\'s');
      const imports = await scim.store.db.selectFrom('imports').select(['file_name', 'status']).where('id', '=', status.imports[0]).executeTakeFirst();
      assert.match(imports!.file_name, /^scim Bulk /, 'each push is listed with the imports');
    });

    test('more deactivations within the window than the guard allows are held (409 naming the hold), and a release applies them', async () => {
      const before = await eventCount(scim, 'entra');
      const res = await call(scim, 'POST', '/Bulk', { body: entraBulk(Array.from({ length: 12 }, (_, i) => entraRecord(i + 10, 'False'))) });
      assert.equal(res.json.Operations[0].status, '409');
      const importId = res.json.Operations[0].response.importId as string;
      assert.match(res.json.Operations[0].response.detail, /would leave within 60 minutes/);
      assert.equal(await eventCount(scim, 'entra'), before);
      const outcome = await createConsoleServices({ db: scim.store.db, backend: scim.store.backend, config: scim.config, now: () => clock.now }).imports!.release(importId, 'sec-officer');
      assert.equal(outcome.status, 'applied');
      assert.equal(outcome.events.filter((e) => e.type === 'leaver').length, 12);
      const audit = await scim.store.db.selectFrom('audit_log').select(['action', 'actor']).where('action', '=', 'import.mass_change_released').execute();
      assert.deepEqual(audit.map((a) => a.actor), ['sec-officer']);
    });

    test('every request is audited with the token\'s name as actor and no secret', async () => {
      const rows = await scim.store.db.selectFrom('audit_log').select(['actor', 'details']).where('action', '=', 'scim.request').execute();
      assert.ok(rows.length > 20);
      assert.ok(rows.some((r) => r.actor === 'scim:entra:test-writer'));
      assert.ok(rows.some((r) => r.actor === 'scim:okta:okta'));
      assert.ok(rows.some((r) => r.actor === 'anonymous' && (r.details as Json).status === 401));
      // An applied write is audited by its push, in the same transaction: the token as actor, the request as trigger.
      const applied = await scim.store.db.selectFrom('audit_log').select(['actor', 'trigger']).where('action', '=', 'import.applied').where('actor', '=', 'scim:okta:okta').execute();
      assert.ok(applied.length >= 3 && applied.every((a) => /^api:/.test(a.trigger)));
      const text = JSON.stringify(rows);
      assert.ok(!text.includes(scim.token) && !text.includes('jml_scim_'), 'no bearer secret in the audit');
    });
  });

  describe(`SCIM rate limit on ${backend.name}`, () => {
    test('beyond the limit a token gets 429 with Retry-After, in SCIM\'s error form', async () => {
      const scim = await openEndpoint(backend, { rateLimit: { requests: 3, windowMs: 60_000 } });
      try {
        for (let i = 0; i < 3; i += 1) assert.equal((await call(scim, 'GET', '/ServiceProviderConfig')).status, 200);
        const limited = await call(scim, 'GET', '/ServiceProviderConfig');
        assert.equal(limited.status, 429);
        assert.equal(limited.json.status, '429');
        assert.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60);
        assert.equal((await call(scim, 'GET', '/ServiceProviderConfig', { token: scim.readToken })).status, 200, 'the limit is per token');
      } finally {
        await scim.close();
        await scim.store.close();
      }
    });
  });
}
