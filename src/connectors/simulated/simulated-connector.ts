/**
 * The simulated connector: behaves like the fake (idempotent apply,
 * correlation by identity key, classified errors) but its system lives in
 * jml's database, so `jml apply` in one process and `jml reconcile` or
 * `jml plan` in another see the same system. It is what the demo policy runs
 * on: no server to start, and state that survives between commands.
 */
import { z } from 'zod';
import type { Kysely } from 'kysely';
import type { Change, ChangeKind, ChangeOutcome } from '../../domain/change.ts';
import { JmlError } from '../../domain/errors.ts';
import type { Database } from '../../store/database.ts';
import type { Connector, ConnectorDescription, ListKind, ListTypes, Page, ReadBack, ValidationResult } from '../connector.ts';
import { FAKE_PROVISIONS } from '../fake/fake-connector.ts';
import {
  addSimulatedAccount,
  ensureSimulatedSystem,
  findSimulatedAccount,
  liveSessions,
  setLiveSessions,
  simulatedAttributesHold,
  simulatedGrantHeld,
  simulatedGroupExists,
  simulatedPage,
} from './simulated-system.ts';
import { readBackFromState } from '../state-read-back.ts';

export const simulatedSettingsSchema = z.object({
  /** Groups (entitlements) the system has; policy's entitlements of the system when opened from policy. */
  groups: z.array(z.string().min(1)).default([]),
  /** Simulates a system that cannot be reached: validate reports it, every other call fails retryably. */
  unreachable: z.boolean().default(false),
  /** Simulates a slow system: each read and change waits this long first (demos of progress, crash tests). */
  latencyMs: z.number().int().min(0).max(60_000).default(0),
});
export type SimulatedSettings = z.input<typeof simulatedSettingsSchema>;

export interface SimulatedConnectorDeps {
  readonly system: string;
  readonly db: Kysely<Database>;
  readonly now?: () => Date;
}

export interface SimulatedConnector extends Connector {
  apply(change: Change): Promise<ChangeOutcome>;
}

const cursorSchema = z.array(z.string()).min(1).max(2);

/**
 * Creates a simulated connector for one system.
 * @example
 * const wiki = createSimulatedConnector({ groups: ['staff'] }, { system: 'wiki', db: store.db });
 * await wiki.apply({ id: 'c1', kind: 'create_account', identityKey: 'E1', system: 'wiki', reason: 'joiner', dependsOn: [] });
 */
