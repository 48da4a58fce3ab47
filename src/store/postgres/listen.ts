import type pg from 'pg';
import type { StoreNotification } from '../types.js';
import { quoteIdent } from './sql.js';

/**
 * Holds one connection that LISTENs on the schema's channel and turns payloads into store
 * notifications: `a:<queues>[@<due ms>]` jobs available, `f:<ids>` jobs finished, `c:<ids>` cancels
 * requested, `g:<ids>` flows finished; anything else (`x:`, a list too long for a payload) is `changed`.
 * When the connection drops it reconnects with backoff and then announces `changed`, because
 * notifications sent meanwhile are lost (workers and waiters re-check; they also poll).
 */
export interface Listener {
  close(): Promise<void>;
}

export function parsePayload(payload: string): StoreNotification {
  const kind = payload.slice(0, 2);
  if (kind === 'a:') {
    const [queues = '', due = '0'] = payload.slice(2).split('@');
    return {
      type: 'jobs-available',
      queues: queues ? queues.split(',') : [],
      earliestRunAt: Number(due) || 0,
    };
  }
  const list = payload.length > 2 ? payload.slice(2).split(',') : [];
  if (kind === 'f:') return { type: 'jobs-finished', ids: list };
  if (kind === 'c:') return { type: 'cancel-requested', ids: list };
  if (kind === 'g:') return { type: 'flows-finished', ids: list };
  return { type: 'changed' };
}

export function createListener(
  pool: pg.Pool,
  channel: string,
  emit: (notification: StoreNotification) => void,
  onError: (err: unknown) => void,
): Listener {
  let client: pg.PoolClient | null = null;
  let closed = false;
  let retryTimer: NodeJS.Timeout | null = null;
  let failures = 0;

  const onNotification = (msg: pg.Notification) => {
    if (msg.channel === channel) emit(parsePayload(msg.payload ?? ''));
  };

  const connect = async (): Promise<void> => {
    retryTimer = null;
    if (closed) return;
    try {
      const c = await pool.connect();
      if (closed) {
        c.release();
        return;
      }
      c.on('notification', onNotification);
      c.on('error', (err) => drop(c, err));
      await c.query(`LISTEN ${quoteIdent(channel)}`);
      client = c;
      if (failures > 0) emit({ type: 'changed' });
      failures = 0;
    } catch (err) {
      scheduleReconnect(err);
    }
  };

  const drop = (c: pg.PoolClient, err: unknown) => {
    if (client !== c) return;
    client = null;
    c.removeListener('notification', onNotification);
    c.release(err instanceof Error ? err : new Error(String(err)));
    scheduleReconnect(err);
  };

  const scheduleReconnect = (err: unknown) => {
    if (closed || retryTimer) return;
    failures++;
    onError(err);
    retryTimer = setTimeout(
      () => {
        connect().catch(onError);
      },
      Math.min(5000, 100 * 2 ** failures),
    );
  };

  const started = connect();
  return {
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      await started;
      const c = client;
      client = null;
      if (c) {
        c.removeListener('notification', onNotification);
        try {
          await c.query(`UNLISTEN ${quoteIdent(channel)}`);
          c.release();
        } catch (err) {
          c.release(err as Error);
        }
      }
    },
  };
}
