/**
 * A certified OpenID Provider for tests: `oidc-provider` (panva's, OpenID
 * Certified) on 127.0.0.1 over HTTPS with a throwaway CA, one confidential
 * client registered for jml, PKCE required, RP-initiated logout on. Sign-in
 * uses the provider's own development login form (any password; the login
 * names an account below); what is under test is jml's relying party.
 *
 * Every authorization request is logged (its query), so a test can check
 * what jml sent: `code_challenge_method=S256`, `state`, `nonce`.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { makeTestTls, type TestTls } from './tls.ts';

export interface OidcAccount {
  readonly email: string;
  readonly name: string;
  /** `absent` leaves the claim out, as some providers do. */
  readonly emailVerified?: boolean | 'absent';
}

export interface OidcProviderOptions {
  /** Where the throwaway CA and the server certificate are written. */
  readonly dir: string;
  /** Login name (typed on the provider's form) → claims. */
  readonly accounts: Readonly<Record<string, OidcAccount>>;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Set once jml's address is known (see `registerClient`). */
  readonly redirectUris?: readonly string[];
}

export interface TestOidcProvider {
  readonly issuer: string;
  readonly tls: TestTls;
  /** For Chromium's `--ignore-certificate-errors-spki-list`: trust exactly this server's key, nothing else. */
  readonly spkiHash: string;
  /** The query of every authorization request received, oldest first. */
  readonly authorizationRequests: URLSearchParams[];
  /** Registers jml as the client, with its callback and post-logout addresses; replaces any earlier registration. */
  registerClient(redirectUri: string, postLogoutRedirectUri: string): void;
  close(): Promise<void>;
}

/** Starts the provider on a free loopback port; the client is registered with `registerClient`. */
export async function startOidcProvider(options: OidcProviderOptions): Promise<TestOidcProvider> {
  const tls = makeTestTls(options.dir);
  const authorizationRequests: URLSearchParams[] = [];
  let handler: ((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void) | null = null;
  const server: Server = createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, (req, res) => {
    if (req.url?.startsWith('/auth?')) authorizationRequests.push(new URL(req.url, 'https://op.invalid').searchParams);
    if (!handler) {
      res.statusCode = 503;
      res.end('no client registered yet');
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const spki = new X509Certificate(readFileSync(tls.certFile)).publicKey.export({ type: 'spki', format: 'der' });

  const registerClient = (redirectUri: string, postLogoutRedirectUri: string) => {
    const provider = new Provider(issuer, {
      clients: [{
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: [redirectUri],
        post_logout_redirect_uris: [postLogoutRedirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      }],
      async findAccount(_ctx, id) {
        const account = options.accounts[id];
        if (!account) return undefined;
        return { accountId: id, claims: async () => ({ sub: id, email: account.email, ...(account.emailVerified === 'absent' ? {} : { email_verified: account.emailVerified ?? true }), name: account.name }) };
      },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      pkce: { required: () => true },
      cookies: { keys: ['jml-test-oidc-cookie-key'] },
      features: {
        devInteractions: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          // The default pages load web fonts from the internet; these are plain.
          logoutSource: async (ctx, form) => {
            ctx.body = `<!DOCTYPE html><html lang="en"><head><title>Sign out</title></head><body><h1>Sign out of the test provider?</h1>${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button></body></html>`;
          },
          postLogoutSuccessSource: async (ctx) => {
            ctx.body = '<!DOCTYPE html><html lang="en"><head><title>Signed out</title></head><body><h1>Signed out of the test provider</h1></body></html>';
          },
        },
      },
    });
    provider.proxy = false;
    handler = provider.callback();
  };
  return {
    issuer,
    tls,
    spkiHash: createHash('sha256').update(spki).digest('base64'),
    authorizationRequests,
    registerClient,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
