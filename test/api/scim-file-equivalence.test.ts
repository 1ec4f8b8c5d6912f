/**
 * The same population, told to jml twice: once as daily HR files (`jml import`),
 * once pushed over SCIM Bulk (as Entra's API-driven inbound provisioning
 * sends it). Every identity's timeline must come out the same, event by event:
 * joiners (one future-dated), a mover, a leaver with an end date, a rehire and
 * a record that leaves the source.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { importSource } from '../../src/app/import-source.ts';
import { ENTERPRISE_USER_SCHEMA, JML_USER_SCHEMA } from '../../src/sources/scim-user-table.ts';
import { timelineOf } from '../../src/store/identity-store.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { tempDir, testConfig, writeHr, type Person } from '../support/hr-files.ts';
import { startScimEndpoint, type ScimEndpoint } from '../support/scim-endpoint.ts';

const TZ = 'Europe/Berlin';

/** A person of the HR file as the SCIM User an HR push carries. */
function scimUserOf(p: Person): Record<string, unknown> {
  const email = p.email ?? `${p.id.toLowerCase()}@example.com`;
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER_SCHEMA, JML_USER_SCHEMA],
    externalId: p.id,
    userName: email,
    active: p.status === 'terminated' ? 'False' : 'True',
    name: { givenName: p.first ?? `First${p.id}`, familyName: p.last ?? `Last${p.id}` },
    emails: [{ type: 'work', value: email, primary: true }],
    title: p.title ?? 'Engineer',
    addresses: [{ type: 'work', locality: p.location ?? 'Berlin' }],
    [ENTERPRISE_USER_SCHEMA]: { department: p.department ?? 'Engineering', ...(p.manager ? { manager: { value: p.manager } } : {}) },
    [JML_USER_SCHEMA]: { employmentType: p.type ?? 'Full-time', startDate: p.start ?? '2024-01-15', ...(p.end ? { endDate: p.end } : {}) },
  };
}

const day1: Person[] = [
  { id: 'E1' },
  { id: 'E2', manager: 'E1' },
  { id: 'E3', manager: 'E1' },
  { id: 'E4', manager: 'E1', start: '2026-11-20' },
  { id: 'E5', manager: 'E2' },
];
const day2: Person[] = [
  { id: 'E1' },
  { id: 'E2', manager: 'E1', department: 'Sales' },
  { id: 'E3', manager: 'E1', status: 'terminated', end: '2026-11-12' },
  { id: 'E4', manager: 'E1', start: '2026-11-20' },
  { id: 'E5', manager: 'E2' },
  { id: 'E6', manager: 'E2', start: '2026-11-10', title: 'Analyst' },
];
// E3 comes back; E5 is gone from the file (deleted over SCIM).
const day3: Person[] = [
  { id: 'E1' },
  { id: 'E2', manager: 'E1', department: 'Sales' },
  { id: 'E3', manager: 'E1', start: '2026-12-01' },
  { id: 'E4', manager: 'E1', start: '2026-11-20' },
  { id: 'E6', manager: 'E2', start: '2026-11-10', title: 'Analyst' },
];
const days: [string, Person[], string[]][] = [
  ['2026-11-02T09:00:00Z', day1, []],
  ['2026-11-10T09:00:00Z', day2, []],
  ['2026-11-25T09:00:00Z', day3, ['E5']],
];

function bulkOf(people: readonly Person[], deleted: readonly string[]) {
  return {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
    Operations: [
      ...people.map((p) => ({ method: 'POST', bulkId: p.id, path: '/Users', data: scimUserOf(p) })),
      ...deleted.map((id) => ({ method: 'DELETE', path: `/Users/${id}` })),
    ],
  };
}

/** A timeline as compared: what happened, when, with what changes, in what state. */
async function timelines(store: Store): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const key of ['E1', 'E2', 'E3', 'E4', 'E5', 'E6']) {
    out[key] = (await timelineOf(store.db, key)).map((e) => ({ type: e.type, effectiveAt: e.effectiveAt, state: e.state, changes: e.changes }));
  }
  return out;
}

for (const backend of testBackends()) {
  describe(`file import and SCIM push of the same population on ${backend.name}`, () => {
    let fileStore: Store;
    let scim: ScimEndpoint;
    let clock = new Date(days[0]![0]);

    before(async () => {
      fileStore = await backend.open();
      // The inbound source is named hr too: a record's source is part of what a joiner records.
      scim = await startScimEndpoint({ store: await backend.open(), sources: { hr: {} }, config: { timezone: TZ }, now: () => clock });
    });
    after(async () => {
      await scim.close();
      await scim.store.close();
      await fileStore.close();
    });

    test('every identity has the same timeline, event by event, whichever way the records came', async () => {
      const dir = tempDir();
      const config = testConfig({ timezone: TZ });
      for (const [i, [at, people, deleted]] of days.entries()) {
        clock = new Date(at);
        const file = writeHr(dir, `day${i + 1}.csv`, people);
        const imported = await importSource({ db: fileStore.db, config }, { source: 'hr', file, actor: 'cli:test', now: clock });
        assert.equal(imported.status, 'applied', `day ${i + 1} file: ${JSON.stringify(imported.errors)}`);
        const res = await scim.app.inject({ method: 'POST', url: '/scim/v2/Bulk', headers: { authorization: `Bearer ${scim.token}`, 'content-type': 'application/scim+json' }, payload: bulkOf(people, deleted) });
        assert.equal(res.statusCode, 200, res.body);
        const failed = (res.json() as { Operations: { status: string }[] }).Operations.filter((o) => Number(o.status) >= 400);
        assert.deepEqual(failed, [], `day ${i + 1} push`);
      }
      const fromFile = await timelines(fileStore);
      const fromScim = await timelines(scim.store);
      assert.deepEqual(fromFile.E3!.map((e) => (e as { type: string }).type), ['joiner', 'leaver', 'rehire'], 'the scenario has a leaver and a rehire');
      assert.deepEqual(fromFile.E2!.map((e) => (e as { type: string }).type), ['joiner', 'mover']);
      assert.deepEqual(fromFile.E5!.map((e) => (e as { type: string }).type), ['joiner', 'leaver']);
      for (const key of Object.keys(fromFile)) assert.deepEqual(fromScim[key], fromFile[key], `timeline of ${key}`);
    });
  });
}
