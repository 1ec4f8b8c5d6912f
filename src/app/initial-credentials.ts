/**
 * Initial credentials: the password jml sets when it creates or re-enables an
 * account under policy `credentials.on_enable: new_secret`, and the only way
 * it reaches a person.
 *
 * - issue: before the system is touched, a random password is sealed
 *   (AES-256-GCM under the master key, as connector secrets are) as `pending`.
 *   Every attempt at the same change gets the same one, so a retry after an
 *   unknown outcome never leaves the account holding a password nobody has.
 * - release: once the system holds it, it becomes `ready` and a task asks the
 *   person's manager (or, without an active manager, the system owner) to hand
 *   it over.
 * - reveal: that person sees it once; the ciphertext is destroyed as it is
 *   shown. The value never enters a plan, a task, an audit entry or a log.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Change, ChangeOutcome } from '../domain/change.ts';
import { JmlError } from '../domain/errors.ts';
import type { Connector, ChangeSecrets } from '../connectors/connector.ts';
import { createTaskStore } from '../connectors/manual/task-store.ts';
import { newAccountPassword, openSecret, redactSecrets, sealSecret, Secret, type Keyring, type SecretContext } from '../connectors/secrets/index.ts';
import { appendAudit, type AuditEntryInput } from '../store/audit-log.ts';
import type { Database } from '../store/database.ts';

type Db = Kysely<Database>;

export interface InitialCredentialsDeps {
  readonly db: Db;
  /** The master keyring; asked for only when a password is issued or revealed. */
  readonly keyring: () => Keyring;
  /** Identity key of the accountable owner of a system: hands the password over when the person has no active manager. */
  readonly systemOwner: (system: string) => string | null;
  readonly now?: () => Date;
  readonly actor?: string;
  /** How long the person delivering it has; 72 hours by default. */
  readonly slaHours?: number;
}

/** Who is asking to see a password: a console user and the identity they are. */
export interface Viewer {
  readonly actor: string;
  readonly identityKey: string | null;
}

/** What may be shown about an initial credential: everything but the value. */
export interface InitialCredentialInfo {
  readonly id: string;
  readonly system: string;
  readonly identityKey: string;
  readonly accountId: string | null;
  readonly state: 'pending' | 'ready' | 'revealed';
  readonly taskId: string | null;
  readonly revealedBy: string | null;
}

export interface InitialCredentials {
  /** The password for a change, sealed as pending first; the same one for every attempt at the change. */
  issue(change: Change): Promise<Secret>;
  /** The change's pending password is in the system: mark it ready and ask for its delivery. No-op without one. */
  release(change: Change, accountId: string | null): Promise<InitialCredentialInfo | null>;
  /** Shows a ready password once to the person its task names, and destroys it. */
  reveal(id: string, viewer: Viewer): Promise<Secret>;
  /** The initial credential a delivery task is about. */
  forTask(taskId: string): Promise<InitialCredentialInfo>;
  /** `reveal` for the credential a delivery task is about (the console's way in). */
  revealForTask(taskId: string, viewer: Viewer): Promise<Secret>;
}

/** The sealing context: binds a ciphertext to its row, so a value copied to another row fails to open. */
function context(row: { id: string; system: string; identity_key: string }): SecretContext {
  return { system: row.system, field: `initial_credential/${row.id}`, boundHost: `identity:${row.identity_key}` };
}

/**
 * Creates the initial-credentials service.
 * @example
 * const credentials = createInitialCredentials({ db, keyring: () => keyringFromEnv(), systemOwner: (s) => ownerOf(s) });
 * const secret = await credentials.reveal(id, { actor: 'alice', identityKey: 'E7' }); // once
 */
