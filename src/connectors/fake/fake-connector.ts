/**
 * A stateful fake connector over an in-memory system. It behaves like a real
 * provisioning connector (idempotent apply, correlation by identity key,
 * classified errors) and counts every call so tests can assert "no duplicate
 * create". Deterministic; latency is optional and goes through an injected sleep.
 */
import { z } from 'zod';
import { SYSTEM_CHANGE_KINDS, type Change, type ChangeKind, type ChangeOutcome } from '../../domain/change.ts';
import { JmlError } from '../../domain/errors.ts';
import type { Connector, ConnectorDescription, ListKind, ListTypes, Page, ReadBack, ValidationResult } from '../connector.ts';
import {
  accountView,
  addAccount,
  attributesHold,
  createFakeSystem,
  findAccount,
  grantViews,
  recordEffect,
  type FakeSystem,
} from './fake-system.ts';
import { readBackFromState } from '../state-read-back.ts';

/** The fake carries out every change kind that acts on a system. */
export const FAKE_PROVISIONS: readonly ChangeKind[] = SYSTEM_CHANGE_KINDS;

export const fakeSettingsSchema = z.object({
  /** Entitlements (groups) the system starts with. */
  groups: z.array(z.string().min(1)).default([]),
  /** Simulated latency of every call, in milliseconds. */
  latencyMs: z.number().int().min(0).default(0),
  /** Simulates a system that cannot be reached: validate reports it, every other call fails retryably. */
  unreachable: z.boolean().default(false),
});
export type FakeSettings = z.input<typeof fakeSettingsSchema>;

