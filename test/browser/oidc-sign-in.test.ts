/**
 * OIDC sign-in for real: a certified OpenID provider (oidc-provider) on
 * loopback over HTTPS, jml as its registered client, the whole redirect dance
 * driven in Chromium. Chromium trusts exactly the provider's key (its SPKI
 * hash); jml trusts the throwaway CA (NODE_EXTRA_CA_CERTS). Screenshots go
 * to test-artifacts/browser/.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { freePort } from '../peers/peer-process.ts';
import { startOidcProvider, type OidcAccount, type TestOidcProvider } from '../peers/oidc-provider.ts';
import { chromiumSkip, expectAccessible, launchChromium, screenshot, signInWithPassword, startJmlServer, type JmlServer } from './browser-harness.ts';

const CLIENT_ID = 'jml-console';
const CLIENT_SECRET = 'a-long-test-client-secret-for-jml';

describe('OIDC sign-in against a real OpenID provider, in Chromium', { skip: chromiumSkip() }, () => {
  const accounts: Record<string, OidcAccount> = {};
  let dir: string;
  let op: TestOidcProvider;
  let jml: JmlServer;
  let browser: Browser;
  let active: { key: string; email: string };
  let leaver: { key: string; email: string };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'jml-oidc-'));
    op = await startOidcProvider({ dir, accounts, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    op.registerClient(`${base}/api/auth/oidc/callback`, `${base}/`);
    jml = await startJmlServer({
      port,
      env: { JML_OIDC_ISSUER: op.issuer, JML_OIDC_CLIENT_ID: CLIENT_ID, JML_OIDC_CLIENT_SECRET: CLIENT_SECRET, JML_PUBLIC_URL: base, NODE_EXTRA_CA_CERTS: op.tls.caFile },
    });
    assert.equal(jml.base, base);
    // The demo HR file: key, first, last, email, department, title, manager, location, type, start, end, status.
    const today = new Date().toISOString().slice(0, 10);
    const rows = readFileSync(path.join(jml.work, 'data', 'demo', 'hr.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const activeRow = rows.find((r) => r.at(-1) === 'active' && !r[10] && r[9]! <= today)!;
    const leaverRow = rows.find((r) => r.at(-1) === 'terminated' && r[10]! !== '' && r[10]! < today)!;
    active = { key: activeRow[0]!, email: activeRow[3]! };
    leaver = { key: leaverRow[0]!, email: leaverRow[3]! };
    // The provider's accounts use upper case where the HR file does not: matching ignores case.
    accounts.ada = { email: active.email.toUpperCase(), name: 'Ada Provider' };
    accounts.gone = { email: leaver.email, name: 'Someone Who Left' };
    accounts.stranger = { email: 'nobody@elsewhere.example', name: 'Not In HR' };
    // The active person's email again, from a provider that does not say it is verified.
    accounts.unverified = { email: active.email, name: 'Unverified Ada', emailVerified: 'absent' };
    browser = await launchChromium([`--ignore-certificate-errors-spki-list=${op.spkiHash}`]);
  });

  after(async () => {
    await browser?.close();
    await jml?.stop();
    await op?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** From the console's sign-in page through the provider's login (and, the first time, consent) form. */
  async function signInAtProvider(page: Page, login: string, beforeSubmit?: () => Promise<void>) {
    await page.goto(`${jml.base}/`);
    await page.getByRole('link', { name: 'Sign in with your organisation' }).click();
    await page.locator('input[name=login]').waitFor();
    assert.ok(page.url().startsWith(`${op.issuer}/interaction/`), page.url());
    await page.locator('input[name=login]').fill(login);
    await page.locator('input[name=password]').fill('anything');
    await beforeSubmit?.();
    await page.getByRole('button', { name: 'Sign-in' }).click();
    const consent = page.getByRole('button', { name: 'Continue' });
    await Promise.race([consent.waitFor({ timeout: 15_000 }).then(() => consent.click()), page.waitForURL(`${jml.base}/**`, { timeout: 15_000 })]).catch(() => undefined);
    await page.waitForURL(`${jml.base}/**`);
  }

  async function sessionStatus(page: Page): Promise<{ status: number; body: { user?: { identityKey: string | null; username: string } } }> {
    return page.evaluate(async () => {
      const res = await fetch('/api/auth/session');
      return { status: res.status, body: (await res.json()) as { user?: { identityKey: string | null; username: string } } };
    });
  }

  let context: BrowserContext;
  let page: Page;

  test('an active person signs in through the provider with PKCE (S256), state and nonce, and is matched to their identity by email', async () => {
    context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    page = await context.newPage();
    await page.goto(`${jml.base}/`);
    await page.getByRole('link', { name: 'Sign in with your organisation' }).waitFor();
    await screenshot(page, 'oidc-01-sign-in');
    await expectAccessible(page, 'the sign-in page with OIDC');
    await signInAtProvider(page, 'ada');
    assert.doesNotMatch(page.url(), /oidc=/, 'jml accepted the sign-in');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const session = await sessionStatus(page);
    assert.equal(session.status, 200);
    assert.equal(session.body.user?.identityKey, active.key, 'the email claim picked the identity');
    const sent = op.authorizationRequests.at(-1)!;
    assert.equal(sent.get('code_challenge_method'), 'S256');
    assert.match(sent.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok((sent.get('state') ?? '').length >= 20, 'a random state');
    assert.ok((sent.get('nonce') ?? '').length >= 20, 'a random nonce');
    assert.equal(sent.get('client_id'), CLIENT_ID);
    await screenshot(page, 'oidc-02-signed-in');
  });

  test('signing out ends the jml session and the provider’s session, so the next sign-in asks for the login again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${op.issuer}/**`);
    await screenshot(page, 'oidc-03-provider-sign-out');
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL(`${jml.base}/**`);
    await page.getByRole('link', { name: 'Sign in with your organisation' }).waitFor();
    assert.equal((await sessionStatus(page)).status, 401, 'the jml session is gone');
    await page.getByRole('link', { name: 'Sign in with your organisation' }).click();
    await page.locator('input[name=login]').waitFor();
    await context.close();
  });

  test('a leaver who signs in at the provider is refused by jml, with a message on the sign-in page, and gets no console user', async () => {
    context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    page = await context.newPage();
    await signInAtProvider(page, 'gone');
    assert.match(page.url(), /\?oidc=refused/);
    await page.getByRole('alert').filter({ hasText: 'may not use jml' }).waitFor();
    await screenshot(page, 'oidc-04-leaver-refused');
    await expectAccessible(page, 'the refused sign-in');
    assert.equal((await sessionStatus(page)).status, 401);
    await context.close();

    // The admin sees no user for the leaver, and the refusal in the audit trail.
    context = await browser.newContext();
    page = await context.newPage();
    await signInWithPassword(page, jml.base, 'admin', jml.adminPassword);
    const users = await page.evaluate(async () => ((await (await fetch('/api/users')).json()) as { items: { username: string; identityKey: string | null }[] }).items);
    assert.ok(!users.some((u) => u.identityKey === leaver.key), 'no console user was made for the leaver');
    assert.ok(users.some((u) => u.identityKey === active.key && u.username === active.email.toUpperCase()), 'the active person got one on first sign-in');
    const refusals = await page.evaluate(async () => ((await (await fetch('/api/audit?action=auth.sign_in_failed')).json()) as { items: { details: { via?: string; reason?: string } }[] }).items);
    assert.ok(refusals.some((r) => r.details.via === 'oidc' && /has left/.test(r.details.reason ?? '')), JSON.stringify(refusals));
    await context.close();
  });

  /** Signs in at the provider as `account`, checks jml refused it, and returns the refusal reasons an admin reads in the audit trail. */
  async function refusalReasons(account: string): Promise<string[]> {
    context = await browser.newContext();
    page = await context.newPage();
    await signInAtProvider(page, account);
    assert.match(page.url(), /\?oidc=refused/);
    assert.equal((await sessionStatus(page)).status, 401);
    await context.close();
    context = await browser.newContext();
    page = await context.newPage();
    await signInWithPassword(page, jml.base, 'admin', jml.adminPassword);
    const refusals = await page.evaluate(async () => ((await (await fetch('/api/audit?action=auth.sign_in_failed')).json()) as { items: { details: { reason?: string } }[] }).items);
    await context.close();
    return refusals.map((r) => r.details.reason ?? '');
  }

  test('someone whose email matches no identity is refused, and the audit trail says why', async () => {
    const reasons = await refusalReasons('stranger');
    assert.ok(reasons.some((r) => /no identity has the email nobody@elsewhere\.example/.test(r)), JSON.stringify(reasons));
  });

  test('an email the provider sends without saying it is verified is not matched to anyone, and the audit trail says why', async () => {
    const reasons = await refusalReasons('unverified');
    assert.ok(reasons.some((r) => /sent no verified email/.test(r)), JSON.stringify(reasons));
  });

  for (const [part, index] of [['state', 0], ['PKCE code verifier', 1], ['nonce', 2]] as const) {
    test(`a sign-in whose ${part} does not match what jml sent is refused`, async () => {
      context = await browser.newContext();
      page = await context.newPage();
      await signInAtProvider(page, 'ada', async () => {
        // While the browser is at the provider: jml's flow cookie is changed in the one place under test.
        const cookie = (await context.cookies(`${jml.base}/api/auth/oidc/callback`)).find((c) => c.name === 'jml_oidc')!;
        const parts = cookie.value.split('.');
        parts[index] = `${parts[index]!.slice(0, -4)}AAAA`;
        await context.addCookies([{ ...cookie, value: parts.join('.') }]);
      });
      assert.match(page.url(), /\?oidc=failed/, `the ${part} is checked`);
      await page.getByRole('alert').filter({ hasText: 'did not complete' }).waitFor();
      assert.equal((await sessionStatus(page)).status, 401);
      await context.close();
    });
  }
});
