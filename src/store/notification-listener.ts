/**
 * LISTEN on a PostgreSQL channel over a connection of its own (a pooled one
 * would be handed to other queries, and the subscription with it). The
 * connection is re-opened after a drop, with a capped backoff, and
 * `onReconnect` is called each time it is back, because notifications sent
 * while it was down are lost: the caller looks again instead.
 *
 * A notification is only ever a hint to look sooner; whoever listens keeps a
 * slower poll of its own, so a lost notification costs latency, never work.
 */
import pg from 'pg';

/** What a store offers to whoever wants to hear NOTIFY on a channel. */
export type NotificationListen = (channel: string, onNotification: (payload: string) => void, onReconnect: () => void) => Promise<{ close(): Promise<void> }>;

const MAX_BACKOFF_MS = 30_000;

/**
 * Listens on `channel` of the database at `connectionString`. Resolves once
 * the first LISTEN is in place (rejects if it cannot be), so a caller knows
 * whether to rely on it.
 * @example
 * const handle = await listenOn(url)('jobs', (payload) => wake(payload), () => wakeAll());
 * await handle.close();
 */
export function listenOn(connectionString: string): NotificationListen {
  return async (channel, onNotification, onReconnect) => {
    let closed = false;
    let client: pg.Client | null = null;
    let timer: NodeJS.Timeout | null = null;
    let attempt = 0;

    const connect = async (): Promise<void> => {
      const next = new pg.Client({ connectionString, keepAlive: true, application_name: 'jml-listen' });
      const lost = () => {
        if (client !== next) return;
        client = null;
        next.removeAllListeners();
        next.on('error', () => undefined);
        void next.end().catch(() => undefined);
        scheduleReconnect();
      };
      next.on('error', lost);
      next.on('end', lost);
      next.on('notification', (message) => {
        if (message.channel === channel) onNotification(message.payload ?? '');
      });
      client = next;
      try {
        await next.connect();
        // A channel is an identifier: quoted, with any quote doubled.
        await next.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
      } catch (error) {
        if (client === next) client = null;
        next.removeAllListeners();
        next.on('error', () => undefined);
        await next.end().catch(() => undefined);
        throw error;
      }
      if (closed) {
        await next.end().catch(() => undefined);
        return;
      }
      attempt = 0;
    };

    const scheduleReconnect = () => {
      if (closed || timer) return;
      const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(attempt++, 6));
      timer = setTimeout(() => {
        timer = null;
        connect().then(onReconnect, scheduleReconnect);
      }, backoff);
      timer.unref();
    };

    await connect();
    return {
      close: async () => {
        closed = true;
        if (timer) clearTimeout(timer);
        timer = null;
        const last = client;
        client = null;
        if (last) {
          last.removeAllListeners();
          last.on('error', () => undefined);
          await last.end().catch(() => undefined);
        }
      },
    };
  };
}
