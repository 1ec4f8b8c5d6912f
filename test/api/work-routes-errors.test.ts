/**
 * Only "not found" is a 404: a database failure behind the approval decision
 * and task routes is a server error (500), never mistaken for a missing item.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { testBackends } from '../support/backends.ts';
import { seedOrganisation, startApi } from './api-fixture.ts';

for (const backend of testBackends()) {
  describe(`work routes when the database fails (${backend.name})`, () => {
    test('an approval that cannot be read because the database fails is a 500, one that does not exist a 404', async () => {
      const store = await backend.open();
      try {
        await seedOrganisation(store);
        const { app, approvals, sessions } = await startApi(store);
        const decide = (id: string) =>
          app.inject({ method: 'POST', url: `/api/approvals/${id}/decision`, headers: { cookie: sessions.admin.cookie, 'x-csrf-token': sessions.admin.csrf }, payload: { decision: 'approve' } });
        assert.equal((await decide('no-such-request')).statusCode, 404);
        approvals.get = async () => {
          throw new Error('Connection terminated unexpectedly');
        };
        assert.equal((await decide('no-such-request')).statusCode, 500);
        await app.close();
      } finally {
        await store.close();
      }
    });

    test('a task that cannot be read because the database fails is a 500, one that does not exist a 404', async () => {
      const store = await backend.open();
      try {
        await seedOrganisation(store);
        const { app, sessions } = await startApi(store);
        const complete = () =>
          app.inject({ method: 'POST', url: '/api/tasks/task-missing/complete', headers: { cookie: sessions.admin.cookie, 'x-csrf-token': sessions.admin.csrf }, payload: { note: 'done' } });
        assert.equal((await complete()).statusCode, 404);
        await sql`ALTER TABLE tasks RENAME TO tasks_unreachable`.execute(store.db);
        assert.equal((await complete()).statusCode, 500);
        await sql`ALTER TABLE tasks_unreachable RENAME TO tasks`.execute(store.db);
        await app.close();
      } finally {
        await store.close();
      }
    });
  });
}
