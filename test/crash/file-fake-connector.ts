/**
 * A fake connector whose system lives in a JSON file, so it outlives the
 * worker process that called it: what a killed worker did is still there
 * for the next one to read back. Several processes share it under a lock
 * file. `hangAfterApply` makes apply take effect, write a marker, and never
 * return: the moment a crash test kills the worker.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import lockfile from 'proper-lockfile';
import type { Change, ChangeOutcome } from '../../src/domain/change.ts';
import type { Connector, ReadBack } from '../../src/connectors/connector.ts';

export interface FileSystemState {
  accounts: Record<string, { accountId: string; enabled: boolean; grants: string[] }>;
  /** Effects carried out, by kind: "no duplicate" is asserted on these. */
  effects: Record<string, number>;
  nextAccount: number;
}

export function readFileSystem(path: string): FileSystemState {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as FileSystemState) : { accounts: {}, effects: {}, nextAccount: 1 };
}

function writeFileSystem(path: string, state: FileSystemState): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(state));
  renameSync(`${path}.tmp`, path);
}

async function locked<T>(path: string, fn: (state: FileSystemState) => T): Promise<T> {
  if (!existsSync(path)) writeFileSystem(path, readFileSystem(path));
  const release = await lockfile.lock(path, { retries: { retries: 200, minTimeout: 2, maxTimeout: 20 }, stale: 5_000 });
  try {
    return fn(readFileSystem(path));
  } finally {
    await release();
  }
}

export interface FileFakeOptions {
  readonly path: string;
  readonly latencyMs?: number;
  /** A change id: apply it, write `${path}.did-${id}`, then hang until killed. */
  readonly hangAfterApply?: string;
}

export function createFileFakeConnector(options: FileFakeOptions): Connector {
  const wait = () => (options.latencyMs ? new Promise((r) => setTimeout(r, options.latencyMs)) : Promise.resolve());
  const holds = (state: FileSystemState, change: Change): ReadBack => {
    const account = state.accounts[change.identityKey];
    const base = account ? { accountId: account.accountId } : {};
    switch (change.kind) {
      case 'create_account':
        return { holds: account !== undefined, ...base };
      case 'disable_account':
        return { holds: !account || !account.enabled, ...base };
      case 'add_grant':
        return { holds: account?.grants.includes(change.entitlement ?? '') === true, ...base };
      case 'remove_grant':
        return { holds: !account?.grants.includes(change.entitlement ?? ''), ...base };
      default:
        return { holds: false, detail: `file fake does not do ${change.kind}` };
    }
  };
  return {
    describe: () => ({ type: 'file-fake', provisions: ['create_account', 'disable_account', 'add_grant', 'remove_grant'], manual: false }),
    validate: async () => ({ ok: true, problems: [] }),
    list: async () => ({ items: [], nextCursor: null }),
    readBack: async (change) => {
      await wait();
      return locked(options.path, (state) => holds(state, change));
    },
    apply: async (change): Promise<ChangeOutcome> => {
      await wait();
      const outcome = await locked(options.path, (state): ChangeOutcome => {
        if (holds(state, change).holds) return { status: 'done' };
        const account = state.accounts[change.identityKey];
        if (change.kind === 'create_account') {
          state.accounts[change.identityKey] = { accountId: `acct-${state.nextAccount++}`, enabled: true, grants: [] };
        } else if (!account) {
          return { status: 'failed', retryable: false, message: `no account for ${change.identityKey}` };
        } else if (change.kind === 'disable_account') account.enabled = false;
        else if (change.kind === 'add_grant') account.grants.push(change.entitlement!);
        else if (change.kind === 'remove_grant') account.grants = account.grants.filter((g) => g !== change.entitlement);
        state.effects[change.kind] = (state.effects[change.kind] ?? 0) + 1;
        writeFileSystem(options.path, state);
        return { status: 'done', accountId: state.accounts[change.identityKey]!.accountId };
      });
      if (options.hangAfterApply === change.id) {
        writeFileSync(`${options.path}.did-${change.id}`, String(process.pid));
        await new Promise(() => undefined);
      }
      return outcome;
    },
  };
}
