import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { importSnipeItAssets } from '../../src/app/assets/asset-snipeit-csv.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';
import { seedOrganisation, startApi, type RoleUser } from './api-fixture.ts';

const REGISTER = [
  'Asset Tag,Item Name,Category,Model Name,Serial Number,Status,Location,Username',
  'LAP-A,Laptop of Alice,laptop,T14,SNA,Deployed,Berlin,alice',
  'LAP-B,Laptop of Bob,laptop,T14,SNB,Deployed,Paris,bob',
  'KEY-1,Spare key,security_key,YubiKey 5C,SNK,Ready to Deploy,Store,',
].join('\n');

for (const backend of testBackends()) {
  describe(`equipment API (${backend.name})`, () => {
    let store: Store;
    let api: Awaited<ReturnType<typeof startApi>>;
    const replans: string[] = [];
    before(async () => {
      store = await backend.open();
      await seedOrganisation(store);
      await importSnipeItAssets(store.db, REGISTER, { file: 'seed.csv', actor: 'test' });
      api = await startApi(store, { services: {
        replan: { requestReplan: async (keys, reason) => { replans.push(`${keys?.join(',')}: ${reason}`); } },
        lostDevice: { slaHours: 2, severity: { lost: 'high', stolen: 'critical' } },
      } });
    });
    after(async () => {
      await api.app.close();
      await store.close();
    });
    const call = (role: RoleUser, method: 'GET' | 'POST', url: string, payload?: unknown) =>
      api.app.inject({ method, url, headers: { cookie: api.sessions[role].cookie, 'x-csrf-token': api.sessions[role].csrf }, ...(payload ? { payload } : {}) });

    test('a person sees and accepts only their own equipment, and reports it lost in one step, which asks the workers to replan them at once', async () => {
      const mine = (await call('user', 'GET', '/api/me/assets')).json() as { items: { tag: string; acceptedAt: string | null }[] };
      assert.deepEqual(mine.items.map((a) => [a.tag, a.acceptedAt]), [['LAP-A', null]]);
      assert.equal((await call('user', 'GET', '/api/assets/LAP-B')).statusCode, 404, 'another person\'s laptop is not found');
      assert.equal((await call('user', 'POST', '/api/assets/LAP-B/report', { status: 'stolen' })).statusCode, 404);
      const accepted = await call('user', 'POST', '/api/assets/LAP-A/accept');
      assert.equal(accepted.statusCode, 200, accepted.body);
      assert.ok((accepted.json() as { acceptedAt: string }).acceptedAt);
      const reported = await call('user', 'POST', '/api/assets/LAP-A/report', { status: 'lost', note: 'left on a train' });
      assert.equal((reported.json() as { status: string }).status, 'lost');
      const detail = (await call('user', 'GET', '/api/assets/LAP-A')).json() as { history: { action: string }[] };
      assert.deepEqual(detail.history.map((h) => h.action), ['asset.registered', 'asset.accepted', 'asset.reported_lost']);
      const finding = await store.db.selectFrom('findings').select(['identity_key']).where('id', '=', 'lost_asset:asset:LAP-A').executeTakeFirst();
      assert.equal(finding?.identity_key, 'alice');
      assert.deepEqual(replans.splice(0), ['alice: asset LAP-A reported lost'], 'the sessions and device credentials are revoked by a plan asked for now');
      const clock = (await call('user', 'GET', '/api/assets/LAP-A/lost-report')).json() as { report: string; severity: string; slaHours: number; reportedAt: string; dueAt: string; state: string };
      assert.deepEqual([clock.report, clock.severity, clock.slaHours, clock.state], ['lost', 'high', 2, 'in_progress'], 'severity and clock as configured');
      assert.equal(Date.parse(clock.dueAt) - Date.parse(clock.reportedAt), 2 * 3_600_000);
      assert.equal((await call('user', 'GET', '/api/assets/LAP-B/lost-report')).statusCode, 404, 'not someone else\'s');
      assert.equal((await call('security', 'GET', '/api/assets/LAP-B/lost-report')).statusCode, 404, 'an asset never reported has no clock');
    });

    test('IT adds a licence and assigns its seats with their accounts; one more is refused, security sees seats in use and free but never the product key', async () => {
      const added = await call('admin', 'POST', '/api/licences', { name: 'vpn-client', product: 'VPN client', seats: 1, system: 'vpn', productKey: 'PK-1234' });
      assert.equal(added.statusCode, 200, added.body);
      assert.equal((added.json() as { productKeySet: boolean }).productKeySet, true);
      assert.equal((await call('admin', 'POST', '/api/licences/vpn-client/seats', { identityKey: 'alice', system: 'vpn', accountId: 'vpn-alice' })).statusCode, 200);
      const refused = await call('admin', 'POST', '/api/licences/vpn-client/seats', { identityKey: 'bob', system: 'vpn', accountId: 'vpn-bob' });
      assert.equal(refused.statusCode, 409);
      assert.match(refused.body, /vpn-client: all 1 seats are in use/);
      const listed = await call('security', 'GET', '/api/licences');
      assert.ok(!listed.body.includes('PK-1234'), 'the product key is not sent back');
      const [licence] = (listed.json() as { items: { name: string; inUse: number; free: number; held: { id: string; identityKey: string; accountId: string }[] }[] }).items;
      assert.deepEqual([licence!.name, licence!.inUse, licence!.free, licence!.held.map((h) => `${h.identityKey}@${h.accountId}`)], ['vpn-client', 1, 0, ['alice@vpn-alice']]);
      assert.equal((await call('admin', 'POST', `/api/licences/vpn-client/seats/${licence!.held[0]!.id}/reclaim`, { reason: 'moved to the new VPN' })).statusCode, 200);
      const detail = (await call('security', 'GET', '/api/licences/vpn-client')).json() as { licence: { free: number }; history: { reclaimReason: string | null }[] };
      assert.deepEqual([detail.licence.free, detail.history.map((h) => h.reclaimReason)], [1, ['moved to the new VPN']]);
    });

    test('IT sets a category\'s audit cadence and records an audit with the location seen; the asset leaves the due list until its next date', async () => {
      assert.equal((await call('admin', 'POST', '/api/asset-categories/security_key/cadence', { everyDays: 180 })).statusCode, 200);
      assert.equal((await call('admin', 'POST', '/api/asset-categories/security_key/cadence', { everyDays: 0 })).statusCode, 400);
      assert.deepEqual((await call('security', 'GET', '/api/asset-categories')).json(), { items: [{ category: 'security_key', everyDays: 180 }] });
      const dueBefore = (await call('security', 'GET', '/api/assets/audits-due')).json() as { items: { tag: string; state: string }[] };
      assert.ok(dueBefore.items.some((i) => i.tag === 'KEY-1' && i.state === 'overdue'), 'never audited: overdue');
      const audited = await call('admin', 'POST', '/api/assets/KEY-1/audit', { location: 'Store, shelf 3' });
      assert.equal(audited.statusCode, 200, audited.body);
      const asset = audited.json() as { location: string; lastAuditedAt: string; nextAuditAt: string };
      assert.equal(asset.location, 'Store, shelf 3');
      assert.equal(Date.parse(asset.nextAuditAt) - Date.parse(asset.lastAuditedAt), 180 * 86_400_000);
      const dueAfter = (await call('security', 'GET', '/api/assets/audits-due')).json() as { items: { tag: string }[] };
      assert.ok(!dueAfter.items.some((i) => i.tag === 'KEY-1'));
      const history = (await call('security', 'GET', '/api/assets/KEY-1')).json() as { history: { action: string; location: string | null }[] };
      assert.deepEqual(history.history.at(-1), { ...history.history.at(-1)!, action: 'asset.audited', location: 'Store, shelf 3' });
    });

    test('IT filters the register, checks an item out and in, and an export imports back unchanged', async () => {
      const laptops = (await call('security', 'GET', '/api/assets?kind=laptop&q=bob')).json() as { items: { tag: string }[] };
      assert.deepEqual(laptops.items.map((a) => a.tag), ['LAP-B']);
      assert.equal((await call('admin', 'POST', '/api/assets/KEY-1/check-out', { to: 'bob' })).statusCode, 200);
      assert.equal((await call('admin', 'POST', '/api/assets/KEY-1/check-out', { to: 'alice' })).statusCode, 409, 'an item out with someone is checked in first');
      assert.equal((await call('admin', 'POST', '/api/assets/KEY-1/check-in', { to: 'in_repair', note: 'bent' })).statusCode, 200);
      const exported = (await call('security', 'GET', '/api/assets/export')).json() as { content: string };
      const back = await call('admin', 'POST', '/api/assets/import', { fileName: 'export.csv', content: exported.content });
      assert.deepEqual(back.json(), { created: 0, updated: 0, unchanged: 3 });
      const bad = await call('admin', 'POST', '/api/assets/import', { fileName: 'bad.csv', content: 'Asset Tag,Category,Status\nX-1,laptop,Mislaid\n' });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /bad\.csv:2: column Status: unknown status/);
    });

    test('the monthly check: IT opens it, a person confirms one item (accepting it) and answers another "stolen", which is reported and replanned at once; completion shows per manager', async () => {
      await importSnipeItAssets(store.db, 'Asset Tag,Item Name,Category,Serial Number,Status,Username\nLAP-C,Second laptop,laptop,SNC,Deployed,alice\nPHN-D,Phone,phone,SND,Deployed,alice\n', { file: 'more.csv', actor: 'test' });
      const opened = await call('admin', 'POST', '/api/attestations', { period: '2026-11' });
      assert.equal(opened.statusCode, 200, opened.body);
      const mine = (await call('user', 'GET', '/api/me/attestations')).json() as { items: { id: string; ref: string; label: string }[] };
      assert.deepEqual(mine.items.map((i) => [i.ref, i.label]).sort(), [['LAP-C', 'Second laptop LAP-C, serial SNC'], ['PHN-D', 'Phone PHN-D, serial SND']]);
      const bobs = (await store.db.selectFrom('attestation_items').select('id').where('respondent_key', '=', 'bob').executeTakeFirstOrThrow()).id;
      assert.equal((await call('user', 'POST', `/api/me/attestations/${bobs}/answer`, { answer: 'confirmed' })).statusCode, 404, 'alice cannot answer for bob');
      const item = (ref: string) => mine.items.find((i) => i.ref === ref)!.id;
      const answered = await call('user', 'POST', `/api/me/attestations/${item('LAP-C')}/answer`, { answer: 'stolen', note: 'bag taken' });
      assert.equal(answered.statusCode, 200, answered.body);
      assert.equal((await store.db.selectFrom('assets').select('status').where('tag', '=', 'LAP-C').executeTakeFirstOrThrow()).status, 'stolen');
      assert.deepEqual(replans.splice(0), ['alice: asset LAP-C reported stolen']);
      const confirmed = await call('user', 'POST', `/api/me/attestations/${item('PHN-D')}/answer`, { answer: 'confirmed' });
      assert.equal((confirmed.json() as { action: string }).action, 'asset:PHN-D:accepted');
      assert.ok((await store.db.selectFrom('assets').select('accepted_at').where('tag', '=', 'PHN-D').executeTakeFirstOrThrow()).accepted_at, 'confirming an item in the check accepts it');
      assert.deepEqual(replans, [], 'a confirmation needs no plan');
      const completion = (await call('hr', 'GET', `/api/attestations/${(opened.json() as { campaignId: string }).campaignId}/completion`)).json() as { byManager: { group: string; answered: number; items: number }[] };
      assert.deepEqual(completion.byManager.map((g) => `${g.group}:${g.answered}/${g.items}`), ['mgr-a:2/2', 'mgr-b:0/1']);
      const due = (await call('security', 'GET', '/api/attestations/due')).json() as { items: { respondentKey: string }[] };
      assert.deepEqual(due.items.map((d) => d.respondentKey), ['bob']);
    });
  });
}
