import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Store } from '../store/open-store.ts';
import { testBackends } from '../../test/support/backends.ts';
import { forEachGrant, forEachLink, listedGrants, plannedAccountFields, type AccountLink } from '../engine/observed-index.ts';
import { plan } from '../engine/plan.ts';
import { person, POLICY } from '../engine/engine-fixture.ts';
import { bulkInsert } from '../store/bulk-write.ts';
import { FAST_START } from '../store/copy-read.ts';
import { FOLDED_READ, loadFolded, loadObserved, loadRun, runAccountsQuery, runGrantsQuery, runSnapshotQuery, sharedStrings } from './observed-snapshot.ts';

const AT = '2026-03-02T09:00:00.000Z';

/** A completed run of `system` (`run-<system>`) holding one account, `<system>-A`, linked to E1 and holding `attributes`. */
async function runWithAccountOfE1(store: Store, system: string, attributes: Record<string, string>): Promise<void> {
  await completedRun(store, `run-${system}`, system);
  await store.db.insertInto('observed_accounts').values({
    run_id: `run-${system}`, system, account_id: `${system}-A`, name: `${system}-A`, enabled: true,
    attributes: JSON.stringify(attributes), last_login_at: null, identity_key: 'E1', situation: 'linked',
  }).execute();
}

/** A completed reconcile run of `system`, finished at `at`. */
async function completedRun(store: Store, id: string, system: string, at = AT): Promise<void> {
  await store.db.insertInto('reconcile_runs').values({
    id, system, status: 'completed', phase: 'done', cursor: null, pages: 1, summary: null,
    error: null, actor: 'test', started_at: at, updated_at: at, finished_at: at,
  }).execute();
}

test('strings shared through an identity come back as given, past the few kept for comparison too', () => {
  const strings = sharedStrings();
  const near = strings.of('E1');
  const values = Array.from({ length: 30 }, (_, i) => `value-${i % 12}`);
  assert.equal(near.key, 'E1');
  assert.equal(strings.of('E1'), near, 'one set of strings per identity');
  assert.deepEqual(values.map((v) => near.share(v)), values);
  assert.deepEqual(near.attributes(JSON.stringify({ mail: 'e1@example.com', groups: ['a', 'E1'], title: null })), { mail: 'e1@example.com', groups: ['a', 'E1'], title: null });
  assert.equal(strings.of('E2').share('value-3'), 'value-3');
});

test('identities looked up in the order they were first met, or out of it, are the ones the pool holds', () => {
  const strings = sharedStrings();
  const first = ['E1', 'E2', 'E3', 'E5', 'E8'].map((key) => strings.of(key));
  const inOrder = strings.inOrder();
  // In order, with gaps, back to an earlier one, an identity new to the pool, and on after it.
  const keys = ['E1', 'E3', 'E5', 'E8', 'E2', 'E9', 'E3', 'E8', 'E9'];
  const found = keys.map((key) => inOrder(key));
  assert.deepEqual(found.map((s) => s.key), keys);
  assert.deepEqual(found.slice(0, 5), [first[0], first[2], first[3], first[4], first[1]]);
  assert.equal(found[5], strings.of('E9'), 'a new identity is added to the pool');
  assert.equal(found[8], found[5]);
  // Keys that are not the identities' first order go to the pool: the same objects.
  const shuffled = strings.inOrder();
  for (const key of ['E9', 'E8', 'E5', 'E3', 'E2', 'E1', 'E1']) assert.equal(shuffled(key), strings.of(key));
});

test('the same attributes text on an identity\'s accounts gives one frozen object; another text its own', () => {
  const near = sharedStrings().of('E1');
  const text = JSON.stringify({ externalId: 'E1', groups: ['a', 'b'] });
  const first = near.attributes(text);
  assert.deepEqual(first, { externalId: 'E1', groups: ['a', 'b'] });
  assert.equal(near.attributes(`${text}`), first);
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first.groups));
  assert.equal(first.externalId, near.key, 'string values shared too');
  assert.deepEqual(near.attributes('{"externalId": "E1", "mail": null}'), { externalId: 'E1', mail: null });
  assert.notEqual(sharedStrings().of('E1').attributes(text), first, 'another load parses its own');
});

