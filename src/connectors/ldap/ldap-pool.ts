/**
 * Bound, encrypted connections to one directory. A connection is opened,
 * upgraded (StartTLS) or opened over TLS (LDAPS), bound, and then used until
 * it drops; a dropped connection is never silently reopened (ldapts would
 * reopen it unencrypted and unbound), it is replaced by a fresh one.
 */
import { connect as netConnect, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { isIP } from 'node:net';
import { Client } from 'ldapts';
import type { LdapSettings } from './ldap-settings.ts';
import { ldapError } from './ldap-errors.ts';
import { createCallSlots } from '../call-slots.ts';

export interface LdapPool {
  /** Runs `fn` on one of the pooled connections (round robin; ldapts multiplexes requests), at most `maxInFlight` at once. */
  run<T>(operation: string, dn: string, fn: (client: Client) => Promise<T>): Promise<T>;
  /**
   * A connection of its own, e.g. to hold a paged search across calls, with
   * the socket it talks over (the TLS one after StartTLS). The caller unbinds it.
   */
  dedicated(): Promise<{ client: Client; socket: Duplex }>;
  /** Opens, binds as `dn` and closes a connection; throws the classified bind error. */
  tryBind(dn: string, password: string): Promise<void>;
  close(): Promise<void>;
}

function deadSocket(): Socket {
  const socket = new Socket();
  process.nextTick(() => socket.destroy(new Error('LDAP connection lost; not reconnecting unauthenticated')));
  return socket;
}

/** Creates the pool; no connection is opened until first use. */
export function createLdapPool(settings: LdapSettings): LdapPool {
  const url = new URL(settings.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const secure = url.protocol === 'ldaps:';
  const tlsOptions: ConnectionOptions = {
    ...(settings.caPem ? { ca: [settings.caPem] } : {}),
    ...(isIP(host) ? {} : { servername: host }),
    minVersion: 'TLSv1.2',
  };
  if (!secure && !settings.startTls && !settings.allowPlaintext) {
    throw new Error(`${settings.system}: plain ldap:// without StartTLS needs allowPlaintext: true`);
  }

  async function open(bindDn: string, password: string): Promise<{ client: Client; socket: Duplex }> {
    let opened = false;
    let socket: Duplex | undefined;
    // One socket per client: a second connect means ldapts is reconnecting behind our back.
    // noDelay: a request goes out at once rather than waiting, under Nagle, for the answer to the one before.
    const client = new Client({
      url: settings.url,
      timeout: settings.timeoutMs,
      connectTimeout: Math.min(settings.timeoutMs, 10_000),
      // ldapts speaks TLS from the first byte whenever tlsOptions is set, so only for ldaps://.
      ...(secure ? { tlsOptions } : {}),
      createConnection: ((port: number, h: string) => {
        if (opened) return deadSocket();
        opened = true;
        return (socket = netConnect({ port, host: h, noDelay: true }));
      }) as unknown as typeof netConnect,
      createSecureConnection: ((...args: unknown[]) => {
        if (args.length === 1) return (socket = tlsConnect({ ...(args[0] as ConnectionOptions), host, ...tlsOptions })); // StartTLS upgrade
        if (opened) return deadSocket();
        opened = true;
        return (socket = tlsConnect(args[0] as number, args[1] as string, args[2] as ConnectionOptions).setNoDelay(true));
      }) as unknown as typeof tlsConnect,
    });
    try {
      if (!secure && settings.startTls) await client.startTLS({ ...tlsOptions, host });
      await client.bind(bindDn, password);
      if (!socket) throw new Error('LDAP connection opened without a socket');
      return { client, socket };
    } catch (error) {
      await client.unbind().catch(() => undefined);
      throw ldapError(error, 'bind', bindDn, settings.system);
    }
  }

  const slots: (Promise<Client> | null)[] = Array.from({ length: settings.connections }, () => null);
  let next = 0;

  function slotClient(i: number): Promise<Client> {
    const current = slots[i];
    if (current) return current;
    const opening = open(settings.bindDn, settings.bindPassword.reveal()).then((o) => o.client);
    slots[i] = opening;
    opening.catch(() => { if (slots[i] === opening) slots[i] = null; });
    return opening;
  }

  /** One operation on the next pooled connection (round robin; ldapts pipelines requests on each). */
  async function runOn<T>(operation: string, dn: string, fn: (client: Client) => Promise<T>): Promise<T> {
    const i = next;
    next = (next + 1) % slots.length;
    let client: Client;
    try {
      client = await slotClient(i);
      if (!client.isConnected || !client.isBound) {
        slots[i] = null;
        client = await slotClient(i);
      }
    } catch (error) {
      throw ldapError(error, operation, dn, settings.system);
    }
    try {
      return await fn(client);
    } catch (error) {
      if (!client.isConnected) slots[i] = null;
      throw ldapError(error, operation, dn, settings.system);
    }
  }

  // At most maxInFlight operations sent and unanswered; the rest wait (a leaver's first, call-slots.ts).
  const inFlight = createCallSlots(settings.maxInFlight);

  return {
    run: (operation, dn, fn) => inFlight.run(() => runOn(operation, dn, fn)),
    dedicated: () => open(settings.bindDn, settings.bindPassword.reveal()),
    async tryBind(dn, password) {
      const { client } = await open(dn, password);
      await client.unbind().catch(() => undefined);
    },
    async close() {
      const open = slots.filter((s): s is Promise<Client> => s !== null);
      slots.fill(null);
      await Promise.all(open.map((p) => p.then((c) => c.unbind()).catch(() => undefined)));
    },
  };
}
