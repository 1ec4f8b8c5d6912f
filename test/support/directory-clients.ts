/**
 * A directory's own view, for tests that check what jml did without asking
 * jml: an administrator's ldapts client, and whether a simple bind with a
 * given password succeeds (over LDAPS with the harness's CA).
 */
import { Client } from 'ldapts';

/** A client bound as `dn`; the caller unbinds it. */
export async function adminClient(url: string, ca: string, dn: string, password: string): Promise<Client> {
  const client = new Client({ url, tlsOptions: { ca: [ca] } });
  await client.bind(dn, password);
  return client;
}

/** Whether the directory accepts `password` for `dn` (any bind error counts as refused). */
export async function canBind(url: string, ca: string, dn: string, password: string): Promise<boolean> {
  const client = new Client({ url, tlsOptions: { ca: [ca] } });
  try {
    await client.bind(dn, password);
    return true;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** Runs `fn` with a client bound as the peer's administrator, unbinding it afterwards. */
export async function asAdmin<T>(peer: { readonly ldapsUrl: string; readonly caPem: string; readonly bindDn: string; readonly password: string }, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await adminClient(peer.ldapsUrl, peer.caPem, peer.bindDn, peer.password);
  try {
    return await fn(client);
  } finally {
    await client.unbind();
  }
}

/**
 * Counts the calls the code under test makes to `method` of every ldapts client until `stop`,
 * which puts the method back: per the key `keyOf` gives a call's arguments; a call it gives
 * null for is not counted.
 * @example const modifies = countClientCalls('modify', (dn) => String(dn)); …; modifies.stop().get(groupDn)
 */
export function countClientCalls<M extends 'search' | 'modify'>(method: M, keyOf: (...args: Parameters<Client[M]>) => string | null = () => ''): { stop(): Map<string, number> } {
  const original = Client.prototype[method] as (...args: Parameters<Client[M]>) => ReturnType<Client[M]>;
  const counts = new Map<string, number>();
  (Client.prototype[method] as unknown) = function (this: Client, ...args: Parameters<Client[M]>) {
    const key = keyOf(...args);
    if (key !== null) counts.set(key, (counts.get(key) ?? 0) + 1);
    return original.apply(this, args);
  };
  return {
    stop: () => {
      (Client.prototype[method] as unknown) = original;
      return counts;
    },
  };
}
