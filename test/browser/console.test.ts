/**
 * The console in a real Chromium (playwright-core, Debian's /usr/bin/chromium)
 * against `jml serve --demo` in its own process: sign in, a joiner imported
 * through the UI, a plan approved and applied, a leaver, and a manager
 * refused someone from another team. Screenshots go to test-artifacts/.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { skipUnlessPeer } from '../peers/peer-process.ts';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildConsoleOnce } from '../support/console-build.ts';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(import.meta.dirname, '../..');
const SHOTS = path.join(ROOT, 'test-artifacts', 'browser');
const AXE = path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');

describe('web console in Chromium', { skip: skipUnlessPeer('Chromium', existsSync(CHROMIUM) ? false : `no ${CHROMIUM} (run test/peers/install-debian.sh as root)`) }, () => {
  let server: ChildProcess;
  let work: string;
  let base = '';
  let adminPassword = '';
  let browser: Browser;
  let page: Page;
  /** What Chromium reports as refused by the Content-Security-Policy, over the whole session. */
  const cspViolations: string[] = [];

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  /** Runs axe-core (WCAG 2.1 A and AA) in the page and fails on any violation, naming rule and elements. */
  async function expectAccessible(where: string) {
    // Evaluated through the debugging protocol, not as a <script> tag: the console's CSP refuses inline scripts.
    await page.evaluate(readFileSync(AXE, 'utf8'));
    // A string, evaluated in the page: the test's own tsconfig has no DOM types.
    const violations = await page.evaluate<string[]>(`(async () => {
      const result = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
      return result.violations.map((v) => v.impact + ' ' + v.id + ': ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '));
    })()`);
    assert.deepEqual(violations, [], `accessibility violations on ${where}`);
  }

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    work = mkdtempSync(path.join(os.tmpdir(), 'jml-browser-'));
    await buildConsoleOnce();
    server = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), '--data', path.join(work, 'data'), '--policy', path.join(ROOT, 'policy'), 'serve', '--demo', '--port', '0'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 90_000);
      server.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const url = out.match(/jml console: (http:\/\/\S+?)\/\s/);
        const pw = out.match(/password: (\S+)/);
        if (url && pw) {
          base = url[1]!;
          adminPassword = pw[1]!;
          clearTimeout(timer);
          resolve();
        }
      });
      server.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      server.on('exit', () => reject(new Error(`server exited: ${out}`)));
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
  });

  after(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
    await new Promise((r) => server?.once('exit', r));
    rmSync(work, { recursive: true, force: true });
  });

  async function signIn(username: string, password: string) {
    await page.goto(`${base}/`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  async function uploadHr(content: string, name: string) {
    await page.goto(`${base}/#/import`);
    const file = path.join(work, name);
    writeFileSync(file, content);
    await page.locator('input[type=file]').setInputFiles(file);
    await page.getByRole('button', { name: 'Preview (dry run)' }).click();
    // The dry run reads and diffs the whole demo HR file: allow a busy machine.
    await page.getByText('Dry run: what would change').waitFor({ timeout: 60_000 });
  }

  test('an admin signs in with the keyboard alone, using the generated password, and sees the demo organisation', async () => {
    await page.goto(`${base}/`);
    await page.getByLabel('Username').waitFor();
    await shot('01-sign-in');
    await expectAccessible('the sign-in page');
    await page.keyboard.press('Tab');
    await page.keyboard.type('admin');
    await page.keyboard.press('Tab');
    await page.keyboard.type(adminPassword);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByText('Lifecycle events, last 14 days').waitFor();
    await shot('02-dashboard');
    await expectAccessible('the dashboard');
    // The first Tab lands on the skip link, which takes focus past the navigation to the page.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate<string | null>('document.activeElement?.textContent ?? null'), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate<string | null>('document.activeElement?.id ?? null'), 'main');
    await page.goto(`${base}/#/people`);
    await page.locator('tbody tr').first().waitFor();
    assert.ok((await page.locator('tbody tr').count()) > 10);
    await expectAccessible('the people list');
    await page.getByLabel('Search').fill('Torvalds');
    await page.getByRole('link', { name: 'Vint Torvalds' }).waitFor();
    await shot('03-people');
    await page.getByRole('link', { name: 'Vint Torvalds' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Vint Torvalds/ }).waitFor();
    assert.equal(await page.evaluate<string | null>('document.activeElement?.id ?? null'), 'main', 'focus moves to the new page');
    await page.getByRole('table', { name: /desired/ }).or(page.getByText('Access: desired versus actual')).first().waitFor();
    await shot('04-identity');
    await expectAccessible('the identity page');
  });

  test('a joiner imported through the UI shows a dry-run diff, then lands; its plan is approved and applied', async () => {
    const hr = readFileSync(path.join(work, 'data', 'demo', 'hr.csv'), 'utf8');
    const today = new Date().toISOString().slice(0, 10);
    const joined = `${hr.trimEnd()}\nE9999,Ada,Newhire,ada.newhire@example.com,IT,"Platform Engineer",E1001,Berlin,Full-time,${today},,active\n`;
    await uploadHr(joined, 'hr-joiner.csv');
    await page.getByRole('cell', { name: 'E9999' }).waitFor();
    await shot('05-import-dry-run');
    await expectAccessible('the import dry run');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByRole('heading', { name: 'Imported' }).waitFor({ timeout: 60_000 });
    await shot('06-import-applied');
    // The plan for the new joiner alone: what this person gets, not the whole organisation's drift.
    await page.goto(`${base}/#/plans`);
    await page.getByLabel('Only these identities').fill('E9999');
    await page.getByRole('button', { name: 'Compute plan' }).click();
    await page.getByText('For E9999 only').waitFor();
    const preview = page.getByRole('region', { name: /Plan preview/ });
    await page.getByRole('button', { name: 'Approve' }).waitFor();
    const identities = await preview.locator('tbody tr td:nth-child(2)').allInnerTexts();
    assert.ok(identities.length > 0, 'the joiner gets accounts and grants');
    assert.deepEqual([...new Set(identities)], ['E9999'], 'only the joiner is planned');
    await shot('07-plan-preview');
    await expectAccessible('the plan preview');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('button', { name: 'Apply' }).click();
    await preview.locator('header').getByText(/^(applied|partial)$/).waitFor({ timeout: 60_000 });
    await shot('08-plan-applied');
    await page.goto(`${base}/#/people/E9999`);
    await page.getByRole('heading', { name: /Ada Newhire/ }).waitFor();
    await shot('09-joiner-identity');
  });

  test('a leaver removed from the HR file shows as a leaver in the dry run and after import', async () => {
    const hr = readFileSync(path.join(work, 'data', 'demo', 'hr.csv'), 'utf8').trimEnd().split('\n');
    const leaving = hr.findIndex((l) => l.startsWith('E1010,'));
    const without = [...hr.slice(0, leaving), ...hr.slice(leaving + 1)].join('\n');
    const today = new Date().toISOString().slice(0, 10);
    const withJoiner = `${without}\nE9999,Ada,Newhire,ada.newhire@example.com,IT,"Platform Engineer",E1001,Berlin,Full-time,${today},,active\n`;
    await uploadHr(withJoiner, 'hr-leaver.csv');
    await page.getByRole('cell', { name: 'E1010' }).waitFor();
    await shot('10-leaver-dry-run');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByRole('heading', { name: 'Imported' }).waitFor({ timeout: 60_000 });
  });

  test('a manager sees their team but is refused a person from another team', async () => {
    // E1001 (Head of IT) manages IT; E1000 is the CEO, outside their team.
    const created = await page.evaluate(async () => {
      const session = (await (await fetch('/api/auth/session')).json()) as { csrfToken: string };
      const res = await fetch('/api/users', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken }, body: JSON.stringify({ username: 'guido', password: 'manager-password-1', identityKey: 'E1001' }) });
      return res.status;
    });
    assert.equal(created, 201);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn('guido', 'manager-password-1');
    await page.goto(`${base}/#/people`);
    await page.locator('tbody tr').first().waitFor();
    await shot('11-manager-team');
    await page.goto(`${base}/#/people/E1000`);
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /cannot see E1000/);
    await shot('12-manager-refused');
    const status = await page.evaluate(async () => (await fetch('/api/people/E1000')).status);
    assert.equal(status, 404);
  });

  test('a report’s access request waits in the manager’s approvals inbox, and approving it moves it on', async () => {
    // E9999 (the joiner above, reporting to E1001) asks for something they may request.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn('admin', adminPassword);
    const post = (url: string, body: unknown) =>
      page.evaluate(async ([u, b]) => {
        const session = (await (await fetch('/api/auth/session')).json()) as { csrfToken: string };
        const res = await fetch(u as string, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken }, body: JSON.stringify(b) });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      }, [url, body] as const);
    assert.equal((await post('/api/users', { username: 'ada', password: 'joiner-password-1', identityKey: 'E9999' })).status, 201);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn('ada', 'joiner-password-1');
    const me = await page.evaluate(async () => (await (await fetch('/api/me')).json()) as { requestable: { system: string; entitlement: string; privileged: boolean }[] });
    const wanted = me.requestable.find((r) => !r.privileged) ?? me.requestable[0]!;
    const filed = await post('/api/access-requests', { system: wanted.system, entitlement: wanted.entitlement, justification: 'needed for onboarding' });
    assert.equal(filed.status, 201, JSON.stringify(filed.body));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn('guido', 'manager-password-1');
    await page.goto(`${base}/#/approvals`);
    const item = page.getByRole('listitem').filter({ hasText: `${wanted.system}:${wanted.entitlement}` }).filter({ hasText: 'stage manager' });
    await item.waitFor();
    await shot('13-approvals-inbox');
    await expectAccessible('the approvals inbox');
    await item.getByRole('button', { name: 'Approve' }).click();
    await item.waitFor({ state: 'detached' });
    const inbox = await page.evaluate(async () => (await (await fetch('/api/approvals')).json()) as { items: { id: string; stage: string }[] });
    assert.ok(!inbox.items.some((i) => i.id === filed.body.id && i.stage === 'manager'), 'the manager stage is decided');
  });

  test('every page above ran under the Content-Security-Policy without a single violation', async () => {
    const res = await page.goto(`${base}/`);
    assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    assert.deepEqual(cspViolations, []);
  });

  test('an admin creates a user on the users page and resets their password; the user must choose a new one at sign-in', async () => {
    // A fresh browser context: this test needs no state from the ones above.
    page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    await signIn('admin', adminPassword);
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('table').getByText('admin', { exact: true }).first().waitFor();
    await page.getByLabel('Username').fill('grace');
    await page.getByLabel('Initial password').fill('grace-first-password');
    await page.getByLabel('Linked identity key').fill('E1001');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('button', { name: 'Reset password of grace' }).waitFor();
    await shot('14-users');
    await expectAccessible('the users page');
    await page.getByRole('button', { name: 'Reset password of grace' }).click();
    const issued = await page.getByRole('status').filter({ hasText: 'One-time password for' }).innerText();
    const oneTime = issued.match(/grace: (\S+)/)?.[1];
    assert.ok(oneTime && oneTime.length === 20, issued);

    await page.getByRole('button', { name: 'Sign out' }).click();
    // The users page has a Username field and "Reset password" buttons too: fill the sign-in form only once it shows.
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Username').fill('grace');
    await page.getByLabel('Password', { exact: true }).fill(oneTime);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await expectAccessible('the forced password change');
    await page.getByLabel('One-time password').fill(oneTime);
    await page.getByLabel('New password', { exact: true }).fill('grace-own-password-1');
    await page.getByLabel('New password again').fill('grace-own-password-1');
    await page.getByRole('button', { name: 'Save and continue' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await shot('15-password-changed');
  });
});