export function createSimulatedConnector(rawSettings: SimulatedSettings, deps: SimulatedConnectorDeps): SimulatedConnector {
  const settings = simulatedSettingsSchema.parse(rawSettings);
  const { system, db } = deps;
  const now = deps.now ?? (() => new Date());
  let ready: Promise<void> | null = null;

  async function enter(): Promise<void> {
    if (settings.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, settings.latencyMs));
    if (settings.unreachable) throw new JmlError('connector', `${system}: connection refused`, { retryable: true, details: { system, unreachable: true } });
    ready ??= ensureSimulatedSystem(db, system, settings.groups).catch((error: unknown) => {
      ready = null;
      throw error;
    });
    await ready;
  }

  async function readBack(change: Change): Promise<ReadBack> {
    await enter();
    const account = await findSimulatedAccount(db, system, change);
    return readBackFromState(
      change,
      {
        account: account ? { accountId: account.account_id, enabled: account.enabled } : undefined,
        attributesHold: (attributes) => account !== undefined && simulatedAttributesHold(account, attributes),
        grantHeld: (accountId, entitlement) => simulatedGrantHeld(db, system, accountId, entitlement),
        liveSessions: (accountId) => liveSessions(db, system, accountId),
        credential: (id) => db.selectFrom('sim_credentials').select(['status', 'rotations']).where('system', '=', system).where('credential_id', '=', id).executeTakeFirst(),
        groupExists: (entitlement) => simulatedGroupExists(db, system, entitlement),
      },
      'the simulated system',
    );
  }

  async function apply(change: Change): Promise<ChangeOutcome> {
    await enter();
    if (change.kind === 'create_account') {
      const { account, created } = await db.transaction().execute((trx) => addSimulatedAccount(trx, system, change.identityKey, change.attributes ?? {}, now()));
      return { status: 'done', accountId: account.account_id, ...(created ? {} : { detail: 'already existed' }) };
    }
    if (change.kind === 'revoke_credential' || change.kind === 'rotate_credential') return applyCredential(change);
    if (change.kind === 'create_group' || change.kind === 'delete_group') return applyGroup(change);
    const account = await findSimulatedAccount(db, system, change);
    if (!account) {
      const harmless: readonly ChangeKind[] = ['delete_account', 'disable_account', 'remove_grant', 'revoke_sessions'];
      return harmless.includes(change.kind) ? { status: 'done', detail: 'no account' } : terminal(`no account for ${change.identityKey} in ${system}`);
    }
    const id = { system, account_id: account.account_id };
    switch (change.kind) {
      case 'enable_account':
      case 'disable_account':
        await db.updateTable('sim_accounts').set({ enabled: change.kind === 'enable_account' }).where('system', '=', system).where('account_id', '=', id.account_id).execute();
        break;
      case 'update_attributes': {
        const attributes = { ...account.attributes };
        for (const [key, value] of Object.entries(change.attributes ?? {})) {
          if (value === null) delete attributes[key];
          else attributes[key] = value;
        }
        const userName = attributes.user_name;
        await db
          .updateTable('sim_accounts')
          .set({ attributes: JSON.stringify(attributes), ...(typeof userName === 'string' && userName !== '' ? { name: userName } : {}) })
          .where('system', '=', system)
          .where('account_id', '=', id.account_id)
          .execute();
        break;
      }
      case 'add_grant':
        if (!(await simulatedGroupExists(db, system, change.entitlement ?? ''))) return terminal(`no entitlement ${change.entitlement} in ${system}`);
        await db.insertInto('sim_grants').values({ ...id, entitlement: change.entitlement! }).onConflict((oc) => oc.doNothing()).execute();
        break;
      case 'remove_grant':
        await db.deleteFrom('sim_grants').where('system', '=', system).where('account_id', '=', id.account_id).where('entitlement', '=', change.entitlement ?? '').execute();
        break;
      case 'delete_account':
        await db.deleteFrom('sim_accounts').where('system', '=', system).where('account_id', '=', id.account_id).execute();
        break;
      case 'revoke_sessions':
        await setLiveSessions(db, system, account.account_id, 0);
        break;
      default:
        return terminal(`the simulated system does not carry out ${change.kind}`);
    }
    return { status: 'done', accountId: account.account_id };
  }

  /** Groups are rows. Only an empty group is deleted: jml never takes access away by deleting a group. */
  async function applyGroup(change: Change): Promise<ChangeOutcome> {
    const name = change.entitlement ?? '';
    if (!name) return terminal(`${change.kind} ${change.id} names no group`);
    if (change.kind === 'delete_group') {
      const member = await db.selectFrom('sim_grants').select('account_id').where('system', '=', system).where('entitlement', '=', name).limit(1).executeTakeFirst();
      if (member) return terminal(`group ${name} in ${system} still has members`);
      await db.deleteFrom('sim_groups').where('system', '=', system).where('entitlement', '=', name).execute();
      return { status: 'done' };
    }
    const description = change.attributes?.description;
    await db
      .insertInto('sim_groups')
      .values({ system, entitlement: name, display_name: typeof description === 'string' ? description : name })
      .onConflict((oc) => oc.columns(['system', 'entitlement']).doNothing())
      .execute();
    return { status: 'done' };
  }

  /** A credential jml's inventory names is one the simulated system holds: rotating an unknown one registers it. */
  async function applyCredential(change: Change): Promise<ChangeOutcome> {
    const credentialId = change.credentialId;
    if (!credentialId) return terminal(`${change.kind} needs a credential id`);
    if (change.kind === 'revoke_credential') {
      await db.updateTable('sim_credentials').set({ status: 'revoked' }).where('system', '=', system).where('credential_id', '=', credentialId).execute();
      return { status: 'done' };
    }
    await db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('sim_credentials').select('rotations').where('system', '=', system).where('credential_id', '=', credentialId).forUpdate().executeTakeFirst();
      const rotations = row ? row.rotations : [];
      if (rotations.includes(change.id)) return;
      const next = JSON.stringify([...rotations, change.id]);
      await trx
        .insertInto('sim_credentials')
        .values({ system, credential_id: credentialId, account_id: null, status: 'active', rotations: next })
        .onConflict((oc) => oc.columns(['system', 'credential_id']).doUpdateSet({ rotations: next }))
        .execute();
    });
    return { status: 'done' };
  }

  return {
    describe: (): ConnectorDescription => ({ type: 'simulated', provisions: FAKE_PROVISIONS, manual: false }),

    async validate(): Promise<ValidationResult> {
      if (settings.unreachable) return { ok: false, problems: [`${system}: connection refused`] };
      await enter();
      return { ok: true, problems: [] };
    },

    async list<K extends ListKind>(kind: K, cursor: string | null, pageSize = 100): Promise<Page<ListTypes[K]>> {
      await enter();
      let after: string[] | null = null;
      if (cursor !== null) {
        const parsed = cursorSchema.safeParse((() => { try { return JSON.parse(cursor); } catch { return null; } })());
        if (!parsed.success) throw new JmlError('connector', `${system}: invalid cursor ${JSON.stringify(cursor)}`, { details: { system } });
        after = parsed.data;
      }
      const size = Math.max(1, pageSize);
      const rows = await simulatedPage(db, system, kind, after, size + 1);
      const items = rows.slice(0, size) as ListTypes[K][];
      const last = items.at(-1) as { accountId?: string; entitlement?: string } | undefined;
      const more = rows.length > size && last !== undefined;
      const key = kind === 'accounts' ? [last?.accountId ?? ''] : kind === 'entitlements' ? [last?.entitlement ?? ''] : [last?.accountId ?? '', last?.entitlement ?? ''];
      return { items, nextCursor: more ? JSON.stringify(key) : null };
    },

    readBack,
    apply,
  };
}

function terminal(message: string): ChangeOutcome {
  return { status: 'failed', retryable: false, message };
}
