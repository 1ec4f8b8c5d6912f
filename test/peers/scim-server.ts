/**
 * Starts a real SCIM 2.0 service provider (SCIMMY behind Express) in a child
 * process on 127.0.0.1 and a free port. Clients talk to it only over HTTP; the
 * test reads the stored resources, the request log, and switches faults on
 * through `state` (IPC, not HTTP, so nothing but SCIM is exposed on the port).
 *
 * @example
 * const scim = await startScimServer({ token: 'secret' });
 * await scim.state.inject({ tooManyRequests: { count: 1, retryAfterSeconds: 1 } });
 * // … point a connector at scim.url with scim.token …
 * await scim.stop();
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { FaultPlan, RequestLogEntry } from './scim-server-process.ts';

export type { FaultPlan, RequestLogEntry };

/** A resource as the server stores it (SCIM attributes plus id and meta). */
export type StoredResource = Record<string, unknown> & { id: string };

export interface ScimServerState {
  users(): Promise<StoredResource[]>;
  groups(): Promise<StoredResource[]>;
  /** Every request answered so far, in order, with arrival time and status. */
  requests(): Promise<RequestLogEntry[]>;
  /** Switches faults on or off; fields left out keep their current setting. */
  inject(plan: FaultPlan): Promise<void>;
  /** Empties users, groups and the request log, and clears all faults. */
  reset(): Promise<void>;
}

export interface ScimServer {
  /** Base URL of the SCIM endpoints, e.g. http://127.0.0.1:41234/scim/v2 */
  readonly url: string;
  readonly token: string;
  /** The server speaks plain http on loopback: the settings line a policy system needs to reach it (`allow_insecure_http`). */
  readonly policySettings: string;
  readonly state: ScimServerState;
  stop(): Promise<void>;
}

const programPath = fileURLToPath(new URL('./scim-server-process.ts', import.meta.url));

/** Starts a fresh, empty SCIM server; `token` defaults to a random one. */
export async function startScimServer(options: { token?: string } = {}): Promise<ScimServer> {
  const token = options.token ?? randomBytes(18).toString('base64url');
  const child = fork(programPath, [], {
    env: { ...process.env, SCIM_TOKEN: token, NODE_OPTIONS: '' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: ['--no-warnings'],
  });
  const url = await waitForReady(child);
  let nextId = 1;
  const pending = new Map<number, (value: unknown) => void>();
  child.on('message', (message: { type: string; id?: number; value?: unknown }) => {
    if (message.type === 'reply' && message.id !== undefined) {
      pending.get(message.id)?.(message.value);
      pending.delete(message.id);
    }
  });
  const call = <T>(type: string, extra: object = {}): Promise<T> =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error('the SCIM server has stopped'));
      const id = nextId++;
      pending.set(id, resolve as (value: unknown) => void);
      child.send({ id, type, ...extra });
    });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    token,
    policySettings: `{ base_url: "${url}", allow_insecure_http: true }`,
    state: {
      users: () => call('users'),
      groups: () => call('groups'),
      requests: () => call('requests'),
      inject: (plan) => call('faults', { plan }),
      reset: () => call('reset'),
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

function waitForReady(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the SCIM server did not start within 15 s'));
    }, 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the SCIM server exited before it was ready (code ${code})`));
    });
    child.on('message', function onReady(message: { type: string; url?: string }) {
      if (message.type === 'ready' && message.url) {
        clearTimeout(timer);
        child.off('message', onReady);
        resolve(message.url);
      }
    });
  });
}
