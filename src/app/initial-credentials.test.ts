import assert from 'node:assert/strict';
import { verifyAudit } from '../store/audit-log.ts';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Change, ChangeOutcome, Plan } from '../domain/change.ts';
import type { Connector, ChangeSecrets } from '../connectors/connector.ts';
import { createTaskStore } from '../connectors/manual/task-store.ts';
import { createKeyring, keyringFromEnv, masterKey } from '../connectors/secrets/index.ts';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { executePlan } from '../jobs/plan-executor.ts';
import { statementCounter } from '../../test/support/query-plugins.ts';
import { createInitialCredentials, withInitialCredentials, type InitialCredentialsDeps } from './initial-credentials.ts';

/** A directory that keeps one password per account and can lose the answer to an apply that took effect. */
function passwordDirectory() {
  const accounts = new Map<string, { enabled: boolean; password: string }>([['E1', { enabled: false, password: 'known-before-leaving' }]]);
  let lostAnswers = 0;
  const connector: Connector = {
    describe: () => ({ type: 'pwdir', provisions: ['enable_account', 'disable_account'], manual: false, credentials: true }),
    validate: async () => ({ ok: true, problems: [] }),
    list: async () => ({ items: [], nextCursor: null }),
    async readBack(change) {
      const account = accounts.get(change.identityKey)!;
      return { holds: account.enabled === (change.kind === 'enable_account'), accountId: `acct-${change.identityKey}` };
    },
    async apply(change: Change, secrets?: ChangeSecrets): Promise<ChangeOutcome> {
      const account = accounts.get(change.identityKey)!;
      if (change.credential === 'new_secret') {
        if (!secrets?.newSecret) return { status: 'failed', retryable: false, message: 'no secret' };
        account.password = secrets.newSecret.reveal();
      }
      account.enabled = change.kind === 'enable_account';
      if (lostAnswers > 0) {
        lostAnswers--;
        throw new Error('connection reset after the modify reached the server');
      }
      return { status: 'done', accountId: `acct-${change.identityKey}` };
    },
  };
  return { accounts, connector, loseNextAnswer: () => { lostAnswers++; } };
}

const enable: Change = { id: 'enable:E1', kind: 'enable_account', identityKey: 'E1', system: 'dir', accountId: 'acct-E1', credential: 'new_secret', reason: 'rehire', dependsOn: [] };
let plans = 0;
const planOf = (changes: readonly Change[]): Plan => ({ id: `plan-ic-${++plans}`, computedAt: '2026-03-10T08:00:00Z', fingerprint: 'fp', changes });

