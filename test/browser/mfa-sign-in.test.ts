/**
 * Multi-factor sign-in in a real Chromium against `jml serve` on a fresh
 * install (no --demo: the default policy), on PGlite and, when
 * JML_TEST_DATABASE_URL is set, on PostgreSQL. Passkeys come from the
 * DevTools protocol's virtual authenticator (internal, resident keys, user
 * verification). WebAuthn refuses IP addresses as relying parties, so the
 * console is opened at http://localhost (a secure context), which is what
 * `jml serve` names as the passkeys' origin when JML_PUBLIC_URL is unset.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import { skipUnlessPeer } from '../peers/peer-process.ts';
import { createTestDatabase } from '../support/backends.ts';
import type { ScratchDatabase } from '../support/scratch-database.ts';
import { buildConsoleOnce } from '../support/console-build.ts';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(import.meta.dirname, '../..');
const SHOTS = path.join(ROOT, 'test-artifacts', 'browser');
const AXE = path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');
const BACKENDS = ['pglite', ...(process.env.JML_TEST_DATABASE_URL ? ['postgres'] : [])] as const;

for (const backend of BACKENDS) {
  describe(`multi-factor sign-in in Chromium (${backend})`, { skip: skipUnlessPeer('Chromium', existsSync(CHROMIUM) ? false : `no ${CHROMIUM} (run test/peers/install-debian.sh as root)`) }, () => {
    let server: ChildProcess;
    let work: string;
    let database: ScratchDatabase | null = null;
    let base = '';
    let adminPassword = '';
    let browser: Browser;
    let page: Page;
    let cdp: CDPSession;
    let totpSecret = '';
    let authenticatorId = '';

    const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `mfa-${backend}-${name}.png`), fullPage: true });

    async function expectAccessible(where: string) {
      await page.evaluate(readFileSync(AXE, 'utf8'));
      const violations = await page.evaluate<string[]>(`(async () => {
        const result = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
        return result.violations.map((v) => v.impact + ' ' + v.id + ': ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '));
      })()`);
      assert.deepEqual(violations, [], `accessibility violations on ${where}`);
    }

    async function signInWithPassword() {
      await page.goto(`${base}/`);
      await page.getByLabel('Username').fill('admin');
      await page.getByLabel('Password').fill(adminPassword);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    }

    /** Fully signed in: the main navigation shows (the second-factor and enrolment pages have a Sign out button too). */
    async function signedIn() {
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
    }

    async function signOut() {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Username').waitFor();
    }

    before(async () => {
      mkdirSync(SHOTS, { recursive: true });
      work = mkdtempSync(path.join(os.tmpdir(), 'jml-mfa-browser-'));
      database = backend === 'postgres' ? await createTestDatabase() : null;
      // A one-minute step-up window, so the step-up dialog can be seen without waiting a quarter of an hour.
      writeFileSync(path.join(work, 'jml.config.yaml'), 'mfa:\n  step_up_minutes: 1\n');
      const env = { ...process.env, JML_MASTER_KEY: randomBytes(32).toString('base64'), JML_PUBLIC_URL: '', ...(database ? { DATABASE_URL: database.url } : {}) };
      await buildConsoleOnce();
      server = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), '--data', path.join(work, 'data'), '--policy', path.join(ROOT, 'policy'), 'serve', '--port', '0'], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 90_000);
        server.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const url = out.match(/jml console: http:\/\/127\.0\.0\.1:(\d+)\/\s/);
          const pw = out.match(/password: (\S+)/);
          if (url && pw) {
            base = `http://localhost:${url[1]}`;
            adminPassword = pw[1]!;
            clearTimeout(timer);
            resolve();
          }
        });
        server.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        server.on('exit', () => reject(new Error(`server exited: ${out}`)));
      });
      assert.match(out, /Multi-factor sign-in is required for: admin, security, hr/);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      page = await context.newPage();
      cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } }));
    });

    after(async () => {
      await browser?.close();
      server?.kill('SIGTERM');
      if (server && server.exitCode === null) await new Promise((r) => server.once('exit', r));
      await database?.drop();
      rmSync(work, { recursive: true, force: true });
    });

    test('a new admin on a fresh install is taken to enrolment after the password and can reach nothing else', async () => {
      await signInWithPassword();
      await page.getByRole('heading', { name: 'Set up a second factor' }).waitFor();
      await shot('01-enrol');
      await expectAccessible('the enrolment page');
      await page.goto(`${base}/#/users`);
      await page.getByRole('heading', { name: 'Set up a second factor' }).waitFor();
      const status = await page.evaluate<number>(`fetch('/api/people').then((r) => r.status)`);
      assert.equal(status, 403, 'the half-signed-in session is refused by the API itself');
    });

    test('the admin registers a passkey with the virtual authenticator and is shown ten recovery codes once', async () => {
      await page.getByLabel('Passkey name').fill('test laptop');
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      await page.getByText('Your recovery codes — shown once.').waitFor();
      assert.equal(await page.getByRole('list', { name: 'Recovery codes' }).locator('li').count(), 10);
      await shot('02-recovery-codes');
      await expectAccessible('the recovery codes');
      await page.getByRole('button', { name: 'I have saved them — continue' }).click();
      await signedIn();
      const { credentials } = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })) as { credentials: { isResidentCredential: boolean }[] };
      assert.equal(credentials.length, 1);
      assert.equal(credentials[0]!.isResidentCredential, true, 'a discoverable credential, usable without a password');
      const audit = await page.evaluate<{ details: { name: string; backedUp: boolean } }[]>(`fetch('/api/audit?action=mfa.passkey_registered').then((r) => r.json()).then((b) => b.items)`);
      assert.deepEqual(audit.map((a) => [a.details.name, a.details.backedUp]), [['test laptop', false]], 'the registration is audited with the backup state');
    });

    test('the Security page lists the passkey and sets up an authenticator app from its QR code and key', async () => {
      await page.goto(`${base}/#/security`);
      await page.getByText('test laptop').waitFor();
      await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
      await page.getByRole('img', { name: /QR code/ }).waitFor();
      await shot('03-totp-setup');
      await expectAccessible('the authenticator app set-up');
      totpSecret = (await page.locator('.totp-secret').textContent())!.trim();
      await page.getByLabel('Code shown by the app').fill(TOTP.generate({ secret: Secret.fromBase32(totpSecret), timestamp: Date.now() }));
      await page.getByRole('button', { name: 'Confirm' }).click();
      await page.getByText('Set up.').waitFor();
      await expectAccessible('the Security page');
    });

    test('after the password the passkey is the second factor', async () => {
      await signOut();
      await signInWithPassword();
      await page.getByRole('heading', { name: 'Confirm it’s you' }).waitFor();
      await shot('04-verify');
      await expectAccessible('the second-factor page');
      await page.getByRole('button', { name: 'Use a passkey' }).click();
      await signedIn();
      assert.equal(await page.evaluate<number>(`fetch('/api/people').then((r) => r.status)`), 200);
    });

    test('the admin signs in with the passkey alone, without a password', async () => {
      await signOut();
      await page.getByRole('button', { name: 'Use a passkey' }).click();
      await signedIn();
      assert.equal(await page.evaluate<number>(`fetch('/api/users').then((r) => r.status)`), 200);
    });

    test('a code from the authenticator app is the second factor once; the same code is refused the second time', async () => {
      await signOut();
      // The step after the one used to confirm the set-up: inside the ±1 window, and never used.
      const code = TOTP.generate({ secret: Secret.fromBase32(totpSecret), timestamp: Date.now() + 30_000 });
      await signInWithPassword();
      await page.getByLabel('Code from your authenticator app').fill(code);
      await page.getByRole('button', { name: 'Verify' }).click();
      await signedIn();
      await signOut();
      await signInWithPassword();
      await page.getByLabel('Code from your authenticator app').fill(code);
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('alert').getByText('that code is wrong or was already used').waitFor();
      await shot('05-replay-refused');
    });

    test('once the step-up window has passed, removing the authenticator app first asks for the passkey, then goes through; the last passkey stays', async () => {
      await page.getByRole('button', { name: 'Use a passkey' }).click();
      await signedIn();
      await page.goto(`${base}/#/security`);
      await page.getByRole('button', { name: 'Remove the authenticator app' }).waitFor();
      await new Promise((r) => setTimeout(r, 62_000));
      await page.getByRole('button', { name: 'Remove the authenticator app' }).click();
      const dialog = page.getByRole('dialog', { name: 'Confirm it’s you' });
      await dialog.getByRole('button', { name: 'Use a passkey' }).waitFor();
      await shot('06-step-up');
      await expectAccessible('the step-up dialog');
      await dialog.getByRole('button', { name: 'Use a passkey' }).click();
      await page.getByRole('button', { name: 'Set up an authenticator app' }).waitFor();
      assert.equal(await dialog.isVisible(), false);
      // The passkey is now the admin's only factor: the policy keeps it.
      await page.getByRole('button', { name: 'Remove passkey test laptop' }).click();
      await page.getByRole('alert').getByText(/your role requires a second factor/).waitFor();
      await page.getByText('test laptop').waitFor();
    });
  });
}