export function createInitialCredentials(deps: InitialCredentialsDeps): InitialCredentials {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const actor = deps.actor ?? 'system:jml';

  /** Each identity's delivering person: its active manager, else the system owner. Two reads for any number. */
  async function deliverers(trx: Kysely<Database>, rows: readonly { readonly identity_key: string; readonly system: string }[]): Promise<Map<string, string | null>> {
    const people = await trx.selectFrom('identities').select(['key', 'attributes']).where('key', 'in', [...new Set(rows.map((r) => r.identity_key))]).execute();
    const managerOf = new Map(people.map((p) => [p.key, (p.attributes as Record<string, unknown>).manager]));
    const managerKeys = [...new Set([...managerOf.values()].filter((m): m is string => typeof m === 'string' && m !== ''))];
    const active = managerKeys.length === 0 ? new Set<string>() : new Set((await trx.selectFrom('identities').select('key').where('key', 'in', managerKeys).where('status', '=', 'active').execute()).map((m) => m.key));
    return new Map(rows.map((r) => {
      const manager = managerOf.get(r.identity_key);
      return [`${r.system}\u0000${r.identity_key}`, typeof manager === 'string' && active.has(manager) ? manager : deps.systemOwner(r.system)];
    }));
  }

  /**
   * Releases the pending passwords of these confirmed changes in one
   * transaction: their delivery tasks opened with one insert, the credentials
   * marked ready with one update, their audit entries appended together.
   */
  async function releaseMany(requests: readonly { readonly change: Change; readonly accountId: string | null }[]): Promise<Map<string, InitialCredentialInfo>> {
    return db.transaction().execute(async (trx) => {
      const ids = [...new Set(requests.map((r) => r.change.id))];
      const rows = await trx.selectFrom('initial_credentials').select(['id', 'system', 'identity_key', 'change_id', 'account_id']).where('change_id', 'in', ids).where('state', '=', 'pending').forUpdate().execute();
      if (rows.length === 0) return new Map();
      const accountOf = new Map(requests.map((r) => [r.change.id, r.accountId]));
      const owners = await deliverers(trx, rows);
      const releases = rows.map((row) => {
        const account = accountOf.get(row.change_id) ?? row.account_id;
        const owner = owners.get(`${row.system}\u0000${row.identity_key}`) ?? null;
        const delivery: Change & { system: string } = {
          id: `deliver-${row.id}`, kind: 'manual_task', identityKey: row.identity_key, system: row.system,
          ...(account ? { accountId: account } : {}), credentialId: row.id,
          reason: `deliver the initial password jml set in ${row.system}`, dependsOn: [],
        };
        return { row, account, owner, delivery };
      });
      // openTasks is idempotent per change id, so a release repeated after a crash finds the same task.
      // Its task.opened entries go into the one append below, with the credentials' own.
      const audit: AuditEntryInput[] = [];
      const opened = await createTaskStore({ db: trx, now }).openTasks(releases.map(({ row, account, owner, delivery }) => ({
        change: delivery,
        options: {
          owner, slaHours: deps.slaHours ?? 72, needsConfirmation: false, actor,
          instruction: `Give ${row.identity_key} their new password for ${row.system}${account ? ` (${account})` : ''}. `
            + 'Reveal it once from this task in the console (Tasks); it is destroyed as it is shown. '
            + 'They must change it at first sign-in. Close the task once they have it.',
        },
      })), audit);
      const taskIds = opened.map((o) => o.task.id);
      await sql`
        UPDATE initial_credentials AS ic SET state = 'ready', task_id = u.task_id, account_id = u.account_id
        FROM unnest(${releases.map((r) => r.row.id)}::text[], ${taskIds}::text[], ${releases.map((r) => r.account)}::text[]) AS u(id, task_id, account_id)
        WHERE ic.id = u.id AND ic.state = 'pending'`.execute(trx);
      await appendAudit(trx, [...audit, ...releases.map(({ row, account, owner }, i) => ({
        actor, action: 'initial_credential.issued', subject: row.identity_key, trigger: `change:${row.change_id}`,
        details: { credential: row.id, system: row.system, account, task: taskIds[i], deliverer: owner },
      }))], now());
      return new Map(releases.map(({ row, account }, i): [string, InitialCredentialInfo] => [
        row.change_id,
        { id: row.id, system: row.system, identityKey: row.identity_key, accountId: account, state: 'ready', taskId: taskIds[i]!, revealedBy: null },
      ]));
    });
  }

  // Releases that arrive while one is being written go together in the next write (group commit): a
  // batch of confirmations takes the audit chain's lock once instead of once per password.
  const queueRelease = groupWrites<{ readonly change: Change; readonly accountId: string | null; readonly done: (info: InitialCredentialInfo | null) => void; readonly failed: (error: unknown) => void }>(async (group) => {
    try {
      const released = await releaseMany(group);
      for (const r of group) r.done(released.get(r.change.id) ?? null);
    } catch (error) {
      for (const r of group) r.failed(error);
    }
  });

  /**
   * Stores a password for each change in `group`, pending, with one insert
   * (the common case: a change's first attempt). A change that already has a
   * pending one (an earlier attempt, or a worker racing on it) gets that one
   * back: the system may hold it already.
   */
  async function storeIssued(group: readonly { readonly change: Change; readonly system: string; readonly done: (secret: Secret) => void; readonly failed: (error: unknown) => void }[]): Promise<void> {
    try {
      const keyring = deps.keyring();
      const waiting = new Map<string, typeof group>();
      for (const request of group) waiting.set(request.change.id, [...(waiting.get(request.change.id) ?? []), request]);
      const at = now().toISOString();
      const fresh = [...waiting.values()].map((requests) => {
        const { change, system } = requests[0]!;
        const row = { id: `ic-${randomUUID()}`, system, identity_key: change.identityKey };
        const password = newAccountPassword();
        return { change, row, password, sealed: sealSecret(keyring, context(row), password) };
      });
      const inserted = new Set((await db
        .insertInto('initial_credentials')
        .values(fresh.map(({ change, row, sealed }) => ({
          ...row, change_id: change.id, account_id: change.accountId ?? null, state: 'pending',
          key_id: sealed.keyId, nonce: sealed.nonce, ciphertext: sealed.ciphertext, tag: sealed.tag, created_at: at,
        })))
        .onConflict((oc) => oc.column('change_id').where('state', '=', 'pending').doNothing())
        .returning('change_id')
        .execute()).map((r) => r.change_id));
      const taken = fresh.filter((f) => !inserted.has(f.change.id)).map((f) => f.change.id);
      const existing = taken.length === 0 ? [] : await db.selectFrom('initial_credentials').selectAll().where('change_id', 'in', taken).where('state', '=', 'pending').execute();
      const pending = new Map(existing.map((row) => [row.change_id, row]));
      for (const { change, password } of fresh) {
        const requests = waiting.get(change.id)!;
        const row = pending.get(change.id);
        if (inserted.has(change.id)) for (const r of requests) r.done(new Secret(password));
        else if (row) {
          try {
            const stored = openSecret(keyring, context(row), { keyId: row.key_id!, nonce: row.nonce!, ciphertext: row.ciphertext!, tag: row.tag! });
            for (const r of requests) r.done(new Secret(stored));
          } catch (error) {
            for (const r of requests) r.failed(error);
          }
        } else {
          // Released between the two statements: what is pending now is a new password's turn.
          for (const r of requests) credentials.issue(r.change).then(r.done, r.failed);
        }
      }
    } catch (error) {
      for (const r of group) r.failed(error);
    }
  }

  // Passwords asked for while one insert is being written go together in the next (group commit): the
  // acts of a page start one after another as connector calls return, each in its own turn, and were
  // one insert and one commit each (13,600 of 20,000 creations on PostgreSQL).
  const queueIssue = groupWrites(storeIssued);

  const credentials: InitialCredentials = {
    issue(change) {
      if (!change.system) return Promise.reject(new JmlError('internal', `change ${change.id} has no system to set a password in`));
      const system = change.system;
      return new Promise((done, failed) => queueIssue({ change, system, done, failed }));
    },

    release(change, accountId) {
      return new Promise((done, failed) => queueRelease({ change, accountId, done, failed }));
    },

    async reveal(id, viewer) {
      return db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('initial_credentials').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
        if (!row) throw new JmlError('not_found', `no initial credential ${id}`, { details: { credential: id } });
        if (row.state === 'revealed') {
          throw new JmlError('conflict', `the initial password ${id} was already shown to ${row.revealed_by} and destroyed; ask the system owner to set a new one`, { details: { credential: id } });
        }
        if (row.state !== 'ready') throw new JmlError('conflict', `the initial password ${id} is not set in ${row.system} yet`, { details: { credential: id } });
        const task = row.task_id ? await trx.selectFrom('tasks').select('owner').where('id', '=', row.task_id).executeTakeFirst() : undefined;
        if (!task?.owner || task.owner !== viewer.identityKey) {
          throw new JmlError('forbidden', `only ${task?.owner ?? 'the person its task names'} may see the initial password ${id}`, { details: { credential: id } });
        }
        const secret = new Secret(openSecret(deps.keyring(), context(row), { keyId: row.key_id!, nonce: row.nonce!, ciphertext: row.ciphertext!, tag: row.tag! }));
        const at = now();
        await trx.updateTable('initial_credentials')
          .set({ state: 'revealed', key_id: null, nonce: null, ciphertext: null, tag: null, revealed_by: viewer.actor, revealed_at: at.toISOString() })
          .where('id', '=', id).execute();
        await appendAudit(trx, {
          actor: viewer.actor, action: 'initial_credential.revealed', subject: row.identity_key, trigger: `task:${row.task_id}`,
          details: { credential: id, system: row.system },
        }, at);
        return secret;
      });
    },

    async forTask(taskId) {
      const row = await db.selectFrom('initial_credentials').selectAll().where('task_id', '=', taskId).executeTakeFirst();
      if (!row) throw new JmlError('not_found', `task ${taskId} delivers no initial password`, { details: { task: taskId } });
      return { id: row.id, system: row.system, identityKey: row.identity_key, accountId: row.account_id, state: row.state, taskId: row.task_id, revealedBy: row.revealed_by };
    },

    async revealForTask(taskId, viewer) {
      return credentials.reveal((await credentials.forTask(taskId)).id, viewer);
    },
  };
  return credentials;
}

