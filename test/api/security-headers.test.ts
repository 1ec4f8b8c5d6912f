/**
 * Every response carries the browser policy: a strict Content-Security-Policy
 * (the built console has no inline script), no framing, no sniffing; HSTS only
 * when the request came over TLS, and X-Forwarded-Proto counts only from a
 * trusted proxy.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildApiServer } from '../../src/api/api-server.ts';
import { createApiMetrics } from '../../src/api/api-metrics.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from '../support/backends.ts';

describe('security headers', () => {
  let store: Store;
  let webDir: string;
  const server = (behindProxy: boolean) =>
    buildApiServer({ db: store.db, backend: store.backend, now: () => new Date(), systemsOwnedBy: () => [], services: {}, metrics: createApiMetrics(), webDir, oidc: null }, { trustProxy: behindProxy ? 1 : false });

  before(async () => {
    store = await testBackends()[0]!.open();
    webDir = mkdtempSync(path.join(os.tmpdir(), 'jml-web-'));
    writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><script type="module" src="/assets/app.js"></script>');
  });
  after(async () => {
    await store.close();
    rmSync(webDir, { recursive: true, force: true });
  });

  test('the console page, its client routes and the API answer with a CSP that allows only scripts from this origin', async () => {
    const app = await server(false);
    try {
      for (const url of ['/', '/people/alice', '/api/auth/session', '/api/no-such-route']) {
        const res = await app.inject({ method: 'GET', url });
        const csp = String(res.headers['content-security-policy'] ?? '');
        assert.match(csp, /(^|; )default-src 'self'(;|$)/, `${url}: ${csp}`);
        assert.match(csp, /(^|; )script-src 'self'(;|$)/, `${url}: no inline or eval script`);
        assert.match(csp, /(^|; )object-src 'none'(;|$)/);
        assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
        assert.equal(res.headers['x-frame-options'], 'DENY');
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
      }
    } finally {
      await app.close();
    }
  });

  test('HSTS is sent behind a trusted TLS proxy and never over plain http', async () => {
    const trusting = await server(true);
    const direct = await server(false);
    try {
      const overTls = await trusting.inject({ method: 'GET', url: '/api/auth/session', headers: { 'x-forwarded-proto': 'https' } });
      assert.equal(overTls.headers['strict-transport-security'], 'max-age=31536000');
      const plain = await trusting.inject({ method: 'GET', url: '/api/auth/session' });
      assert.equal(plain.headers['strict-transport-security'], undefined, 'not over http');
      const spoofed = await direct.inject({ method: 'GET', url: '/api/auth/session', headers: { 'x-forwarded-proto': 'https' } });
      assert.equal(spoofed.headers['strict-transport-security'], undefined, 'X-Forwarded-Proto from an untrusted client is ignored');
    } finally {
      await trusting.close();
      await direct.close();
    }
  });
});
