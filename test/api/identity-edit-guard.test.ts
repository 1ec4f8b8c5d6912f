/**
 * Edits that would let someone grant themselves access, through the API: an
 * HR user linked to their own identity may not change its department or
 * location (which rules read), nor make themselves — or someone below them —
 * another identity's manager; a management cycle is refused; an edit that
 * changes desired access returns what is gained and lost, and a dry run
 * shows it without recording anything. Every refusal is audited.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createUser } from '../../src/api/auth/user-store.ts';
import type { Policy } from '../../src/domain/policy.ts';
import { policyFileSchema } from '../../src/policy/policy-schema.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { PASSWORD, seedOrganisation, signIn, startApi } from './api-fixture.ts';

const file = policyFileSchema.parse({
  systems: [{ name: 'fin', connector: { type: 'fake' }, owner: 'ceo' }],
  entitlements: [{ system: 'fin', name: 'ledger' }, { system: 'fin', name: 'vault', privileged: true }],
  rules: [
    { name: 'finance', when: { equals: { department: 'finance' } }, grant: { entitlements: ['fin:ledger'] } },
    { name: 'vault-site', when: { equals: { location: 'vault' } }, grant: { entitlements: ['fin:vault'] } },
  ],
});
const policy: Policy = { systems: file.systems ?? [], entitlements: file.entitlements ?? [], roles: [], rules: file.rules ?? [], approvals: [] };

for (const backend of testBackends()) {
  describe(`edits that would grant access to oneself (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;
    const sessions: Record<string, { cookie: string; csrf: string }> = {};

    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      const person = (key: string, manager: string, department: string) => ({ key, kind: 'employee', status: 'active', source: 'hr', attributes: JSON.stringify({ first_name: key, last_name: 'Test', department, location: 'office', manager }) });
      await store.db.insertInto('identities').values([person('hr-1', 'ceo', 'people'), person('hr-report', 'hr-1', 'people')]).execute();
      api = await startApi(store, { services: { policy: async () => policy } });
      await createUser(store.db, { username: 'hr-self', password: PASSWORD, identityKey: 'hr-1', roles: ['hr'] }, 'test');
      sessions.hr = await signIn(api.app, 'hr-self');
      sessions.admin = api.sessions.admin;
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });

    const patch = async (who: string, key: string, payload: Record<string, unknown>, query = '') => {
      const s = sessions[who]!;
      const res = await api.app.inject({ method: 'PATCH', url: `/api/people/${key}${query}`, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf }, payload });
      return { status: res.statusCode, body: res.json() as Record<string, unknown> };
    };
    const denials = async (subject: string) => (await store.db.selectFrom('audit_log').select('details').where('action', '=', 'access.denied').where('subject', '=', subject).execute()).map((r) => (r.details as { reason: string }).reason);
    const events = async (key: string) => (await store.db.selectFrom('lifecycle_events').select('id').where('identity_key', '=', key).execute()).length;
    const attributesOf = async (key: string) => (await store.db.selectFrom('identities').select('attributes').where('key', '=', key).executeTakeFirstOrThrow()).attributes;

    test('an HR user cannot change the department or location of their own identity: 403, audited, nothing recorded', async () => {
      for (const attributes of [{ department: 'finance' }, { location: 'vault' }, { department: 'finance', phone: '1' }]) {
        const res = await patch('hr', 'hr-1', { attributes });
        assert.equal(res.status, 403, JSON.stringify(res.body));
        assert.match((res.body.error as { message: string }).message, /own identity/);
      }
      assert.equal(await events('hr-1'), 0);
      assert.deepEqual([(await attributesOf('hr-1')).department, (await attributesOf('hr-1')).location], ['people', 'office']);
      const reasons = await denials('hr-1');
      assert.equal(reasons.length, 3);
      assert.match(reasons[0]!, /department/);
      assert.match(reasons[1]!, /location/);
    });

    test('an HR user may still change a field of their own identity that no policy reads', async () => {
      const res = await patch('hr', 'hr-1', { attributes: { phone: '+1 555 0199' } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.access, { gained: [], lost: [] });
    });

    test('nobody makes themselves another identity’s manager, directly or through someone who reports to them', async () => {
      for (const manager of ['hr-1', 'hr-report']) {
        const res = await patch('hr', 'alice', { attributes: { manager } });
        assert.equal(res.status, 403, manager);
        assert.match((res.body.error as { message: string }).message, /manager of alice/);
      }
      assert.equal((await attributesOf('alice')).manager, 'mgr-a');
      assert.equal((await denials('alice')).length, 2);
      assert.equal((await patch('hr', 'alice', { attributes: { manager: 'mgr-b' } })).status, 200, 'someone outside their own line is fine');
      assert.equal((await patch('hr', 'alice', { attributes: { manager: 'mgr-a' } })).status, 200);
    });

    test('a manager change that would put someone above themselves is refused with 400', async () => {
      const res = await patch('admin', 'ceo', { attributes: { manager: 'alice' } });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match((res.body.error as { message: string }).message, /cycle \(ceo → alice → mgr-a → ceo\)/);
      assert.equal((await patch('admin', 'alice', { attributes: { manager: 'alice' } })).status, 400);
      assert.equal((await attributesOf('ceo')).manager, null);
    });

    test('an edit that changes desired access returns what is gained and lost; a dry run records nothing', async () => {
      const preview = await patch('hr', 'bob', { attributes: { department: 'finance' } }, '?dryRun=true');
      assert.equal(preview.status, 200, JSON.stringify(preview.body));
      assert.equal(preview.body.dryRun, true);
      assert.deepEqual(preview.body.access, { gained: [{ system: 'fin', entitlement: 'ledger', reasons: ['rule finance'] }], lost: [] });
      assert.equal((await attributesOf('bob')).department, 'eng');
      assert.equal(await events('bob'), 0);

      assert.deepEqual((await patch('hr', 'bob', { attributes: { department: 'finance' } })).body.access, preview.body.access);
      assert.equal((await attributesOf('bob')).department, 'finance');
      const back = await patch('hr', 'bob', { attributes: { department: 'eng' } });
      assert.deepEqual(back.body.access, { gained: [], lost: [{ system: 'fin', entitlement: 'ledger', reasons: ['rule finance'] }] });
    });
  });
}
