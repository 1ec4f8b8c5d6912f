/**
 * The conformance suite every connector must pass (Hono's shared router suite,
 * applied to connectors). A connector's test file calls `describeConformance`
 * with a harness factory; each test gets a fresh harness and closes it.
 *
 * Identity keys are unique per run, so directories and SCIM servers shared
 * between runs can host the suite. Connectors whose changes become tasks for
 * people (manual) finish `apply` with `pending`; their harness carries the task
 * out, after which the change must read back as holding.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Change, ChangeKind, ChangeOutcome } from '../../domain/change.ts';
import { isJmlError } from '../../domain/errors.ts';
import type { Connector, ListKind, ListTypes } from '../connector.ts';

type AttributeValue = string | readonly string[] | null;
type PendingOutcome = Extract<ChangeOutcome, { status: 'pending' }>;

export interface ConformanceHarness {
  readonly connector: Connector;
  /** The system name the connector serves; changes carry it. */
  readonly system: string;
  /** Makes an entitlement exist (idempotent); returns its name as `list('entitlements')` shows it. */
  seedEntitlement(name: string): Promise<string>;
  /** Attributes this system accepts in a create_account for the identity. */
  accountAttributes(identityKey: string): Readonly<Record<string, AttributeValue>>;
  /** One attribute and value that update_attributes may set; listed accounts show it under the same name. */
  readonly attributeUpdate: Readonly<Record<string, string>>;
  /** Pending connectors: carries a task out with evidence, as the system owner would. */
  completePending?(outcome: PendingOutcome, change: Change): Promise<void>;
  /** Read-only connectors: creates an account outside jml so paging can be checked. */
  seedAccount?(identityKey: string): Promise<void>;
  /** The same connector type pointed at a system that cannot be reached. */
  unreachable?(): Promise<Connector>;
  close?(): Promise<void>;
}

export interface ConformanceProfile {
  /** How a successful apply ends: `done` (a system call) or `pending` (a task). Default: from describe().manual. */
  readonly completes?: 'done' | 'pending';
}

/** The entitlement names the suite seeds; a manual harness declares them in its settings. */
export const CONFORMANCE_ENTITLEMENTS = ['jml-conformance-a', 'jml-conformance-b', 'jml-conformance-c'] as const;
/** An entitlement the suite never seeds: granting it must fail terminally. */
export const CONFORMANCE_MISSING_ENTITLEMENT = 'jml-conformance-missing';

/**
 * Registers the conformance tests for one connector.
 * @example
 * describeConformance('fake', async () => {
 *   const connector = createFakeConnector({}, { system: 'fake' });
 *   return { connector, system: 'fake', seedEntitlement: async (n) => { seed(n); return n; }, … };
 * });
 */