for (const backend of testBackends()) {
  describe(`initial credentials on ${backend.name}`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
    });
    after(() => store.close());
    beforeEach(async () => {
      await store.db.deleteFrom('initial_credentials').execute();
      await store.db.deleteFrom('tasks').execute();
      await store.db.deleteFrom('identities').execute();
    });

    const keyring = createKeyring(masterKey(randomBytes(32)));
    const deps = (extra: Partial<InitialCredentialsDeps> = {}): InitialCredentialsDeps =>
      ({ db: store.db, keyring: () => keyring, systemOwner: () => 'OWNER', ...extra });
    const apply = (connector: Connector) => executePlan({ store, actor: 'test', connectorFor: () => connector, options: { retry: { baseDelayMs: 1 } } }, planOf([enable]), async () => 'fp');
    const identity = (key: string, status: string, manager?: string) => ({
      key, kind: 'employee', status, source: 'hr', attributes: JSON.stringify(manager ? { manager } : {}), start_date: null, end_date: null, owner: null, sponsor: null,
    });

    test('a retry after an unknown outcome delivers the password the system holds, not a second one', async () => {
      const directory = passwordDirectory();
      const credentials = createInitialCredentials(deps());
      directory.loseNextAnswer();
      const report = await apply(withInitialCredentials(directory.connector, credentials));
      assert.equal(report.changes[0]?.state, 'confirmed');
      const rows = await store.db.selectFrom('initial_credentials').selectAll().execute();
      assert.deepEqual(rows.map((r) => r.state), ['ready']);
      const revealed = await credentials.reveal(rows[0]!.id, { actor: 'owner', identityKey: 'OWNER' });
      assert.equal(revealed.reveal(), directory.accounts.get('E1')!.password);
      assert.notEqual(revealed.reveal(), 'known-before-leaving');
      assert.equal((await createTaskStore({ db: store.db }).listTasks({ identityKey: 'E1' })).length, 1, 'one delivery task');
    });

    test('the active manager delivers the password; a manager who has left does not, and the system owner does instead', async () => {
      await store.db.insertInto('identities').values([identity('E1', 'active', 'M1'), identity('M1', 'active')]).execute();
      const first = createInitialCredentials(deps());
      await first.issue(enable);
      assert.equal((await first.release(enable, 'acct-E1'))?.taskId !== undefined, true);
      assert.deepEqual((await createTaskStore({ db: store.db }).listTasks({ identityKey: 'E1' })).map((t) => t.owner), ['M1']);

      await store.db.updateTable('identities').set({ status: 'left' }).where('key', '=', 'M1').execute();
      const again: Change = { ...enable, id: 'enable:E1:again' };
      await first.issue(again);
      await first.release(again, 'acct-E1');
      assert.deepEqual((await createTaskStore({ db: store.db }).listTasks({ identityKey: 'E1' })).map((t) => t.owner).sort(), ['M1', 'OWNER']);
    });

    test('passwords released at the same time are each delivered once, through one task each, to their own deliverer', async () => {
      await store.db.insertInto('identities').values([identity('E1', 'active', 'M1'), identity('M1', 'active'), identity('E2', 'active'), identity('E3', 'active', 'M1')]).execute();
      const credentials = createInitialCredentials(deps());
      const changes = ['E1', 'E2', 'E3'].map((key): Change => ({ ...enable, id: `enable:${key}`, identityKey: key, accountId: `acct-${key}` }));
      // The audit trail is not cleared between tests: count only what this one writes.
      const before = Number((await store.db.selectFrom('audit_log').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst())?.seq ?? 0);
      for (const change of changes) await credentials.issue(change);
      // Released together, as a batch of confirmations does; once more for E1, as a repeated read-back would.
      await Promise.all([...changes.map((c) => credentials.release(c, c.accountId!)), credentials.release(changes[0]!, 'acct-E1')]);
      const tasks = await createTaskStore({ db: store.db }).listTasks();
      assert.deepEqual(tasks.map((t) => [t.identityKey, t.owner]).sort(), [['E1', 'M1'], ['E2', 'OWNER'], ['E3', 'M1']]);
      const rows = await store.db.selectFrom('initial_credentials').select(['identity_key', 'state', 'task_id', 'account_id']).orderBy('identity_key').execute();
      assert.deepEqual(rows.map((r) => [r.identity_key, r.state, r.account_id]), [['E1', 'ready', 'acct-E1'], ['E2', 'ready', 'acct-E2'], ['E3', 'ready', 'acct-E3']]);
      assert.deepEqual(rows.map((r) => r.task_id).sort(), tasks.filter((t) => t.kind === 'manual_task').map((t) => t.id).sort());
      const issued = await store.db.selectFrom('audit_log').select('subject').where('action', '=', 'initial_credential.issued').where('subject', 'in', ['E1', 'E2', 'E3']).where('seq', '>', before).execute();
      assert.deepEqual(issued.map((e) => e.subject).sort(), ['E1', 'E2', 'E3']);
      assert.equal((await verifyAudit(store.db)).ok, true);
    });

    test('passwords asked for one after another while one is being stored are stored together in the next statement, each its own', async () => {
      const counter = statementCounter();
      const credentials = createInitialCredentials(deps({ db: store.db.withPlugin(counter) }));
      const changes = ['E1', 'E2', 'E3', 'E4', 'E5', 'E6'].map((key): Change => ({ ...enable, id: `enable:${key}`, identityKey: key, accountId: `acct-${key}` }));
      // As a page's acts ask: each in its own turn, as the connector call before it returns.
      const issued: Promise<unknown>[] = [];
      for (const change of changes) {
        issued.push(credentials.issue(change));
        await null;
      }
      const secrets = (await Promise.all(issued)) as { reveal(): string }[];
      assert.equal(counter.count, 2, 'the first alone, the five asked for while it was written together');
      assert.equal(new Set(secrets.map((s) => s.reveal())).size, 6);
      const rows = await store.db.selectFrom('initial_credentials').select(['change_id', 'state']).orderBy('change_id').execute();
      assert.deepEqual(rows.map((r) => [r.change_id, r.state]), changes.map((c) => [c.id, 'pending']));
      assert.equal((await credentials.issue(changes[2]!)).reveal(), secrets[2]!.reveal(), 'asked again, the same password');
    });

    test('without a master key the change is parked with a message saying how to set one, and the account stays disabled', async () => {
      const directory = passwordDirectory();
      const credentials = createInitialCredentials(deps({ keyring: () => keyringFromEnv({}) }));
      const report = await apply(withInitialCredentials(directory.connector, credentials));
      assert.equal(report.changes[0]?.state, 'parked');
      assert.match(report.changes[0]?.lastError ?? '', /JML_MASTER_KEY/);
      assert.deepEqual(directory.accounts.get('E1'), { enabled: false, password: 'known-before-leaving' });
    });

    test('a system that echoes the password in its error gets it redacted before the error is recorded', async () => {
      const directory = passwordDirectory();
      let sent = '';
      const echoing: Connector = {
        ...directory.connector,
        async apply(_change, secrets) {
          sent = secrets!.newSecret!.reveal();
          return { status: 'failed', retryable: false, message: `constraint violation: password "${sent}" is in the history` };
        },
      };
      const report = await apply(withInitialCredentials(echoing, createInitialCredentials(deps())));
      assert.equal(report.changes[0]?.state, 'parked');
      assert.match(report.changes[0]?.lastError ?? '', /password "\[redacted\]" is in the history/);
      const recorded = JSON.stringify([await store.db.selectFrom('plan_changes').selectAll().execute(), await store.db.selectFrom('audit_log').selectAll().execute()]);
      assert.ok(sent.length >= 20 && !recorded.includes(sent));
    });

    test('a change that asks for no new password passes through untouched and leaves nothing to deliver', async () => {
      const directory = passwordDirectory();
      const credentials = createInitialCredentials(deps());
      const { credential: _, ...plain } = enable;
      const report = await executePlan({ store, actor: 'test', connectorFor: () => withInitialCredentials(directory.connector, credentials) }, planOf([plain]), async () => 'fp');
      assert.equal(report.changes[0]?.state, 'confirmed');
      assert.equal(directory.accounts.get('E1')?.password, 'known-before-leaving');
      assert.deepEqual(await store.db.selectFrom('initial_credentials').selectAll().execute(), []);
    });
  });
}