/**
 * Group commit: the items added in one turn are written together after it,
 * and those added while a write is under way together in the next one, so
 * at most one write is in flight. `write` answers its own items (it must not
 * throw).
 */
function groupWrites<T>(write: (group: T[]) => Promise<void>): (item: T) => void {
  let queued: T[] = [];
  let writing = false;
  const drain = async () => {
    try {
      while (queued.length > 0) {
        const group = queued;
        queued = [];
        await write(group);
      }
    } finally {
      writing = false;
    }
  };
  return (item) => {
    queued.push(item);
    if (!writing) {
      writing = true;
      queueMicrotask(() => void drain());
    }
  };
}

/**
 * Wraps a connector that sets passwords so that a change asking for a new one
 * gets it from `credentials`, and the password is released for delivery once
 * the system holds it: on the read-back that holds (the executor reads back
 * after every apply, and before acting after an attempt whose outcome was
 * unknown). Connectors that set no passwords are returned unchanged.
 */
export function withInitialCredentials(connector: Connector, credentials: InitialCredentials): Connector {
  if (!connector.apply || !connector.describe().credentials) return connector;
  const apply = connector.apply.bind(connector);
  const asks = (change: Change) => change.credential === 'new_secret' && (change.kind === 'create_account' || change.kind === 'enable_account');
  return {
    describe: () => connector.describe(),
    validate: () => connector.validate(),
    ...(connector.server ? { server: () => connector.server!() } : {}),
    list: (kind, cursor, pageSize) => connector.list(kind, cursor, pageSize),
    async readBack(change) {
      const result = await connector.readBack(change);
      if (result.holds && asks(change)) await credentials.release(change, result.accountId ?? change.accountId ?? null);
      return result;
    },
    // A page read back at once releases its passwords together: one write for the page (release groups them).
    ...(connector.readBackMany ? {
      async readBackMany(changes: readonly Change[]) {
        const results = await connector.readBackMany!(changes);
        await Promise.all(changes.map((change, i) => {
          const result = results[i];
          return result && !(result instanceof Error) && result.holds && asks(change) ? credentials.release(change, result.accountId ?? change.accountId ?? null) : null;
        }));
        return results;
      },
    } : {}),
    async apply(change: Change, secrets?: ChangeSecrets): Promise<ChangeOutcome> {
      if (!asks(change)) return apply(change, secrets);
      const newSecret = await credentials.issue(change);
      let outcome: ChangeOutcome;
      try {
        outcome = await apply(change, { ...secrets, newSecret });
      } catch (error) {
        // A server that echoes what it was sent must not put the password into a parked change's error.
        if (error instanceof Error) error.message = redactSecrets(error.message, [newSecret]);
        throw error;
      }
      if (outcome.status === 'failed') return { ...outcome, message: redactSecrets(outcome.message, [newSecret]) };
      // Released by the read-back that confirms it (every apply is followed by one), not here:
      // the password goes out for delivery only once the system is seen to hold the account.
      return outcome;
    },
    ...(connector.close ? { close: () => connector.close!() } : {}),
  };
}