export function describeConformance(name: string, makeHarness: () => Promise<ConformanceHarness>, profile: ConformanceProfile = {}): void {
  const run = randomBytes(3).toString('hex');
  let counter = 0;
  const newKey = () => `conf-${run}-${++counter}`;

  async function withHarness(body: (h: ConformanceHarness, kit: Kit) => Promise<void>): Promise<void> {
    const h = await makeHarness();
    try {
      await body(h, makeKit(h, profile));
    } finally {
      await h.close?.();
    }
  }

  const provisions = (kinds: readonly ChangeKind[]) => async (body: (h: ConformanceHarness, kit: Kit) => Promise<void>, t: { skip(m: string): void }) =>
    withHarness(async (h, kit) => {
      const missing = kinds.filter((k) => !h.connector.describe().provisions.includes(k));
      if (missing.length > 0) return t.skip(`does not provision ${missing.join(', ')}`);
      await body(h, kit);
    });

  describe(`connector conformance: ${name}`, () => {
    test('describe() names its type and offers provisioning exactly when apply exists', () =>
      withHarness(async (h) => {
        const d = h.connector.describe();
        assert.ok(d.type.length > 0);
        assert.equal(d.provisions.length > 0, typeof h.connector.apply === 'function');
        if (d.manual) assert.equal(typeof h.connector.apply, 'function', 'a manual connector turns changes into tasks, so it provisions');
        assert.equal(new Set(d.provisions).size, d.provisions.length);
      }));

    test('validate() accepts good settings without problems', () =>
      withHarness(async (h) => {
        assert.deepEqual(await h.connector.validate(), { ok: true, problems: [] });
      }));

    test('list() walks every account exactly once through small pages and ends with a null cursor', (t) =>
      withHarness(async (h, kit) => {
        const keys = [newKey(), newKey(), newKey(), newKey(), newKey()];
        if (h.connector.describe().provisions.includes('create_account')) {
          for (const key of keys) await kit.carryOut(kit.change('create_account', key));
        } else if (h.seedAccount) {
          for (const key of keys) await h.seedAccount(key);
        } else return t.skip('cannot create accounts');
        const ids = await Promise.all(keys.map(async (key) => (await h.connector.readBack(kit.change('create_account', key))).accountId));
        const walk = await walkAll(h.connector, 'accounts', 2);
        assert.ok(walk.pages >= 3, `5 accounts in pages of 2 take at least 3 pages, got ${walk.pages}`);
        const seen = walk.items.map((a) => a.accountId);
        assert.equal(new Set(seen).size, seen.length, 'no account is listed twice');
        for (const id of ids) assert.ok(id !== undefined && seen.includes(id), `account ${id} is listed`);
      }));

    test('list() pages entitlements and grants without repeats', () =>
      withHarness(async (h, kit) => {
        const names = [];
        for (const e of CONFORMANCE_ENTITLEMENTS) names.push(await h.seedEntitlement(e));
        const entitlements = await walkAll(h.connector, 'entitlements', 2);
        const listed = entitlements.items.map((e) => e.entitlement);
        assert.equal(new Set(listed).size, listed.length);
        for (const n of names) assert.ok(listed.includes(n), `entitlement ${n} is listed`);
        if (!kit.can('create_account') || !kit.can('add_grant')) return;
        const key = newKey();
        await kit.carryOut(kit.change('create_account', key));
        for (const n of names) await kit.carryOut(kit.change('add_grant', key, { entitlement: n }));
        const accountId = await kit.accountId(key);
        const grants = await walkAll(h.connector, 'grants', 2);
        const mine = grants.items.filter((g) => g.accountId === accountId).map((g) => g.entitlement).sort();
        assert.deepEqual(mine, [...names].sort());
        const all = grants.items.map((g) => `${g.accountId} ${g.entitlement}`);
        assert.equal(new Set(all).size, all.length, 'no grant is listed twice');
      }));

    test('a created account reads back as holding and appears in list()', (t) =>
      provisions(['create_account'])(async (h, kit) => {
        const key = newKey();
        const create = kit.change('create_account', key);
        assert.equal((await h.connector.readBack(create)).holds, false);
        await kit.carryOut(create);
        const back = await h.connector.readBack(create);
        assert.equal(back.holds, true);
        assert.ok(back.accountId, 'read-back of create_account names the account');
        const account = (await walkAll(h.connector, 'accounts', 50)).items.find((a) => a.accountId === back.accountId);
        assert.ok(account, 'the new account is listed');
        assert.equal(account.enabled, true);
        assert.equal(account.system, h.system);
      }, t));

    test('applying the same create_account twice leaves exactly one account', (t) =>
      provisions(['create_account'])(async (h, kit) => {
        const before = (await walkAll(h.connector, 'accounts', 50)).items.length;
        const create = kit.change('create_account', newKey());
        const first = await h.connector.apply!(create);
        const second = await h.connector.apply!(create);
        if (first.status === 'pending') {
          assert.equal(second.status, 'pending');
          assert.equal(second.status === 'pending' && second.taskId, first.taskId, 'the same change points at the same task');
          await h.completePending!(first, create);
        } else {
          assert.equal(first.status, 'done');
          assert.equal(second.status, 'done');
        }
        assert.equal((await h.connector.apply!(create)).status, 'done', 'once it holds, applying again is done');
        assert.equal((await walkAll(h.connector, 'accounts', 50)).items.length, before + 1);
      }, t));

    test('add_grant and remove_grant show in list() and read-back, also when the change names only the identity', (t) =>
      provisions(['create_account', 'add_grant', 'remove_grant'])(async (h, kit) => {
        const key = newKey();
        const group = await h.seedEntitlement(CONFORMANCE_ENTITLEMENTS[0]);
        await kit.carryOut(kit.change('create_account', key));
        const accountId = await kit.accountId(key);
        const add = kit.change('add_grant', key, { entitlement: group });
        assert.equal((await h.connector.readBack(add)).holds, false);
        await kit.carryOut(add);
        assert.equal((await h.connector.readBack(add)).holds, true);
        assert.ok((await kit.grantsOf(accountId)).includes(group));
        const remove = kit.change('remove_grant', key, { entitlement: group, accountId });
        assert.equal((await h.connector.readBack(remove)).holds, false);
        await kit.carryOut(remove);
        assert.equal((await h.connector.readBack(remove)).holds, true);
        assert.equal((await h.connector.readBack(add)).holds, false);
        assert.ok(!(await kit.grantsOf(accountId)).includes(group));
      }, t));

    test('disable_account and enable_account switch the account and read back', (t) =>
      provisions(['create_account', 'disable_account', 'enable_account'])(async (h, kit) => {
        const key = newKey();
        await kit.carryOut(kit.change('create_account', key));
        const accountId = await kit.accountId(key);
        const disable = kit.change('disable_account', key, { accountId });
        const enable = kit.change('enable_account', key, { accountId });
        assert.equal((await h.connector.readBack(disable)).holds, false);
        await kit.carryOut(disable);
        assert.equal((await h.connector.readBack(disable)).holds, true);
        assert.equal((await h.connector.readBack(enable)).holds, false);
        assert.equal((await kit.listed(accountId))?.enabled, false);
        await kit.carryOut(enable);
        assert.equal((await h.connector.readBack(enable)).holds, true);
        assert.equal((await kit.listed(accountId))?.enabled, true);
      }, t));

    test('update_attributes sets the attribute and reads back', (t) =>
      provisions(['create_account', 'update_attributes'])(async (h, kit) => {
        const key = newKey();
        await kit.carryOut(kit.change('create_account', key));
        const accountId = await kit.accountId(key);
        const update = kit.change('update_attributes', key, { accountId, attributes: h.attributeUpdate });
        assert.equal((await h.connector.readBack(update)).holds, false);
        await kit.carryOut(update);
        assert.equal((await h.connector.readBack(update)).holds, true);
        const account = await kit.listed(accountId);
        for (const [attribute, value] of Object.entries(h.attributeUpdate)) assert.equal(account?.attributes[attribute], value);
      }, t));

    test('delete_account removes the account from list() and read-back', (t) =>
      provisions(['create_account', 'delete_account'])(async (h, kit) => {
        const key = newKey();
        const create = kit.change('create_account', key);
        await kit.carryOut(create);
        const accountId = await kit.accountId(key);
        const del = kit.change('delete_account', key, { accountId });
        assert.equal((await h.connector.readBack(del)).holds, false);
        await kit.carryOut(del);
        assert.equal((await h.connector.readBack(del)).holds, true);
        assert.equal((await h.connector.readBack(create)).holds, false);
        assert.equal(await kit.listed(accountId), undefined);
      }, t));

    test('read-back of changes that do not hold says holds=false', () =>
      withHarness(async (h, kit) => {
        assert.equal((await h.connector.readBack(kit.change('create_account', newKey()))).holds, false);
        if (!kit.can('create_account')) return;
        const key = newKey();
        await kit.carryOut(kit.change('create_account', key));
        const group = await h.seedEntitlement(CONFORMANCE_ENTITLEMENTS[1]);
        assert.equal((await h.connector.readBack(kit.change('add_grant', key, { entitlement: group }))).holds, false);
        assert.equal((await h.connector.readBack(kit.change('delete_account', key))).holds, false);
      }));

    test('granting an entitlement the system does not have fails terminally', (t) =>
      provisions(['create_account', 'add_grant'])(async (h, kit) => {
        const key = newKey();
        await kit.carryOut(kit.change('create_account', key));
        const outcome = await h.connector.apply!(kit.change('add_grant', key, { entitlement: CONFORMANCE_MISSING_ENTITLEMENT }));
        assert.equal(outcome.status, 'failed');
        assert.equal(outcome.status === 'failed' && outcome.retryable, false);
      }, t));

    test('create_group makes a group whose name needs escaping, which lists, takes members and reads back', (t) =>
      provisions(['create_group'])(async (h, kit) => {
        if (h.connector.describe().manual) return t.skip('groups in a manual system are created by people, as tasks');
        const group = `jml-conf-${run}-${++counter} R&D, Europe+Sales`;
        const create = kit.change('create_group', newKey(), { entitlement: group, attributes: { description: 'Department R&D, Europe' } });
        assert.equal((await h.connector.readBack(create)).holds, false);
        await kit.carryOut(create);
        assert.equal((await h.connector.apply!(create)).status, 'done', 'creating an existing group again is done');
        const listed = (await walkAll(h.connector, 'entitlements', 50)).items.filter((e) => e.entitlement === group);
        assert.equal(listed.length, 1, 'the group is listed once under the name jml gave it');
        if (!kit.can('create_account') || !kit.can('add_grant')) return;
        const key = newKey();
        await kit.carryOut(kit.change('create_account', key));
        await kit.carryOut(kit.change('add_grant', key, { entitlement: group }));
        assert.ok((await kit.grantsOf(await kit.accountId(key))).includes(group));
      }, t));

    test('delete_group removes an empty group and refuses one that still has members', (t) =>
      provisions(['create_group', 'delete_group', 'create_account', 'add_grant', 'remove_grant'])(async (h, kit) => {
        if (h.connector.describe().manual) return t.skip('groups in a manual system are deleted by people, as tasks');
        const group = `jml-conf-${run}-${++counter} Sales+Ops`;
        const owner = newKey();
        await kit.carryOut(kit.change('create_group', owner, { entitlement: group }));
        const key = newKey();
        await kit.carryOut(kit.change('create_account', key));
        await kit.carryOut(kit.change('add_grant', key, { entitlement: group }));
        const del = kit.change('delete_group', owner, { entitlement: group });
        const refused = await h.connector.apply!(del);
        assert.equal(refused.status, 'failed', 'a group with a member is not deleted');
        assert.equal(refused.status === 'failed' && refused.retryable, false);
        assert.equal((await h.connector.readBack(del)).holds, false);
        await kit.carryOut(kit.change('remove_grant', key, { entitlement: group, accountId: await kit.accountId(key) }));
        await kit.carryOut(del);
        assert.equal((await h.connector.apply!(del)).status, 'done', 'deleting a deleted group again is done');
        assert.ok(!(await walkAll(h.connector, 'entitlements', 50)).items.some((e) => e.entitlement === group));
      }, t));

    test('an unreachable system is reported by validate() and fails retryably elsewhere', (t) =>
      withHarness(async (h, kit) => {
        if (!h.unreachable) return t.skip('the harness has no unreachable variant');
        const down = await h.unreachable();
        try {
          const v = await down.validate();
          assert.equal(v.ok, false);
          assert.ok(v.problems.length > 0);
          await assert.rejects(down.list('accounts', null, 10), (e) => isJmlError(e, 'connector') && e.retryable);
          const create = kit.change('create_account', newKey());
          await assert.rejects(down.readBack(create), (e) => isJmlError(e, 'connector') && e.retryable);
          if (down.apply) {
            const outcome = await down.apply(create).catch((e: unknown) => e);
            const retryable = isJmlError(outcome) ? outcome.retryable : (outcome as ChangeOutcome).status === 'failed' && (outcome as { retryable: boolean }).retryable;
            assert.equal(retryable, true, 'apply on an unreachable system is retryable');
          }
        } finally {
          await down.close?.();
        }
      }));
  });
}

