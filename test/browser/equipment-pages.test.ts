/**
 * Self-service equipment pages in a real Chromium: a person of the demo
 * organisation opens My equipment, accepts a laptop, answers the monthly
 * check and reports the laptop stolen with one button. Axe-checked and
 * photographed into test-artifacts/browser/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { skipUnlessPeer } from '../peers/peer-process.ts';
import { createTestDatabase } from '../support/backends.ts';
import type { ScratchDatabase } from '../support/scratch-database.ts';
import { apiFromPage, chromiumSkip, expectAccessible, launchChromium, screenshot, signInWithPassword, startJmlServer, type JmlServer } from './browser-harness.ts';

const skip = chromiumSkip() || skipUnlessPeer('PostgreSQL', process.env.JML_TEST_DATABASE_URL ? false : 'JML_TEST_DATABASE_URL is not set');
const PASSWORD = 'a long enough password 1';

describe('self-service equipment pages in Chromium', { skip }, () => {
  let database: ScratchDatabase;
  let jml: JmlServer;
  let browser: Browser;
  let page: Page;
  let admin: Page;
  let tag: string;

  const call = (p: Page, method: string, url: string, body?: unknown) =>
    apiFromPage(p, method, url, body);

  before(async () => {
    database = await createTestDatabase();
    jml = await startJmlServer({ env: { DATABASE_URL: database.url } });
    browser = await launchChromium();
    admin = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    await signInWithPassword(admin, jml.base, 'admin', jml.adminPassword);
    const laptops = (await call(admin, 'GET', '/api/assets?kind=laptop&status=assigned')).body as { items: { tag: string; holder: string }[] };
    const holder = laptops.items[0]!.holder;
    tag = laptops.items[0]!.tag;
    const created = await call(admin, 'POST', '/api/users', { username: 'holder', password: PASSWORD, identityKey: holder });
    assert.ok(created.status < 300, JSON.stringify(created.body));
    assert.equal((await call(admin, 'POST', '/api/attestations', { period: '2026-12' })).status, 200);
    page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    await signInWithPassword(page, jml.base, 'holder', PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await jml?.stop();
    await database?.drop();
  });

  test('a person accepts their laptop, confirms the monthly check, and reports the laptop stolen in one step', async () => {
    await page.goto(`${jml.base}/#/my-equipment`);
    const item = page.locator('li', { hasText: tag }).first();
    await item.getByRole('button', { name: 'I have received it' }).click();
    await item.getByText(/accepted/).waitFor();
    await expectAccessible(page, 'My equipment');
    await screenshot(page, 'my-equipment');
    await page.getByRole('button', { name: new RegExp(`^I have it: .*${tag}`) }).click();
    await page.locator('li', { hasText: tag }).last().getByText('confirmed').waitFor();
    await item.getByRole('button', { name: 'Stolen', exact: true }).first().click();
    await item.getByLabel(`What happened to ${tag}`).fill('taken from a car');
    await item.getByRole('button', { name: 'Report stolen' }).click();
    await item.getByRole('button', { name: 'Report stolen' }).waitFor({ state: 'detached', timeout: 10_000 }).catch(async (e: unknown) => {
      await screenshot(page, 'my-equipment-report-failed');
      throw e;
    });
    await item.getByText('stolen', { exact: true }).waitFor();
    const detail = (await call(page, 'GET', `/api/assets/${tag}`)).body as { asset: { status: string }; history: { action: string }[] };
    assert.equal(detail.asset.status, 'stolen');
    assert.deepEqual(detail.history.map((h) => h.action).slice(-2), ['asset.accepted', 'asset.reported_stolen']);
    await screenshot(page, 'my-equipment-reported');
  });

  test('the dashboard shows the monthly check\'s completion per department and manager, and the equipment returns open', async () => {
    await admin.goto(`${jml.base}/#/dashboard`);
    await admin.reload(); // the admin signed in on the dashboard before the check was opened: load it afresh
    const card = admin.getByTestId('monthly-check-completion');
    await card.waitFor().catch(async (e: unknown) => {
      await screenshot(admin, 'dashboard-monthly-check-failed');
      throw e;
    });
    const answered = (await call(admin, 'GET', '/api/dashboard')).body as { monthlyCheck: { answered: number; items: number; byDepartment: unknown[]; byManager: unknown[] } };
    assert.ok(answered.monthlyCheck.answered >= 1, 'the holder\'s answers count');
    await card.getByText(`${answered.monthlyCheck.answered}/${answered.monthlyCheck.items} items answered`).waitFor();
    assert.equal(await card.locator('caption', { hasText: 'By department' }).count(), 1);
    assert.equal(await card.locator('caption', { hasText: 'By manager' }).count(), 1);
    assert.equal(await card.locator('tbody tr').count(), answered.monthlyCheck.byDepartment.length + answered.monthlyCheck.byManager.length);
    await admin.getByText(/Equipment returns open/).waitFor();
    await expectAccessible(admin, 'Dashboard with the monthly check');
    await screenshot(admin, 'dashboard-monthly-check');
  });
});