export interface FakeConnectorDeps {
  readonly system: string;
  /** Share a system between connectors (e.g. the one a chaos connector wraps); a new one otherwise. */
  readonly state?: FakeSystem;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface FakeConnector extends Connector {
  readonly state: FakeSystem;
  /** Calls received, by method, and by `apply:<kind>`. */
  readonly calls: Record<string, number>;
  apply(change: Change): Promise<ChangeOutcome>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Creates a fake connector.
 * @example
 * const fake = createFakeConnector({ groups: ['staff'] }, { system: 'wiki' });
 * await fake.apply({ id: 'c1', kind: 'create_account', identityKey: 'E1', system: 'wiki', reason: 'joiner', dependsOn: [] });
 * fake.state.effects.create_account; // 1
 */
export function createFakeConnector(rawSettings: FakeSettings, deps: FakeConnectorDeps): FakeConnector {
  const settings = fakeSettingsSchema.parse(rawSettings);
  const state = deps.state ?? createFakeSystem(deps.system, settings.groups);
  const sleep = deps.sleep ?? realSleep;
  const calls: Record<string, number> = {};

  async function enter(method: string): Promise<void> {
    calls[method] = (calls[method] ?? 0) + 1;
    if (settings.latencyMs > 0) await sleep(settings.latencyMs);
    if (settings.unreachable && method !== 'validate') {
      throw new JmlError('connector', `${state.name}: connection refused`, { retryable: true, details: { system: state.name, unreachable: true } });
    }
  }

  return {
    state,
    calls,
    describe(): ConnectorDescription {
      calls.describe = (calls.describe ?? 0) + 1;
      return { type: 'fake', provisions: FAKE_PROVISIONS, manual: false };
    },

    async validate(): Promise<ValidationResult> {
      await enter('validate');
      return settings.unreachable ? { ok: false, problems: [`${state.name}: connection refused`] } : { ok: true, problems: [] };
    },

    async list<K extends ListKind>(kind: K, cursor: string | null, pageSize = 100): Promise<Page<ListTypes[K]>> {
      await enter('list');
      const all = listAll(state, kind) as ListTypes[K][];
      const offset = cursor === null ? 0 : Number(cursor);
      if (!Number.isInteger(offset) || offset < 0 || offset > all.length) {
        throw new JmlError('connector', `${state.name}: invalid cursor ${JSON.stringify(cursor)}`, { details: { system: state.name } });
      }
      const end = offset + Math.max(1, pageSize);
      return { items: all.slice(offset, end), nextCursor: end < all.length ? String(end) : null };
    },

    async readBack(change: Change): Promise<ReadBack> {
      await enter('readBack');
      return readBackIn(state, change);
    },

    async apply(change: Change): Promise<ChangeOutcome> {
      await enter('apply');
      calls[`apply:${change.kind}`] = (calls[`apply:${change.kind}`] ?? 0) + 1;
      return applyIn(state, change);
    },
  };
}

function listAll(state: FakeSystem, kind: ListKind): unknown[] {
  if (kind === 'accounts') return [...state.accounts.values()].map((a) => accountView(state, a));
  if (kind === 'grants') return grantViews(state);
  return [...state.groups].map(([entitlement, g]) => ({ system: state.name, entitlement, displayName: g.displayName, type: 'group' }));
}

function readBackIn(state: FakeSystem, change: Change): Promise<ReadBack> {
  const account = findAccount(state, change);
  return readBackFromState(
    change,
    {
      account,
      attributesHold: (attributes) => account !== undefined && attributesHold(account, attributes),
      grantHeld: (accountId, entitlement) => state.grants.get(accountId)?.has(entitlement) === true,
      liveSessions: (accountId) => state.sessions.get(accountId) ?? 0,
      credential: (id) => state.credentials.get(id),
      groupExists: (entitlement) => state.groups.has(entitlement),
    },
    'the fake',
  );
}

function terminal(message: string): ChangeOutcome {
  return { status: 'failed', retryable: false, message };
}

function applyIn(state: FakeSystem, change: Change): ChangeOutcome {
  if (change.kind === 'create_account') {
    const existing = findAccount(state, { identityKey: change.identityKey });
    if (existing) return { status: 'done', accountId: existing.accountId, detail: 'already existed' };
    recordEffect(state, change.kind);
    return { status: 'done', accountId: addAccount(state, change.identityKey, change.attributes ?? {}).accountId };
  }
  if (change.kind === 'create_group' || change.kind === 'delete_group') {
    const name = change.entitlement ?? '';
    if (!name) return terminal(`${change.kind} ${change.id} names no group`);
    const exists = state.groups.has(name);
    if (exists === (change.kind === 'create_group')) return { status: 'done', detail: exists ? 'group already exists' : 'group already absent' };
    if (change.kind === 'create_group') {
      const description = change.attributes?.description;
      state.groups.set(name, { displayName: typeof description === 'string' ? description : name });
    } else {
      if ([...state.grants.values()].some((held) => held.has(name))) return terminal(`group ${name} in ${state.name} still has members`);
      state.groups.delete(name);
    }
    recordEffect(state, change.kind);
    return { status: 'done' };
  }
  if (change.kind === 'revoke_credential' || change.kind === 'rotate_credential') {
    const credential = state.credentials.get(change.credentialId ?? '');
    if (!credential) return change.kind === 'revoke_credential' ? { status: 'done' } : terminal(`no credential ${change.credentialId}`);
    recordEffect(state, change.kind);
    if (change.kind === 'revoke_credential') credential.status = 'revoked';
    else if (!credential.rotations.includes(change.id)) credential.rotations.push(change.id);
    return { status: 'done' };
  }
  const account = findAccount(state, change);
  if (!account) {
    const harmless: readonly ChangeKind[] = ['delete_account', 'disable_account', 'remove_grant', 'revoke_sessions'];
    return harmless.includes(change.kind) ? { status: 'done', detail: 'no account' } : terminal(`no account for ${change.identityKey} in ${state.name}`);
  }
  const done: ChangeOutcome = { status: 'done', accountId: account.accountId };
  const held = state.grants.get(account.accountId)!;
  switch (change.kind) {
    case 'enable_account':
    case 'disable_account':
      account.enabled = change.kind === 'enable_account';
      break;
    case 'update_attributes':
      for (const [key, value] of Object.entries(change.attributes ?? {})) {
        if (value === null) delete account.attributes[key];
        else account.attributes[key] = value;
      }
      break;
    case 'add_grant':
      if (!state.groups.has(change.entitlement ?? '')) return terminal(`no entitlement ${change.entitlement} in ${state.name}`);
      held.add(change.entitlement!);
      break;
    case 'remove_grant':
      held.delete(change.entitlement ?? '');
      break;
    case 'delete_account':
      state.accounts.delete(account.accountId);
      state.grants.delete(account.accountId);
      state.sessions.delete(account.accountId);
      break;
    case 'revoke_sessions':
      state.sessions.set(account.accountId, 0);
      break;
    default:
      return terminal(`the fake does not carry out ${change.kind}`);
  }
  recordEffect(state, change.kind);
  return done;
}