interface Kit {
  can(kind: ChangeKind): boolean;
  change(kind: ChangeKind, identityKey: string, extra?: Partial<Change>): Change;
  /** Applies a change and, for pending connectors, completes its task; asserts the change then holds. */
  carryOut(change: Change): Promise<void>;
  accountId(identityKey: string): Promise<string>;
  listed(accountId: string): Promise<ListTypes['accounts'] | undefined>;
  grantsOf(accountId: string): Promise<string[]>;
}

function makeKit(h: ConformanceHarness, profile: ConformanceProfile): Kit {
  const completes = profile.completes ?? (h.connector.describe().manual ? 'pending' : 'done');
  const kit: Kit = {
    can: (kind) => h.connector.describe().provisions.includes(kind),
    change: (kind, identityKey, extra = {}) => ({
      id: `${kind}:${h.system}:${identityKey}:${extra.entitlement ?? ''}:${extra.attributes ? JSON.stringify(extra.attributes) : ''}`,
      kind,
      identityKey,
      system: h.system,
      reason: 'connector conformance',
      dependsOn: [],
      ...(kind === 'create_account' ? { attributes: h.accountAttributes(identityKey) } : {}),
      ...extra,
    }),
    carryOut: async (change) => {
      const outcome = await h.connector.apply!(change);
      if (completes === 'pending') {
        assert.equal(outcome.status, 'pending', `${change.kind} becomes a task`);
        assert.ok(outcome.status === 'pending' && outcome.taskId, 'a pending outcome names its task');
        await h.completePending!(outcome, change);
      } else {
        assert.equal(outcome.status, 'done', `${change.kind}: ${JSON.stringify(outcome)}`);
      }
      assert.equal((await h.connector.readBack(change)).holds, true, `${change.kind} holds after it was carried out`);
    },
    accountId: async (identityKey) => {
      const back = await h.connector.readBack(kit.change('create_account', identityKey));
      assert.ok(back.holds && back.accountId, `an account exists for ${identityKey}`);
      return back.accountId;
    },
    listed: async (accountId) => (await walkAll(h.connector, 'accounts', 50)).items.find((a) => a.accountId === accountId),
    grantsOf: async (accountId) => (await walkAll(h.connector, 'grants', 50)).items.filter((g) => g.accountId === accountId).map((g) => g.entitlement),
  };
  return kit;
}

/** Follows cursors to the end, checking the page contract on the way. */
export async function walkAll<K extends ListKind>(connector: Connector, kind: K, pageSize: number): Promise<{ items: ListTypes[K][]; pages: number }> {
  const items: ListTypes[K][] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { items: readonly ListTypes[K][]; nextCursor: string | null } = await connector.list(kind, cursor, pageSize);
    pages++;
    assert.ok(page.items.length <= pageSize, `a page holds at most pageSize items (${page.items.length} > ${pageSize})`);
    assert.ok(pages < 10_000, 'cursors end');
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return { items, pages };
}
