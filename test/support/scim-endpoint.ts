/**
 * jml's SCIM service provider, ready for a client: the API built in-process
 * over a real store (PGlite or PostgreSQL) with `scim` sources configured and
 * a freshly issued write token (and a read token) for the first of them.
 * Listening on 127.0.0.1 when asked, so an external conformance suite can be
 * pointed at `baseUrl` with `token`; `app.inject` serves in-process tests.
 *
 * @example
 * const scim = await startScimEndpoint({ listen: true });
 * // run a suite against scim.baseUrl with `Authorization: Bearer ${scim.token}`
 * await scim.close();
 */
import { buildApiServer } from '../../src/api/api-server.ts';
import { createApiMetrics } from '../../src/api/api-metrics.ts';
import type { ApiDeps } from '../../src/api/api-deps.ts';
import { createConsoleServices } from '../../src/api/console-services.ts';
import { createScimToken, type ScimScope } from '../../src/app/inbound/scim-tokens.ts';
import type { JmlConfig } from '../../src/app/config.ts';
import type { Store } from '../../src/store/open-store.ts';
import { testBackends } from './backends.ts';
import { testConfig } from './hr-files.ts';

export interface ScimEndpointOptions {
  /** An open store to serve; default: a fresh PGlite store, closed with the endpoint. */
  readonly store?: Store;
  /** Source names, each configured as `{ type: 'scim' }` unless given a configuration (default `{ scim: {} }`). */
  readonly sources?: Readonly<Record<string, Record<string, unknown>>>;
  /** Further configuration (timezone, mass_change, correlation…). */
  readonly config?: Record<string, unknown>;
  /** Requests per token per window before 429 (default: high enough never to bite a test). */
  readonly rateLimit?: { readonly requests: number; readonly windowMs: number };
  readonly now?: () => Date;
  /** Listen on 127.0.0.1 on a free port (for clients out of process); default false. */
  readonly listen?: boolean;
}

export interface ScimEndpoint {
  /** The API server, SCIM plugin included (its `routes` and `scimRoutes` are the declarations it serves). */
  readonly app: Awaited<ReturnType<typeof buildApiServer>>;
  readonly store: Store;
  readonly config: JmlConfig;
  /** `http://127.0.0.1:<port>/scim/v2` when listening, else `http://localhost/scim/v2` (what inject answers with). */
  readonly baseUrl: string;
  /** A `scim:write` token of the first source. */
  readonly token: string;
  /** A `scim:read` token of the first source. */
  readonly readToken: string;
  /** The first source's name. */
  readonly source: string;
  issueToken(source: string, name: string, scopes?: readonly ScimScope[]): Promise<string>;
  close(): Promise<void>;
}

/** Starts the endpoint; see the module comment. */
export async function startScimEndpoint(options: ScimEndpointOptions = {}): Promise<ScimEndpoint> {
  const ownStore = options.store === undefined;
  const store = options.store ?? (await testBackends()[0]!.open());
  const sources = Object.fromEntries(Object.entries(options.sources ?? { scim: {} }).map(([name, c]) => [name, { type: 'scim', ...c }]));
  const config = testConfig({ ...options.config, sources });
  const now = options.now ?? (() => new Date());
  const services = createConsoleServices({ db: store.db, backend: store.backend, config, now });
  const inbound = { ...services.inbound!, rateLimit: options.rateLimit ?? { requests: 1_000_000, windowMs: 1000 } };
  const deps: ApiDeps = { db: store.db, backend: store.backend, now, systemsOwnedBy: () => [], services: { ...services, inbound }, metrics: createApiMetrics(), webDir: null, oidc: null };
  const app = await buildApiServer(deps);
  let baseUrl = 'http://localhost/scim/v2';
  if (options.listen) {
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `${address}/scim/v2`;
  }
  const source = Object.keys(sources)[0]!;
  const issueToken = async (name_source: string, name: string, scopes: readonly ScimScope[] = ['scim:write']) =>
    (await createScimToken(store.db, config, { source: name_source, name, scopes, expiresAt: null, actor: 'test', now: now() })).secret;
  const token = await issueToken(source, 'test-writer');
  const readToken = await issueToken(source, 'test-reader', ['scim:read']);
  return {
    app,
    store,
    config,
    baseUrl,
    token,
    readToken,
    source,
    issueToken,
    async close() {
      await app.close();
      if (ownStore) await store.close();
    },
  };
}

/**
 * The inbound endpoint for the conformance run (test/api/scim-inbound-conformance.test.ts):
 * listening on loopback over a fresh store of the named backend, with one
 * `scim` source whose mass-change guard does not hold the run's deletions.
 */
export async function startScimInboundTestServer(options: { readonly backend?: string } = {}): Promise<{ baseUrl: string; token: string; close(): Promise<void> }> {
  const backend = testBackends().find((b) => b.name === options.backend) ?? testBackends()[0]!;
  const store = await backend.open();
  const endpoint = await startScimEndpoint({ listen: true, store, config: { mass_change: { minimum: 1_000_000, percent: 100 } } });
  return {
    baseUrl: endpoint.baseUrl,
    token: endpoint.token,
    async close() {
      await endpoint.close();
      await store.close();
    },
  };
}
