/**
 * The console's oversight pages in a real Chromium, on a PostgreSQL server
 * (so the test can set up what only a reconcile or a failing system would
 * otherwise produce, while `jml serve --demo` runs on the same database):
 * an admin's systems, findings and audit pages, a security officer's
 * findings, exceptions and audit, a manager's inbox with its count in the
 * menu, and the dashboard's banner. Every page is axe-checked and
 * photographed into test-artifacts/browser/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { recordSystemFailure } from '../../src/app/quarantine.ts';
import { syncFindings } from '../../src/app/findings-store.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { skipUnlessPeer } from '../peers/peer-process.ts';
import { createTestDatabase } from '../support/backends.ts';
import type { ScratchDatabase } from '../support/scratch-database.ts';
import { apiFromPage, chromiumSkip, expectAccessible, launchChromium, screenshot, signInWithPassword, startJmlServer, type JmlServer } from './browser-harness.ts';

const DAY = 86_400_000;
const skip = chromiumSkip() || skipUnlessPeer('PostgreSQL', process.env.JML_TEST_DATABASE_URL ? false : 'JML_TEST_DATABASE_URL is not set');

describe('oversight pages in Chromium (admin, security, manager)', { skip }, () => {
  let database: ScratchDatabase;
  let jml: JmlServer;
  let store: Store;
  let browser: Browser;
  let page: Page;
  /** An active person of IT with no account anywhere yet, and their manager. */
  let person: string;
  const manager = 'E1001';

  /** A JSON request from the page, with the session's CSRF token. */
  const call = (method: string, url: string, body?: unknown) =>
    apiFromPage(page, method, url, body);

  const signIn = async (username: string, password: string) => {
    page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    await signInWithPassword(page, jml.base, username, password);
  };

  before(async () => {
    database = await createTestDatabase();
    jml = await startJmlServer({ env: { DATABASE_URL: database.url } });
    store = await openStore({ databaseUrl: database.url, poolSize: 2 });
    browser = await launchChromium();
    await signIn('admin', jml.adminPassword);
    const reports = (await call('GET', `/api/people?manager=${manager}&status=active&limit=5`)).body as { items: { key: string }[] };
    person = reports.items[0]!.key;
  });

  after(async () => {
    await browser?.close();
    await store?.close();
    await jml?.stop();
    await database?.drop();
  });

  test('an admin sees each system’s health and last reconcile, tests a connection, and releases a quarantined system', async () => {
    const now = new Date();
    await recordSystemFailure(store.db, 'vpn', 'connect ECONNREFUSED 127.0.0.1:1', { after: 1, unreachableAfter: 1, retryDelayMs: 60_000 }, now, undefined, true);
    await store.db.insertInto('reconcile_runs').values({ id: 'run-1', system: 'directory', status: 'completed', phase: 'done', cursor: null, pages: 3, summary: null, error: null, actor: 'test', started_at: new Date(now.getTime() - 60_000).toISOString(), updated_at: now.toISOString(), finished_at: now.toISOString() }).execute();
    await page.getByRole('link', { name: 'Systems' }).click();
    const vpn = page.getByRole('row').filter({ hasText: 'vpn' });
    await vpn.getByText('quarantined').first().waitFor();
    await page.getByRole('row').filter({ hasText: 'directory' }).getByText('completed').waitFor();
    await page.getByRole('button', { name: 'Test connection to directory' }).click();
    await page.getByRole('status').filter({ hasText: /^Connected: read \d+ account/ }).waitFor();
    await screenshot(page, 'oversight-01-systems');
    await expectAccessible(page, 'the systems page');
    await page.getByRole('button', { name: 'Release vpn from quarantine' }).click();
    await vpn.getByText('healthy').waitFor();
    const health = await store.db.selectFrom('system_health').select('state').where('system', '=', 'vpn').executeTakeFirstOrThrow();
    assert.equal(health.state, 'healthy');
    const audit = await store.db.selectFrom('audit_log').select(['action', 'actor']).where('action', 'in', ['system.tested', 'system.released']).orderBy('seq').execute();
    assert.deepEqual(audit.map((a) => a.action), ['system.tested', 'system.released']);
  });

  test('an admin filters findings, follows one to the plan that fixes it, and resolves another by hand with a note', async () => {
    await syncFindings(store.db, 'directory', ['missing_account', 'orphan_account'], [
      { id: `missing_account:directory:${person}`, kind: 'missing_account', system: 'directory', identityKey: person, accountId: null, entitlement: null, detail: `${person} should have an account in directory` },
      { id: 'orphan_account:directory:uid=ghost', kind: 'orphan_account', system: 'directory', identityKey: null, accountId: 'uid=ghost,ou=people', entitlement: null, detail: 'uid=ghost,ou=people matches no identity' },
    ], new Date());
    const plan = await call('POST', '/api/plans', { identityKeys: [person] });
    assert.equal(plan.status, 201, JSON.stringify(plan.body));
    await page.getByRole('link', { name: 'Findings' }).click();
    await page.getByText('matches no identity').waitFor();
    await page.getByLabel('Kind').selectOption('orphan_account');
    await page.getByText(`${person} should have an account`).waitFor({ state: 'detached' });
    await page.getByLabel('Kind').selectOption('');
    const missing = page.getByRole('listitem').filter({ hasText: `${person} should have an account` });
    await missing.getByRole('link', { name: /Fixed by plan/ }).waitFor();
    await screenshot(page, 'oversight-02-findings');
    await expectAccessible(page, 'the findings page');
    await missing.getByRole('link', { name: /Fixed by plan/ }).click();
    await page.waitForURL(`**/#/plans/${plan.body.id as string}`);
    await page.getByText(`For ${person} only`).waitFor();
    await page.goBack();
    const orphan = page.getByRole('listitem').filter({ hasText: 'matches no identity' });
    await orphan.getByRole('textbox').fill('ghost was a test account, deleted by hand');
    await orphan.getByRole('button', { name: 'Resolve' }).click();
    await orphan.waitFor({ state: 'detached' });
    const row = await store.db.selectFrom('findings').select('state').where('id', '=', 'orphan_account:directory:uid=ghost').executeTakeFirstOrThrow();
    assert.equal(row.state, 'resolved');
  });

  test('an admin sees a banner for the plan waiting on approval, and a chart with labelled axes', async () => {
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByTestId('plan-banner').getByText(/waits for approval/).waitFor();
    const chart = page.locator('figure.chart svg');
    assert.ok(await chart.getByText('events', { exact: true }).isVisible(), 'the y axis is labelled');
    assert.ok(await chart.getByText(/^day of month/).isVisible(), 'the x axis is labelled');
    assert.ok((await chart.locator('text.tick').count()) >= 16, 'ticks on both axes');
    await screenshot(page, 'oversight-03-dashboard');
    await expectAccessible(page, 'the dashboard with its banner');
  });

  test('an admin sees the measures over time as weekly charts with a unit on the y axis and week starts on the x axis', async () => {
    const findings = page.getByRole('img', { name: /^all findings and orphan accounts per week, in findings:/ });
    await findings.waitFor();
    assert.equal((await findings.getAttribute('aria-label'))!.match(/week of \d{4}-\d{2}-\d{2}/g)?.length, 12, 'twelve weeks described');
    assert.ok(await findings.getByText('findings', { exact: true }).isVisible(), 'the y axis names its unit');
    assert.ok(await findings.getByText(/^week starting/).isVisible(), 'the x axis is labelled');
    assert.ok((await findings.locator('text.tick').count()) >= 14, 'ticks on both axes');
    await page.getByRole('heading', { name: 'Leavers confirmed within the SLA, per week' }).waitFor();
    await page.getByRole('heading', { name: 'Median hours from leaving to access confirmed' }).waitFor();
    await screenshot(page, 'oversight-03b-dashboard-measures');
    await expectAccessible(page, 'the dashboard with its measures');
  });

  test('an admin searches the audit trail, filters it by kind and actor, and verifies the chain', async () => {
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await page.getByRole('status').filter({ hasText: /intact/ }).waitFor();
    await page.getByLabel('Kind').selectOption('finding');
    await page.getByRole('cell', { name: 'finding.resolved' }).first().waitFor();
    await page.getByLabel('Search').fill('deleted by hand');
    await page.getByRole('cell', { name: 'finding.resolved' }).waitFor();
    assert.equal(await page.locator('tbody tr').count(), 1);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Kind').selectOption('');
    await page.getByLabel('Actor').fill('user:admin');
    await page.getByRole('cell', { name: 'system.released' }).waitFor();
    await screenshot(page, 'oversight-04-audit');
    await expectAccessible(page, 'the audit page');
  });

  test('a security officer reviews findings, marks an overdue exception still needed, and reads the audit trail', async () => {
    const now = Date.now();
    await store.db.insertInto('access_requests').values({
      id: 'exc-1', kind: 'exception', requester: manager, identity_key: person, role: null, entitlements: JSON.stringify([{ system: 'finance-ledger', entitlement: 'approver' }]),
      justification: 'on-call network work', duration_days: 30, state: 'approved', created_at: new Date(now - 100 * DAY).toISOString(),
      decided_at: new Date(now - 100 * DAY).toISOString(), valid_to: new Date(now + 30 * DAY).toISOString(), review_due: new Date(now - DAY).toISOString(),
    }).execute();
    assert.equal((await call('POST', '/api/users', { username: 'sec', password: 'security-password-1', roles: ['security'] })).status, 201);
    await signIn('sec', 'security-password-1');
    const nav = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts();
    for (const entry of ['Findings', 'Exceptions', 'Audit', 'Systems']) assert.ok(nav.some((n) => n.startsWith(entry)), `${entry} in ${nav.join(', ')}`);
    assert.ok(!nav.includes('Users'), 'no user administration for security');
    await page.getByRole('link', { name: 'Findings' }).click();
    await page.getByText(`${person} should have an account`).waitFor();
    await screenshot(page, 'oversight-05-security-findings');
    await expectAccessible(page, 'the findings page as security');
    await page.getByRole('link', { name: 'Exceptions' }).click();
    const exception = page.getByRole('row').filter({ hasText: 'finance-ledger:approver' });
    await exception.getByText('review overdue').waitFor();
    await screenshot(page, 'oversight-06-security-exceptions');
    await expectAccessible(page, 'the exceptions page');
    await exception.getByRole('button', { name: 'Still needed: exception exc-1' }).click();
    await exception.getByText('in force').waitFor();
    const reviewed = await store.db.selectFrom('access_requests').select('review_due').where('id', '=', 'exc-1').executeTakeFirstOrThrow();
    assert.ok(reviewed.review_due!.getTime() > now, 'the next review is in the future');
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('cell', { name: 'exception.reviewed' }).waitFor();
    await screenshot(page, 'oversight-07-security-audit');
    await expectAccessible(page, 'the audit page as security');
    await page.getByRole('link', { name: 'Systems' }).click();
    // The audit page's rows name the system too: wait for the systems page itself before reading its rows.
    await page.getByText(/\d+ systems · \d+ quarantined/).waitFor();
    await page.getByRole('row').filter({ hasText: 'directory' }).first().waitFor();
    assert.equal(await page.getByRole('button', { name: /Test connection/ }).count(), 0, 'security reads systems but does not act on them');
  });

  test('the identity page wraps a long email inside its boxes, collapses empty sections into one line, and shows a leaver as active → terminated', async () => {
    const email = 'maximilian.alexander.featherstonehaugh-cholmondeley@subsidiary-with-a-rather-long-name.example.com';
    await store.db.insertInto('identities').values({ key: 'E7777', kind: 'employee', status: 'active', source: 'hr', attributes: JSON.stringify({ first_name: 'Maximilian', last_name: 'Featherstonehaugh', email, department: 'IT', manager }), start_date: '2024-01-01', end_date: '2026-12-31', owner: null, sponsor: null }).execute();
    const event = (id: string, type: string, date: string, changes: Record<string, [string | null, string | null]>, state: string) => ({ id, type, identity_key: 'E7777', source: 'hr', record_key: 'E7777', effective_date: date, effective_at: `${date}T00:00:00Z`, detected_at: new Date().toISOString(), changes: JSON.stringify(changes), state, import_id: null });
    // The leaver as events recorded before this release stored it: no status before "terminated".
    await store.db.insertInto('lifecycle_events').values([
      event('ev-7777-j', 'joiner', '2024-01-01', { email: [null, email], status: [null, 'active'] }, 'applied'),
      event('ev-7777-l', 'leaver', '2026-12-31', { status: [null, 'terminated'], end_date: [null, '2026-12-31'] }, 'scheduled'),
    ]).execute();
    await signIn('admin', jml.adminPassword);
    await page.goto(`${jml.base}/#/people/E7777`);
    await page.getByRole('heading', { name: /Maximilian Featherstonehaugh/ }).waitFor();
    const timeline = page.getByRole('region', { name: 'Timeline' });
    await timeline.getByText('status: active → terminated').waitFor();
    assert.equal(await timeline.getByText('∅').count(), 0, 'no empty-set sign for a value that existed');
    const overflowing = await page.evaluate<string[]>(`[...document.querySelectorAll('main section, main header')].filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.getAttribute('aria-label') ?? e.className)`);
    assert.deepEqual(overflowing, [], 'nothing sticks out of its box');
    const line = await page.getByTestId('empty-sections').innerText();
    assert.match(line, /^Nothing recorded for .*credentials.*equipment\.$/);
    assert.equal(await page.getByRole('region', { name: 'Credentials' }).count(), 0, 'no empty card');
    await screenshot(page, 'oversight-10-identity-long-email');
    await expectAccessible(page, 'the identity page with a long email');
  });

  test('a manager’s inbox holds the approval and the task waiting on them, with the count in the menu', async () => {
    await signIn('admin', jml.adminPassword);
    assert.equal((await call('POST', '/api/users', { username: 'guido', password: 'manager-password-1', identityKey: manager })).status, 201);
    // The report's user is linked to their identity on the Users page.
    assert.equal((await call('POST', '/api/users', { username: 'report', password: 'report-password-1' })).status, 201);
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByLabel('Identity key for report').fill(person);
    await page.getByRole('row').filter({ hasText: 'report' }).getByRole('button', { name: 'Link' }).click();
    await page.getByRole('row').filter({ hasText: 'report' }).getByRole('link', { name: person }).waitFor();
    await screenshot(page, 'oversight-09-users');
    await expectAccessible(page, 'the users page');
    await store.db.insertInto('tasks').values({
      id: 'task-1', change_id: 'chg-1', plan_id: null, system: 'vpn', kind: 'manual_task', identity_key: person, change: JSON.stringify({}), instruction: 'Hand over the hardware VPN token',
      owner: manager, status: 'open', needs_confirmation: false, due_at: new Date(Date.now() + DAY).toISOString(), created_at: new Date().toISOString(),
      done_by: null, evidence_note: null, evidence_sha256: null, closed_by: null, closed_at: null, confirmed_by: null, confirmed_at: null, settled_seq: null,
    }).execute();
    await signIn('report', 'report-password-1');
    const filed = await call('POST', '/api/access-requests', { system: 'github', entitlement: 'developers', justification: 'joining the platform team' });
    assert.equal(filed.status, 201, JSON.stringify(filed.body));
    await signIn('guido', 'manager-password-1');
    const inboxLink = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /^Inbox/ });
    await inboxLink.getByText('2').waitFor();
    await inboxLink.click();
    const approval = page.getByRole('listitem').filter({ hasText: 'github' });
    await approval.waitFor();
    await page.getByText('Hand over the hardware VPN token').waitFor();
    await screenshot(page, 'oversight-08-manager-inbox');
    await expectAccessible(page, 'the manager’s inbox');
    await approval.getByRole('button', { name: 'Approve' }).click();
    await approval.waitFor({ state: 'detached' });
    await inboxLink.getByText('1').waitFor({ timeout: 5_000 });

    // An admin disables the report's user: their next request is refused.
    const managerPage = page;
    await signIn('admin', jml.adminPassword);
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('button', { name: 'Disable report' }).click();
    await page.getByRole('button', { name: 'Enable report' }).waitFor();
    assert.equal(await managerPage.evaluate(async () => (await fetch('/api/me')).status), 200, 'the manager is unaffected');
    const row = await store.db.selectFrom('console_users').select('status').where('username', '=', 'report').executeTakeFirstOrThrow();
    assert.equal(row.status, 'disabled');
    const refused = await page.evaluate(async () => (await fetch('/api/auth/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'report', password: 'report-password-1' }) })).status);
    assert.equal(refused, 401, 'a disabled user cannot sign in');
  });
});