for (const backend of testBackends()) {
  describe(`observed snapshot as the planner reads it (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      await completedRun(store, 'run-vpn', 'vpn');
      const account = (id: string, key: string | null, externalId = key ?? 'nobody') => ({
        run_id: 'run-vpn', system: 'vpn', account_id: id, name: id, enabled: true,
        attributes: JSON.stringify({ externalId, mail: `${id}@example.com` }), last_login_at: null, identity_key: key, situation: key ? ('linked' as const) : ('unmatched' as const),
      });
      // Inserted out of order, with ids whose byte order differs from a case-insensitive one;
      // vpn-c is E3's by reconciliation's link alone (its correlation value names nobody).
      await store.db.insertInto('observed_accounts').values([account('vpn-b', 'E2'), account('vpn-A', 'E1'), account('vpn-c', 'E3', 'X3'), account('vpn-orphan', null)]).execute();
      const grant = (accountId: string, entitlement: string) => ({ run_id: 'run-vpn', system: 'vpn', account_id: accountId, entitlement });
      await store.db.insertInto('observed_grants').values([
        grant('vpn-c', 'standard'), grant('vpn-b', 'standard'), grant('vpn-A', 'standard'), grant('vpn-A', 'Admin'),
        grant('vpn-b', 'Admin'), grant('vpn-ghost', 'contractors'),
      ]).execute();
    });
    after(() => store.close());

    test('grants come grouped by account in byte order, and accounts holding the same grants share one frozen list', async () => {
      const { observed: [vpn] } = await loadObserved(store.db, ['vpn']);
      assert.deepEqual(vpn!.accounts.map((a) => a.accountId), ['vpn-A', 'vpn-b', 'vpn-c', 'vpn-orphan']);
      assert.deepEqual(vpn!.accountGrants, [['Admin', 'standard'], ['Admin', 'standard'], ['standard'], []]);
      assert.equal(vpn!.accountGrants![0], vpn!.accountGrants![1]);
      assert.ok(Object.isFrozen(vpn!.accountGrants![0]));
    });

    test('a grant naming an account the run does not list belongs to no account, yet still counts as a member of its group', async () => {
      const { observed: [vpn] } = await loadObserved(store.db, ['vpn']);
      assert.ok(!vpn!.accountGrants!.some((list) => list.includes('contractors')));
      const members: string[] = [];
      forEachGrant(vpn!, (accountId, entitlement) => {
        if (entitlement === 'contractors') members.push(accountId);
      });
      assert.deepEqual(members, ['vpn-ghost']);
    });

    test('the plan from the snapshot as read equals the plan from the same grants and links listed one by one', async () => {
      const { observed } = await loadObserved(store.db, ['vpn']);
      const links: AccountLink[] = [];
      forEachLink(observed, [], (link) => links.push(link));
      assert.equal(links.length, 3, 'the orphan links nobody');
      const input = { identities: [person('E1'), person('E2'), person('E3', { status: 'left', endDate: '2026-01-01' })], policy: POLICY, assignments: [], previouslyAssigned: [], credentials: [], now: AT };
      const listed = observed.map((o) => ({ system: o.system, accounts: o.accounts, grants: listedGrants(o), ...(o.entitlements ? { entitlements: o.entitlements } : {}) }));
      const fromStore = plan({ ...input, observed });
      assert.ok(fromStore.changes.length > 0, 'the snapshot has drift to plan');
      assert.ok(fromStore.changes.some((c) => c.identityKey === 'E3' && c.accountId === 'vpn-c'), 'the leaver E3 loses the account linked to them');
      assert.deepEqual(fromStore, plan({ ...input, observed: listed, links }));
    });

    test('read for the plan, an account keeps only the attributes the plan reads: an absent one stays absent, a null stays null, a list stays a list', async () => {
      await store.db.insertInto('observed_accounts').values([
        { run_id: 'run-vpn', system: 'vpn', account_id: 'vpn-null', name: 'vpn-null', enabled: false, attributes: JSON.stringify({ externalId: null, mail: 'n@example.com', title: 'x' }), last_login_at: '2026-01-02T00:00:00Z', identity_key: null, situation: 'unmatched' },
        { run_id: 'run-vpn', system: 'vpn', account_id: 'vpn-none', name: 'vpn-none', enabled: true, attributes: JSON.stringify({ title: 'y' }), last_login_at: null, identity_key: null, situation: 'unmatched' },
        { run_id: 'run-vpn', system: 'vpn', account_id: 'vpn-list', name: 'vpn-list', enabled: true, attributes: JSON.stringify({ externalId: ['E9', 'E8'], 'o\'dd "key"': 'z' }), last_login_at: null, identity_key: null, situation: 'unmatched' },
        { run_id: 'run-vpn', system: 'vpn', account_id: 'vpn-odd', name: 'vpn-odd', enabled: true, attributes: JSON.stringify({ externalId: 'tab\there "q" \\N\nÉ😀', mail: '\\N', title: 7 }), last_login_at: null, identity_key: null, situation: 'unmatched' },
      ]).execute();
      try {
        const read = (fields: readonly string[]) => loadObserved(store.db, ['vpn'], { attributesRead: new Map([['vpn', fields]]) });
        const { observed: [vpn] } = await read(['externalId']);
        const attributesOf = (id: string) => vpn!.accounts.find((a) => a.accountId === id)!.attributes;
        assert.deepEqual(attributesOf('vpn-A'), { externalId: 'E1' });
        assert.deepEqual(attributesOf('vpn-null'), { externalId: null });
        assert.deepEqual(attributesOf('vpn-none'), {});
        assert.deepEqual(attributesOf('vpn-list'), { externalId: ['E9', 'E8'] });
        assert.equal(vpn!.accounts.find((a) => a.accountId === 'vpn-null')!.lastLoginAt, '2026-01-02T00:00:00Z');
        const { observed: [quoted] } = await read(['o\'dd "key"', 'mail']);
        assert.deepEqual(quoted!.accounts.find((a) => a.accountId === 'vpn-list')!.attributes, { 'o\'dd "key"': 'z' });
        assert.deepEqual(quoted!.accounts.find((a) => a.accountId === 'vpn-null')!.attributes, { mail: 'n@example.com' });
        // Escapes in a value, a value that reads like COPY's NULL, a number: as written.
        const { observed: [odd] } = await read(['externalId', 'mail', 'title']);
        assert.deepEqual(odd!.accounts.find((a) => a.accountId === 'vpn-odd')!.attributes, { externalId: 'tab\there "q" \\N\nÉ😀', mail: '\\N', title: 7 });
        assert.deepEqual(odd!.accounts.find((a) => a.accountId === 'vpn-none')!.attributes, { title: 'y' });
      } finally {
        await store.db.deleteFrom('observed_accounts').where('account_id', 'in', ['vpn-null', 'vpn-none', 'vpn-list', 'vpn-odd']).execute();
      }
    });

    test('the plan from the attributes the plan reads equals the plan from every attribute, fingerprint included', async () => {
      const policy = { ...POLICY, systems: POLICY.systems.map((s) => (s.name === 'vpn' ? { ...s, account: { ...s.account, attributes: { mail: '{email}' } } } : s)) };
      const attributesRead = new Map(policy.systems.map((s) => [s.name, plannedAccountFields(s)]));
      assert.deepEqual(attributesRead.get('vpn'), ['externalId', 'mail']);
      const input = { identities: [person('E1'), person('E2', { attributes: { email: 'changed@example.com' } }), person('E3', { status: 'left', endDate: '2026-01-01' })], policy, assignments: [], previouslyAssigned: [], credentials: [], now: AT };
      const every = plan({ ...input, observed: (await loadObserved(store.db, ['vpn'])).observed });
      const planned = plan({ ...input, observed: (await loadObserved(store.db, ['vpn'], { attributesRead })).observed });
      assert.ok(every.changes.some((c) => c.kind === 'update_attributes'), 'a templated attribute drifted');
      assert.deepEqual(planned, every);
    });

    test('accounts of one identity in two systems with the same attributes share one frozen object', async () => {
      await runWithAccountOfE1(store, 'wiki', { mail: 'vpn-A@example.com', externalId: 'E1' });
      try {
        const { observed: [vpn, wiki] } = await loadObserved(store.db, ['vpn', 'wiki']);
        const vpnA = vpn!.accounts.find((a) => a.accountId === 'vpn-A')!;
        assert.deepEqual(wiki!.accounts[0]!.attributes, { externalId: 'E1', mail: 'vpn-A@example.com' });
        assert.equal(wiki!.accounts[0]!.attributes, vpnA.attributes);
        assert.ok(Object.isFrozen(vpnA.attributes));
        assert.notEqual(vpn!.accounts.find((a) => a.accountId === 'vpn-b')!.attributes, vpnA.attributes);
        // The same fields read for each system (two lists of the same names, as a plan gives them).
        const attributesRead = new Map([['vpn', ['externalId', 'mail']], ['wiki', ['externalId', 'mail']]]);
        const { observed: [vpnRead, wikiRead] } = await loadObserved(store.db, ['vpn', 'wiki'], { attributesRead });
        assert.deepEqual(wikiRead!.accounts[0]!.attributes, { externalId: 'E1', mail: 'vpn-A@example.com' });
        assert.equal(wikiRead!.accounts[0]!.attributes, vpnRead!.accounts.find((a) => a.accountId === 'vpn-A')!.attributes);
      } finally {
        await store.db.deleteFrom('reconcile_runs').where('id', '=', 'run-wiki').execute();
      }
    });

    test('a run\'s accounts and grants come from the primary key\'s index in the order the plan reads them, the server sorting nothing', async () => {
      const plans = await store.db.transaction().execute(async (trx) => {
        // Sorting is allowed still when nothing else gives the order: a plan with a Sort needs one.
        await sql`SET LOCAL enable_sort = off`.execute(trx);
        await sql`SET LOCAL enable_seqscan = off`.execute(trx);
        const explained = async (query: { explain(): Promise<Record<string, unknown>[]> }) => (await query.explain()).map((r) => r['QUERY PLAN']).join('\n');
        return [await explained(runAccountsQuery(trx, 'run-vpn', ['externalId'])), await explained(runGrantsQuery(trx, 'run-vpn'))];
      });
      for (const text of plans) {
        assert.doesNotMatch(text, /Sort/, text);
        assert.match(text, /_pkey/, text);
      }
    });

    test('each account with its grants comes from merging both primary keys\' indexes in account order, the server sorting and hashing nothing', async () => {
      const text = await store.db.transaction().execute(async (trx) => {
        for (const [name, value] of Object.entries({ ...FAST_START, ...FOLDED_READ })) await sql`SELECT set_config(${name}, ${value}, true)`.execute(trx);
        return (await runSnapshotQuery(trx, 'run-vpn', ['externalId']).explain()).map((r) => r['QUERY PLAN']).join('\n');
      });
      assert.match(text, /Merge Full Join/, text);
      assert.doesNotMatch(text, /Sort|Hash/, text);
      assert.match(text, /observed_accounts_pkey/, text);
      assert.match(text, /observed_grants_pkey/, text);
    });

    test('a run read as it usually is comes whole from the one read of accounts with their grants', async () => {
      const run = { runId: 'run-vpn', system: 'vpn', finishedAt: new Date(AT), origin: 'reconcile' as const };
      const folded = await store.db.transaction().execute((trx) => loadFolded(trx, run, sharedStrings(), ['externalId']));
      assert.ok(folded, 'no fallback to reading accounts and grants apart');
      assert.deepEqual(folded.accounts.map((a) => a.accountId), ['vpn-A', 'vpn-b', 'vpn-c', 'vpn-orphan']);
      assert.deepEqual(folded.unlistedGrants, [{ system: 'vpn', accountId: 'vpn-ghost', entitlement: 'contractors' }]);
    });

    test('two accounts whose grants join to the same text, one holding two names and one a name holding the separator, keep their own grants', async () => {
      await store.db.insertInto('observed_accounts').values(['vpn-p1', 'vpn-p2'].map((id) => ({
        run_id: 'run-vpn', system: 'vpn', account_id: id, name: id, enabled: true, attributes: JSON.stringify({ externalId: id }), last_login_at: null, identity_key: null, situation: 'unmatched' as const,
      }))).execute();
      const grants = [['vpn-p1', 'name'], ['vpn-p1', 'odd'], ['vpn-p2', 'name\u0001odd']];
      await store.db.insertInto('observed_grants').values(grants.map(([accountId, entitlement]) => ({ run_id: 'run-vpn', system: 'vpn', account_id: accountId!, entitlement: entitlement! }))).execute();
      try {
        const run = { runId: 'run-vpn', system: 'vpn', finishedAt: new Date(AT), origin: 'reconcile' as const };
        assert.equal(await store.db.transaction().execute((trx) => loadFolded(trx, run, sharedStrings())), null, 'the second account\'s text was met before, with another count');
        const read = await loadRun(store.db, run);
        const of = (id: string) => read.accountGrants![read.accounts.findIndex((a) => a.accountId === id)];
        assert.deepEqual(of('vpn-p1'), ['name', 'odd']);
        assert.deepEqual(of('vpn-p2'), ['name\u0001odd']);
      } finally {
        await store.db.deleteFrom('observed_accounts').where('account_id', 'in', ['vpn-p1', 'vpn-p2']).execute();
        await store.db.deleteFrom('observed_grants').where('account_id', 'in', ['vpn-p1', 'vpn-p2']).execute();
      }
    });

    test('one identity\'s accounts in two systems holding the same value under different field names each keep their own field', async () => {
      await runWithAccountOfE1(store, 'mail', { mail: 'E1', externalId: 'other' });
      try {
        const attributesRead = new Map([['mail', ['mail']], ['vpn', ['externalId']]]);
        for (const systems of [['mail', 'vpn'], ['vpn', 'mail']]) {
          const { observed } = await loadObserved(store.db, systems, { attributesRead });
          const account = (id: string) => observed.flatMap((o) => o.accounts).find((a) => a.accountId === id)!;
          assert.deepEqual(account('mail-A').attributes, { mail: 'E1' });
          assert.deepEqual(account('vpn-A').attributes, { externalId: 'E1' });
        }
      } finally {
        await store.db.deleteFrom('reconcile_runs').where('id', '=', 'run-mail').execute();
      }
    });

    test('an entitlement name holding the character that joins an account\'s grants is read as written, each grant apart', async () => {
      const odd = ['odd\u0001name', 'odd', 'name'];
      await store.db.insertInto('observed_grants').values(odd.map((entitlement) => ({ run_id: 'run-vpn', system: 'vpn', account_id: 'vpn-c', entitlement }))).execute();
      try {
        const run = { runId: 'run-vpn', system: 'vpn', finishedAt: new Date(AT), origin: 'reconcile' as const };
        const read = await loadRun(store.db, run);
        assert.deepEqual(read.accountGrants, [['Admin', 'standard'], ['Admin', 'standard'], ['name', 'odd', 'odd\u0001name', 'standard'], []]);
        assert.deepEqual(read.unlistedGrants, [{ system: 'vpn', accountId: 'vpn-ghost', entitlement: 'contractors' }]);
        const grants: string[] = [];
        forEachGrant(read, (accountId, entitlement) => grants.push(`${accountId}:${entitlement}`));
        const rows = await store.db.selectFrom('observed_grants').select(['account_id', 'entitlement']).where('run_id', '=', 'run-vpn').execute();
        assert.deepEqual(grants.sort(), rows.map((r) => `${r.account_id}:${r.entitlement}`).sort());
      } finally {
        await store.db.deleteFrom('observed_grants').where('run_id', '=', 'run-vpn').where('entitlement', 'in', odd).execute();
      }
    });

    test('systems read side by side come back in the order of their runs, each with its own accounts and grants', async () => {
      const systems = ['big', 'small', 'tiny'];
      for (const system of systems) {
        await completedRun(store, `run-${system}`, system);
        const size = system === 'big' ? 12_000 : 1;
        const ids = Array.from({ length: size }, (_, i) => `${system}-${String(i).padStart(5, '0')}`);
        await bulkInsert(store.db, 'observed_accounts', { run_id: 'text', system: 'text', account_id: 'text', name: 'text', enabled: 'boolean', attributes: 'jsonb', identity_key: 'text', situation: 'text' },
          ids, { map: (id) => ({ run_id: `run-${system}`, system, account_id: id, name: id, enabled: true, attributes: { externalId: id }, identity_key: null, situation: 'unmatched' }) });
        await bulkInsert(store.db, 'observed_grants', { run_id: 'text', system: 'text', account_id: 'text', entitlement: 'text' },
          ids, { map: (id) => ({ run_id: `run-${system}`, system, account_id: id, entitlement: `${system}-users` }) });
      }
      const { observed, runs } = await loadObserved(store.db, [...systems, 'vpn']);
      assert.deepEqual(observed.map((o) => o.system), [...runs.keys()]);
      assert.deepEqual(observed.map((o) => o.system), ['big', 'small', 'tiny', 'vpn']);
      for (const o of observed.slice(0, 3)) {
        assert.ok(o.accounts.every((a) => a.system === o.system && a.accountId.startsWith(`${o.system}-`)));
        assert.deepEqual(new Set(o.accountGrants), new Set([[`${o.system}-users`]]));
      }
      assert.equal(observed[0]!.accounts.length, 12_000);
      await store.db.deleteFrom('reconcile_runs').where('id', 'in', systems.map((s) => `run-${s}`)).execute();
    });

    test('an older run of the system lends none of its grants to the latest run\'s accounts of the same ids', async () => {
      const EARLIER = '2026-03-01T09:00:00.000Z';
      await completedRun(store, 'run-vpn-old', 'vpn', EARLIER);
      await store.db.insertInto('observed_accounts').values({
        run_id: 'run-vpn-old', system: 'vpn', account_id: 'vpn-orphan', name: 'vpn-orphan', enabled: true,
        attributes: JSON.stringify({ externalId: 'nobody' }), last_login_at: null, identity_key: null, situation: 'unmatched',
      }).execute();
      await store.db.insertInto('observed_grants').values([
        { run_id: 'run-vpn-old', system: 'vpn', account_id: 'vpn-A', entitlement: 'retired' },
        { run_id: 'run-vpn-old', system: 'vpn', account_id: 'vpn-orphan', entitlement: 'retired' },
      ]).execute();
      const { observed: [vpn] } = await loadObserved(store.db, ['vpn']);
      assert.deepEqual(vpn!.accountGrants, [['Admin', 'standard'], ['Admin', 'standard'], ['standard'], []]);
      assert.deepEqual(listedGrants(vpn!).filter((g) => g.entitlement === 'retired'), []);
    });

    test('entitlement names holding quotes, backslashes, commas and non-ASCII letters are read as written, in byte order', async () => {
      // '～' (U+FF5E) comes before '😀' (U+1F600) in bytes (UTF-8) and after it in UTF-16 code units (a JavaScript sort).
      const names = ['CN=Sales "EU",OU=Groups', 'C:\\share\\x', 'Équipe, Zürich', '{braces}', '～ tilde', '😀 team'];
      await store.db.insertInto('observed_grants').values(names.map((entitlement) => ({ run_id: 'run-vpn', system: 'vpn', account_id: 'vpn-orphan', entitlement }))).execute();
      const { observed: [vpn] } = await loadObserved(store.db, ['vpn']);
      assert.deepEqual(vpn!.accountGrants![3], [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    });
  });
}
