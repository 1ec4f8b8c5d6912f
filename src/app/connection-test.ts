/**
 * `jml system test`: connect to one system as jml will, authenticate, read one
 * page of accounts and groups, and say what was found — or, when it fails,
 * which of the usual reasons it is (unreachable, credentials, TLS, a base DN
 * or endpoint that does not exist, settings), so the person setting it up
 * knows what to fix. Changes nothing in the system.
 */
import type { Connector, ServerInfo } from '../connectors/connector.ts';
import { isJmlError, JmlError } from '../domain/errors.ts';
import { openPolicyConnectors, type PolicyConnectorsDeps } from './connectors-from-policy.ts';

/** Why a connection test failed, most specific first. */
export type ConnectionFailure = 'unreachable' | 'credentials' | 'tls' | 'not_found' | 'settings' | 'error';

export interface ListingSample {
  /** Items on the first page read. */
  readonly count: number;
  /** True when the system has more than that page. */
  readonly more: boolean;
  /** The first few names, as the system shows them. */
  readonly names: readonly string[];
}

export interface ConnectionReport {
  readonly system: string;
  readonly type: string;
  readonly ok: boolean;
  /** Null for connectors that do not describe a server (manual, fake, simulated), or when the test failed before. */
  readonly server: ServerInfo | null;
  readonly accounts: ListingSample | null;
  readonly groups: ListingSample | null;
  readonly failure: { readonly reason: ConnectionFailure; readonly message: string; readonly problems: readonly string[] } | null;
}

/** LDAP result codes by what they say about the set-up (RFC 4511 §A.2). */
const LDAP_REASONS: Readonly<Record<number, ConnectionFailure>> = {
  8: 'tls', // strongAuthRequired: the server wants TLS before a simple bind
  13: 'tls', // confidentialityRequired
  32: 'not_found', // noSuchObject
  34: 'not_found', // invalidDNSyntax
  48: 'credentials', // inappropriateAuthentication
  49: 'credentials', // invalidCredentials
  50: 'credentials', // insufficientAccessRights
};

/** Classifies an error a connector threw while being tested. */
export function connectionFailureOf(error: unknown): ConnectionFailure {
  if (!isJmlError(error)) return 'error';
  if (error.code === 'invalid_input') return 'settings';
  // A secret that was never stored is the credentials step of setting a system up.
  if (error.code === 'not_found') return 'credentials';
  const d = error.details;
  if (d.unreachable === true) return 'unreachable';
  if (d.tls === true) return 'tls';
  if (typeof d.resultCode === 'number') return LDAP_REASONS[d.resultCode] ?? 'error';
  if (d.status === 401 || d.status === 403) return 'credentials';
  if (d.status === 404) return 'not_found';
  return 'error';
}

async function sample(connector: Connector, kind: 'accounts' | 'entitlements', pageSize: number, shown: number): Promise<ListingSample> {
  const page = await connector.list(kind, null, pageSize);
  const names = page.items.slice(0, shown).map((item) => ('name' in item ? item.name : item.entitlement));
  return { count: page.items.length, more: page.nextCursor !== null, names };
}

/**
 * Tests one opened connector: server description (where the connector gives
 * one), settings check, then the first page of accounts and of groups.
 * Never throws for a failure of the system; the report carries it.
 * @example
 * const report = await testConnection(connectors.get('directory')!, 'directory', { pageSize: 100 });
 * if (!report.ok) console.error(report.failure!.reason, report.failure!.message);
 */
export async function testConnection(connector: Connector, system: string, options: { readonly pageSize?: number; readonly shown?: number } = {}): Promise<ConnectionReport> {
  const pageSize = options.pageSize ?? 100;
  const shown = options.shown ?? 5;
  const type = connector.describe().type;
  let server: ServerInfo | null = null;
  let accounts: ListingSample | null = null;
  const failed = (reason: ConnectionFailure, message: string, problems: readonly string[] = []): ConnectionReport =>
    ({ system, type, ok: false, server, accounts, groups: null, failure: { reason, message, problems } });
  try {
    if (connector.server) server = await connector.server();
    const validation = await connector.validate();
    if (!validation.ok) {
      // Bind and TLS failures were classified by server() already; what validate adds is the settings' own DNs and URLs.
      const missing = validation.problems.some((p) => /does not exist/.test(p));
      return failed(missing ? 'not_found' : 'settings', validation.problems.join('; '), validation.problems);
    }
    accounts = await sample(connector, 'accounts', pageSize, shown);
    const groups = await sample(connector, 'entitlements', pageSize, shown);
    return { system, type, ok: true, server, accounts, groups, failure: null };
  } catch (error) {
    return failed(connectionFailureOf(error), (error as Error).message);
  }
}

/**
 * Opens one policy system the way every command does (settings, secret from
 * the store, CA file) and tests it. A system that cannot even be opened (a
 * setting refused, no secret stored, an unreadable CA file) is a failed
 * report too; a name policy does not know is `not_found`.
 * @example
 * const report = await testPolicySystem({ db: store.db, policy, actor: 'cli:ada' }, 'directory');
 */
export async function testPolicySystem(deps: PolicyConnectorsDeps, system: string, options: { readonly pageSize?: number } = {}): Promise<ConnectionReport> {
  const def = deps.policy.systems.find((s) => s.name === system);
  if (!def) {
    throw new JmlError('not_found', `no system ${system} in policy (systems: ${deps.policy.systems.map((s) => s.name).join(', ') || 'none'})`, { details: { system } });
  }
  let connectors: Awaited<ReturnType<typeof openPolicyConnectors>>;
  try {
    connectors = await openPolicyConnectors(deps, [system]);
  } catch (error) {
    const failure = { reason: connectionFailureOf(error), message: (error as Error).message, problems: [] };
    return { system, type: def.connector.type, ok: false, server: null, accounts: null, groups: null, failure };
  }
  try {
    return await testConnection(connectors.get(system)!, system, options);
  } finally {
    await connectors.close();
  }
}
