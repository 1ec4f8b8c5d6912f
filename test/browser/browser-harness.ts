/**
 * What the browser tests share: `jml serve --demo` in its own process on a
 * loopback port, Debian's Chromium through playwright-core, axe-core run in
 * the page, and screenshots under test-artifacts/browser/.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { skipUnlessPeer } from '../peers/peer-process.ts';
import { buildConsoleOnce } from '../support/console-build.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = path.resolve(import.meta.dirname, '../..');
export const SHOTS = path.join(ROOT, 'test-artifacts', 'browser');
const AXE = path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');

/** For `describe(…, { skip })`: Chromium must be installed. */
export function chromiumSkip(): string | false {
  return skipUnlessPeer('Chromium', existsSync(CHROMIUM) ? false : `no ${CHROMIUM} (run test/peers/install-debian.sh as root)`);
}

export interface JmlServer {
  readonly base: string;
  readonly adminPassword: string;
  /** The server's working directory (its data under data/, the demo HR file at data/demo/hr.csv). */
  readonly work: string;
  stop(): Promise<void>;
}

/** Starts `jml serve --demo` on `port` (0: any) with extra environment (and another policy directory than the repository's); resolves once it prints its address and the admin password. */
export async function startJmlServer(options: { readonly port?: number; readonly env?: NodeJS.ProcessEnv; readonly policyDir?: string } = {}): Promise<JmlServer> {
  await buildConsoleOnce();
  const work = mkdtempSync(path.join(os.tmpdir(), 'jml-browser-'));
  const server: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), '--data', path.join(work, 'data'), '--policy', options.policyDir ?? path.join(ROOT, 'policy'), 'serve', '--demo', '--port', String(options.port ?? 0)], {
    cwd: work,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let out = '';
  const started = await new Promise<{ base: string; adminPassword: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 120_000);
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const url = out.match(/jml console: (http:\/\/\S+?)\/\s/);
      const pw = out.match(/password: (\S+)/);
      if (url && pw) {
        clearTimeout(timer);
        resolve({ base: url[1]!, adminPassword: pw[1]! });
      }
    });
    server.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    server.on('exit', () => reject(new Error(`server exited: ${out}`)));
  });
  return {
    ...started,
    work,
    async stop() {
      server.kill('SIGTERM');
      if (server.exitCode === null) await new Promise((r) => server.once('exit', r));
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Chromium with the flags that keep it quiet and local; `args` adds more. */
export async function launchChromium(args: readonly string[] = []): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...args] });
}

/** Writes a full-page screenshot to test-artifacts/browser/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** Runs axe-core (WCAG 2.1 A and AA) in the page and fails on any violation, naming rule and elements. */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  // Evaluated through the debugging protocol, not as a <script> tag: the console's CSP refuses inline scripts.
  await page.evaluate(readFileSync(AXE, 'utf8'));
  const violations = await page.evaluate<string[]>(`(async () => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.map((v) => v.impact + ' ' + v.id + ': ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '));
  })()`);
  assert.deepEqual(violations, [], `accessibility violations on ${where}`);
}

/** Signs in on the console's own form and waits for the console. */
export async function signInWithPassword(page: Page, base: string, username: string, password: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** A JSON request made by the page itself, with its session cookie and CSRF token, as the console makes it. */
export function apiFromPage(page: Page, method: string, url: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return page.evaluate(async ([m, u, b]) => {
    const session = (await (await fetch('/api/auth/session')).json()) as { csrfToken: string };
    const res = await fetch(u as string, { method: m as string, headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken }, ...(b === undefined ? {} : { body: JSON.stringify(b) }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }, [method, url, body] as const);
}
