/**
 * The console's way to a first password: only the person a delivery task
 * names sees it, once; every refusal is audited, and the password itself is
 * in no audit entry.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createInitialCredentials } from '../../src/app/initial-credentials.ts';
import type { Change } from '../../src/domain/change.ts';
import { createKeyring, masterKey } from '../../src/connectors/secrets/index.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { seedOrganisation, startApi } from './api-fixture.ts';

for (const backend of testBackends()) {
  describe(`initial password in the console (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;
    let taskId = '';
    let password = '';
    const keyring = createKeyring(masterKey(randomBytes(32)));

    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      const credentials = createInitialCredentials({ db: store.db, keyring: () => keyring, systemOwner: () => 'own-1' });
      api = await startApi(store, { services: { initialPasswords: credentials } });
      // alice is rehired in vpn; her manager mgr-a is asked to hand the password over.
      const enable: Change = { id: 'enable:alice', kind: 'enable_account', identityKey: 'alice', system: 'vpn', accountId: 'acct-alice', credential: 'new_secret', reason: 'rehire', dependsOn: [] };
      password = (await credentials.issue(enable)).reveal();
      taskId = (await credentials.release(enable, 'acct-alice'))!.taskId!;
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });

    const post = (role: keyof typeof api.sessions) =>
      api.app.inject({ method: 'POST', url: `/api/tasks/${taskId}/initial-password`, headers: { cookie: api.sessions[role].cookie, 'x-csrf-token': api.sessions[role].csrf } });

    test('the task lists as delivering a password, and only its assignee may see it — not the person, an admin or the system owner', async () => {
      const list = await api.app.inject({ method: 'GET', url: '/api/tasks?status=open', headers: { cookie: api.sessions.manager.cookie } });
      assert.deepEqual((list.json() as { items: { id: string; deliversPassword: boolean }[] }).items.map((t) => [t.id, t.deliversPassword]), [[taskId, true]]);
      for (const role of ['user', 'admin', 'owner'] as const) {
        const before = await store.db.selectFrom('audit_log').select('seq').where('action', '=', 'access.denied').execute();
        const res = await post(role);
        assert.equal(res.statusCode, 403, `${role}: ${res.body}`);
        assert.ok(!res.body.includes(password));
        const after = await store.db.selectFrom('audit_log').select('seq').where('action', '=', 'access.denied').execute();
        assert.equal(after.length, before.length + 1, `${role}: the refusal is audited`);
      }
    });

    test('the manager sees it once; asking again says it was shown and destroyed', async () => {
      const first = await post('manager');
      assert.equal(first.statusCode, 200, first.body);
      assert.deepEqual(first.json(), { password });
      const second = await post('manager');
      assert.equal(second.statusCode, 409);
      assert.match(second.body, /already shown to mgr-a and destroyed/);
      const audit = await store.db.selectFrom('audit_log').selectAll().execute();
      assert.ok(audit.some((e) => e.action === 'initial_credential.revealed' && e.actor === 'mgr-a'));
      assert.ok(!JSON.stringify(audit).includes(password), 'the password is in no audit entry');
    });
  });
}
