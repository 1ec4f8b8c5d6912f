/**
 * A manager decides their access review items in the console's Inbox, in a
 * real Chromium, with `jml serve --demo` on a PostgreSQL server and a policy
 * directory that adds a manager review: keep privileged access with a comment,
 * remove, keep two at once after confirming, and hand one to someone else.
 * The page is axe-checked and photographed into test-artifacts/browser/.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Dialog, Page } from 'playwright-core';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { skipUnlessPeer } from '../peers/peer-process.ts';
import { createTestDatabase } from '../support/backends.ts';
import type { ScratchDatabase } from '../support/scratch-database.ts';
import { apiFromPage, chromiumSkip, expectAccessible, launchChromium, ROOT, screenshot, signInWithPassword, startJmlServer, type JmlServer } from './browser-harness.ts';

const skip = chromiumSkip() || skipUnlessPeer('PostgreSQL', process.env.JML_TEST_DATABASE_URL ? false : 'JML_TEST_DATABASE_URL is not set');
const DAY = 86_400_000;

describe('the review inbox in Chromium', { skip }, () => {
  let database: ScratchDatabase;
  let jml: JmlServer;
  let store: Store;
  let browser: Browser;
  let page: Page;
  const manager = 'E1001';

  const call = (method: string, url: string, body?: unknown) =>
    apiFromPage(page, method, url, body);
  const signIn = async (username: string, password: string) => {
    page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    await signInWithPassword(page, jml.base, username, password);
  };

  before(async () => {
    const policyDir = mkdtempSync(path.join(os.tmpdir(), 'jml-review-policy-'));
    cpSync(path.join(ROOT, 'policy'), policyDir, { recursive: true });
    writeFileSync(path.join(policyDir, 'reviews.yaml'), `reviews:
  - name: quarterly-managers
    scope: { systems: [github, vpn] }
    stages: [manager]
    duration_days: 14
`);
    database = await createTestDatabase();
    jml = await startJmlServer({ env: { DATABASE_URL: database.url }, policyDir });
    store = await openStore({ databaseUrl: database.url, poolSize: 2 });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await store?.close();
    await jml?.stop();
    await database?.drop();
  });

  test('a manager keeps privileged access with a comment, removes one item, keeps two at once after confirming and delegates one, all from the Inbox', async () => {
    await signIn('admin', jml.adminPassword);
    const reports = ((await call('GET', `/api/people?manager=${manager}&status=active&limit=4`)).body as { items: { key: string }[] }).items.map((r) => r.key);
    assert.equal(reports.length, 4, 'the demo manager has four active reports');
    const [p1, p2, p3, p4] = reports as [string, string, string, string];
    const soon = new Date(Date.now() + 5 * DAY).toISOString();
    const granted = [[p1, 'github', 'admins', soon], [p2, 'github', 'developers', null], [p3, 'github', 'developers', null], [p4, 'github', 'developers', null], [p1, 'vpn', 'standard', null]] as const;
    await store.db.insertInto('assignments').values(granted.map(([key, system, entitlement, validTo], i) => ({
      id: `review-browser-${i}`, identity_key: key, system, entitlement, reason_type: 'exception' as const, reason: JSON.stringify({ type: 'exception', exceptionId: `X${i}`, justification: 'migration' }), created_by: 'cli:alice', ...(validTo ? { valid_to: validTo } : {}),
    }))).execute();
    const started = await call('POST', '/api/reviews', { review: 'quarterly-managers' });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const campaignId = started.body.id as string;
    assert.equal(started.body.items, 5);
    assert.equal((await call('POST', '/api/users', { username: 'guido', password: 'manager-password-1', identityKey: manager })).status, 201);

    await signIn('guido', 'manager-password-1');
    // Native prompts and confirmations, answered in the order the manager meets them.
    const answers: { type: string; answer?: string }[] = [];
    const seen: string[] = [];
    page.on('dialog', (dialog: Dialog) => {
      const next = answers.shift();
      seen.push(`${dialog.type()}: ${dialog.message()}`);
      if (!next || next.type !== dialog.type()) return void dialog.dismiss();
      void dialog.accept(next.answer);
    });
    const inboxLink = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /^Inbox/ });
    await inboxLink.getByText('5').waitFor();
    await inboxLink.click();
    const item = (key: string, what: string) => page.getByRole('list', { name: 'Review items' }).getByRole('listitem').filter({ hasText: key }).filter({ hasText: what });
    await item(p1, 'github:admins').getByText('privileged').waitFor();
    await screenshot(page, 'review-inbox-01-manager');
    await expectAccessible(page, 'the manager’s inbox with review items');

    answers.push({ type: 'prompt', answer: 'runs the release pipeline until the migration ends' });
    await item(p1, 'github:admins').getByRole('button', { name: 'Keep' }).click();
    await item(p1, 'github:admins').waitFor({ state: 'detached' });

    await item(p2, 'github:developers').getByRole('button', { name: 'Remove' }).click();
    await item(p2, 'github:developers').waitFor({ state: 'detached' });

    await item(p3, 'github:developers').getByRole('checkbox').check();
    await item(p4, 'github:developers').getByRole('checkbox').check();
    answers.push({ type: 'confirm' });
    await page.getByRole('button', { name: 'Keep 2' }).click();
    await item(p4, 'github:developers').waitFor({ state: 'detached' });
    await item(p3, 'github:developers').waitFor({ state: 'detached' });

    answers.push({ type: 'prompt', answer: 'E1002' });
    await page.getByRole('button', { name: `Delegate ${p1} vpn:standard` }).click();
    await item(p1, 'vpn:standard').waitFor({ state: 'detached' });
    await inboxLink.getByText(/\d/).waitFor({ state: 'detached' });
    await screenshot(page, 'review-inbox-02-done');
    assert.deepEqual(seen, [
      'prompt: Keeping privileged access needs a comment:',
      'confirm: Keep 2 items?',
      `prompt: Hand ${p1}'s vpn:standard to (identity key):`,
    ]);

    const decisions = await store.db.selectFrom('review_decisions').innerJoin('review_items', 'review_items.id', 'review_decisions.item_id')
      .select(['review_items.identity_key', 'review_items.entitlement', 'review_decisions.decision', 'review_decisions.reviewer', 'review_decisions.comment'])
      .where('review_decisions.campaign_id', '=', campaignId).orderBy('review_decisions.audit_seq').execute();
    assert.deepEqual(decisions.map((d) => [d.identity_key, d.entitlement, d.decision, d.reviewer, d.comment]), [
      [p1, 'admins', 'keep', manager, 'runs the release pipeline until the migration ends'],
      [p2, 'developers', 'remove', manager, ''],
      [p3, 'developers', 'keep', manager, ''],
      [p4, 'developers', 'keep', manager, ''],
    ]);
    const delegated = await store.db.selectFrom('review_items').select('reviewers').where('campaign_id', '=', campaignId).where('identity_key', '=', p1).where('system', '=', 'vpn').executeTakeFirstOrThrow();
    assert.deepEqual(delegated.reviewers, ['E1002']);
    const audit = await store.db.selectFrom('audit_log').select(['action', 'actor']).where('action', '=', 'review.delegated').execute();
    assert.equal(audit.length, 1, 'the delegation is audited');
  });
});
