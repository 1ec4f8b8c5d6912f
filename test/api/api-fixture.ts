/**
 * A small organisation behind a real API server (Fastify inject, real store):
 * ceo → mgr-a → alice, ceo → mgr-b → bob; `own-1` owns the system `vpn`.
 * Console users for every role, signed in, with their CSRF tokens.
 */
import type { Store } from '../../src/store/open-store.ts';
import { buildApiServer } from '../../src/api/api-server.ts';
import { createApiMetrics } from '../../src/api/api-metrics.ts';
import type { ApiDeps, ApprovalItem, ApprovalPort } from '../../src/api/api-deps.ts';
import { createUser } from '../../src/api/auth/user-store.ts';
import { DEFAULT_STEP_UP_MS, type MfaPolicy } from '../../src/api/auth/mfa-policy.ts';
import { createKeyring, masterKey } from '../../src/connectors/secrets/master-keyring.ts';
import { randomBytes } from 'node:crypto';
import { JmlError } from '../../src/domain/errors.ts';

export const ROLE_USERS = ['admin', 'security', 'hr', 'manager', 'owner', 'user'] as const;
export type RoleUser = (typeof ROLE_USERS)[number];
export const PASSWORD = 'correct horse battery staple';

/**
 * A policy that requires no second factor: for tests about what each role may do, whose users sign in with
 * a password alone. Multi-factor sign-in has its own tests (mfa-sign-in.test.ts), which use the default.
 */
export const PASSWORD_ONLY: MfaPolicy = { requiredRoles: [], stepUpMs: DEFAULT_STEP_UP_MS };

/**
 * A stateful in-memory approvals port: requests wait until someone decides.
 * Like the app, it names the approvers when a request is filed (the
 * beneficiary's manager, then the system owner) and refuses self-decisions.
 */
export function createMemoryApprovals(now: () => Date): ApprovalPort & { items: Map<string, ApprovalItem & { state: string }> } {
  const items = new Map<string, ApprovalItem & { state: string }>();
  const managers: Record<string, string> = { alice: 'mgr-a', bob: 'mgr-b', 'mgr-a': 'ceo', 'mgr-b': 'ceo', 'own-1': 'ceo' };
  let n = 0;
  return {
    items,
    pending: async (approver) => [...items.values()].filter((i) => i.state === 'pending' && (approver === undefined || i.approvers.includes(approver))),
    get: async (id) => {
      const item = items.get(id);
      if (!item) throw new JmlError('not_found', `no approval ${id}`);
      return item;
    },
    decide: async (id, decision, approver) => {
      const item = items.get(id)!;
      if (approver === item.requestedBy || approver === item.identityKey) throw new JmlError('forbidden', 'nobody approves their own request or one for themselves');
      if (item.state !== 'pending') throw new JmlError('conflict', `request ${id} is already ${item.state}`);
      if (!item.approvers.includes(approver)) throw new JmlError('forbidden', `${approver} is not an approver of ${id}`);
      items.set(id, { ...item, state: decision === 'approve' ? 'approved' : 'rejected' });
    },
    requestAccess: async (r) => {
      n += 1;
      const approvers = [managers[r.identityKey], r.system === 'vpn' ? 'own-1' : undefined].filter((k): k is string => k !== undefined && k !== r.requester && k !== r.identityKey);
      const item = { id: `req-${n}`, kind: 'access_request' as const, identityKey: r.identityKey, summary: `${r.system}:${r.entitlement}`, requestedBy: r.requester, requestedAt: now().toISOString(), system: r.system, stage: 'manager', approvers, state: 'pending' };
      items.set(item.id, item);
      return item;
    },
    requestsOf: async (key) => [...items.values()].filter((i) => i.identityKey === key),
  };
}

export async function seedOrganisation(store: Store): Promise<void> {
  const person = (key: string, manager: string | null, extra: Record<string, string> = {}) => ({
    key,
    kind: 'employee',
    status: 'active',
    source: 'hr',
    attributes: JSON.stringify({ first_name: key, last_name: 'Test', email: `${key}@example.test`, department: 'eng', manager, ...extra }),
  });
  await store.db.insertInto('identities').values([person('ceo', null), person('mgr-a', 'ceo'), person('mgr-b', 'ceo'), person('alice', 'mgr-a'), person('bob', 'mgr-b'), person('own-1', 'ceo')]).execute();
}

export async function startApi(store: Store, overrides: Partial<ApiDeps> = {}) {
  const now = () => new Date();
  const approvals = createMemoryApprovals(now);
  const deps: ApiDeps = {
    db: store.db,
    backend: store.backend,
    now,
    systemsOwnedBy: (key) => (key === 'own-1' ? ['vpn'] : []),
    services: { approvals },
    metrics: createApiMetrics(),
    webDir: null,
    oidc: null,
    signInLimit: 1000,
    mfa: PASSWORD_ONLY,
    keyring: createKeyring(masterKey(randomBytes(32))),
    relyingParty: () => ({ rpId: 'localhost', origins: ['http://localhost'], name: 'jml test' }),
    ...overrides,
  };
  const app = await buildApiServer(deps);
  const users: Record<RoleUser, { username: string; identityKey: string | null; roles: ('admin' | 'security' | 'hr')[] }> = {
    admin: { username: 'root', identityKey: null, roles: ['admin'] },
    security: { username: 'sec', identityKey: null, roles: ['security'] },
    hr: { username: 'hr', identityKey: null, roles: ['hr'] },
    manager: { username: 'mgr-a', identityKey: 'mgr-a', roles: [] },
    owner: { username: 'own-1', identityKey: 'own-1', roles: [] },
    user: { username: 'alice', identityKey: 'alice', roles: [] },
  };
  const sessions = {} as Record<RoleUser, { cookie: string; csrf: string }>;
  for (const role of ROLE_USERS) {
    const u = users[role];
    await createUser(store.db, { username: u.username, password: PASSWORD, identityKey: u.identityKey, roles: u.roles }, 'test');
    sessions[role] = await signIn(app, u.username);
  }
  return { app, deps, approvals, sessions };
}

export async function signIn(app: Awaited<ReturnType<typeof buildApiServer>>, username: string, password = PASSWORD): Promise<{ cookie: string; csrf: string }> {
  const res = await app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { username, password } });
  if (res.statusCode !== 200) throw new Error(`sign-in of ${username} failed: ${res.statusCode} ${res.body}`);
  const cookie = res.cookies.find((c) => c.name === 'jml_session')!;
  return { cookie: `jml_session=${cookie.value}`, csrf: (res.json() as { csrfToken: string }).csrfToken };
}
