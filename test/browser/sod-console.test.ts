/**
 * Separation of duties in the console, in a real Chromium on a PostgreSQL
 * server (`jml serve --demo` with the demo policy plus one SoD rule): a person
 * whose request would break the rule is refused, files it as a mitigation
 * from the request form, and sees it pending; an admin finds SoD violations
 * on the findings page with their pair, and approved mitigations on the
 * exceptions page with rule, control and owner. Every page is axe-checked.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { skipUnlessPeer } from '../peers/peer-process.ts';
import { createTestDatabase } from '../support/backends.ts';
import type { ScratchDatabase } from '../support/scratch-database.ts';
import { apiFromPage, chromiumSkip, expectAccessible, launchChromium, screenshot, signInWithPassword, startJmlServer, type JmlServer } from './browser-harness.ts';

const skip = chromiumSkip() || skipUnlessPeer('PostgreSQL', process.env.JML_TEST_DATABASE_URL ? false : 'JML_TEST_DATABASE_URL is not set');
const PASSWORD = 'a-person-password-1';
const DAY = 86_400_000;

describe('SoD in the console (Chromium)', { skip }, () => {
  let database: ScratchDatabase;
  let jml: JmlServer;
  let store: Store;
  let browser: Browser;
  let admin: Page;
  /** A demo person, and their manager (the control's owner). */
  let person: string;
  let manager: string;

  const call = (p: Page, method: string, url: string, body?: unknown) =>
    apiFromPage(p, method, url, body);

  before(async () => {
    const policyDir = mkdtempSync(path.join(tmpdir(), 'jml-sod-policy-'));
    cpSync(path.join(import.meta.dirname, '../../policy'), policyDir, { recursive: true });
    writeFileSync(path.join(policyDir, 'sod.yaml'), `sod:
  - name: network-and-payments
    description: a network administrator does not also approve payments
    conflict:
      - entitlements: [vpn:admin]
      - entitlements: [finance-ledger:approver]
    severity: high
    owner: E1001
    mitigations: [dual-signature-review]
    max_mitigation_days: 30
`);
    database = await createTestDatabase();
    jml = await startJmlServer({ env: { DATABASE_URL: database.url }, policyDir });
    store = await openStore({ databaseUrl: database.url, poolSize: 2 });
    browser = await launchChromium();
    admin = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    await signInWithPassword(admin, jml.base, 'admin', jml.adminPassword);
    const people = (await call(admin, 'GET', '/api/people?status=active&limit=50')).body as { items: { key: string; manager?: string | null }[] };
    const withManager = await store.db.selectFrom('identities').select(['key', 'attributes']).where('status', '=', 'active').where('kind', '=', 'employee').orderBy('key').execute();
    const chosen = withManager.find((r) => typeof r.attributes.manager === 'string' && r.attributes.manager !== '' && r.key !== 'E1001' && r.attributes.manager !== r.key)!;
    assert.ok(people.items.length > 0 && chosen);
    person = chosen.key;
    manager = chosen.attributes.manager as string;
    // The person already administers the network (an approved request).
    await store.db.insertInto('assignments').values({ id: 'asg-vpn-admin', identity_key: person, system: 'vpn', entitlement: 'admin', reason_type: 'request', reason: JSON.stringify({ type: 'request', requestId: 'r-vpn', roleChain: [] }), created_by: 'test' }).execute();
    const created = await call(admin, 'POST', '/api/users', { username: 'ana', password: PASSWORD, identityKey: person });
    assert.ok(created.status < 300, JSON.stringify(created.body));
  });

  after(async () => {
    await browser?.close();
    await store?.close();
    await jml?.stop();
    await database?.drop();
  });

  test('a request that would break an SoD rule is refused naming the rule, and the same access filed as a mitigation from the form waits for approval', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    await signInWithPassword(page, jml.base, 'ana', PASSWORD);
    await page.goto(`${jml.base}/#/me`);
    const form = page.locator('form').filter({ has: page.getByLabel('Why') });
    await form.getByLabel('What').selectOption({ label: 'finance-ledger · approver (privileged)' });
    await form.getByLabel('Why').fill('month-end cover');
    await form.getByRole('button', { name: 'Send request' }).click();
    await page.getByText(/network-and-payments/).first().waitFor();
    assert.equal(await store.db.selectFrom('access_requests').select('id').where('identity_key', '=', person).where('state', '=', 'pending').execute().then((r) => r.length), 0, 'the refused request filed nothing');

    await form.getByLabel('It conflicts with an SoD rule: file it as a mitigation').check();
    await form.getByLabel('Compensating control').fill('dual-signature-review');
    await form.getByLabel('Control owner').fill(manager);
    await form.getByLabel('Days').fill('14');
    await expectAccessible(page, 'the request form with its mitigation fields');
    await screenshot(page, 'sod-01-mitigation-form');
    await form.getByRole('button', { name: 'File mitigation' }).click();
    await page.getByRole('listitem').filter({ hasText: 'finance-ledger:approver' }).getByText('pending').waitFor();
    const filed = await store.db.selectFrom('access_requests').select(['kind', 'sod_rule', 'compensating_control', 'control_owner', 'duration_days']).where('identity_key', '=', person).where('state', '=', 'pending').execute();
    assert.deepEqual(filed, [{ kind: 'exception', sod_rule: 'network-and-payments', compensating_control: 'dual-signature-review', control_owner: manager, duration_days: 14 }]);
  });

  test('an admin sees an SoD violation with its conflicting pair on the findings page, and an approved mitigation with rule, control and owner on the exceptions page', async () => {
    const now = new Date();
    await store.db.insertInto('findings').values({
      id: 'sod-finding-1', kind: 'sod_violation', system: null, identity_key: person, account_id: null, entitlement: 'finance-ledger:approver + vpn:admin',
      detail: `${person} breaks SoD rule network-and-payments (high): finance-ledger:approver + vpn:admin`, first_seen: now.toISOString(), last_seen: now.toISOString(), state: 'open', resolved_at: null,
    }).execute();
    await store.db.insertInto('access_requests').values({
      id: 'mit-1', kind: 'exception', requester: person, identity_key: person, role: null, entitlements: JSON.stringify([{ system: 'finance-ledger', entitlement: 'approver' }]),
      justification: 'quarter close', duration_days: 14, state: 'approved', created_at: now.toISOString(), decided_at: now.toISOString(), valid_to: new Date(now.getTime() + 14 * DAY).toISOString(),
      sod_rule: 'network-and-payments', compensating_control: 'dual-signature-review', control_owner: manager,
    }).execute();
    await admin.getByRole('link', { name: 'Findings' }).click();
    await admin.getByLabel('Kind').selectOption('sod_violation');
    const finding = admin.getByRole('listitem').filter({ hasText: 'breaks SoD rule network-and-payments' });
    await finding.getByText('finance-ledger:approver + vpn:admin', { exact: true }).waitFor();
    await expectAccessible(admin, 'the findings page filtered to SoD violations');
    await screenshot(admin, 'sod-02-findings');
    await admin.getByRole('link', { name: 'Exceptions' }).click();
    const row = admin.getByRole('row').filter({ hasText: 'quarter close' });
    await row.getByText('SoD network-and-payments').waitFor();
    await row.getByText(`control: dual-signature-review (owner ${manager})`).waitFor();
    await expectAccessible(admin, 'the exceptions page with a mitigation');
    await screenshot(admin, 'sod-03-exceptions');
  });
});
