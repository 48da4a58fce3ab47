import type { Client } from '../client/client.js';
import type { Store } from '../store/types.js';
import type { SseHub } from './sse.js';

/** What every route module gets from the server. */
export interface RouteDeps {
  client: Client;
  store: Store;
  sse: SseHub;
  /** Aborted when the server starts closing: long-polls answer at once, streams end. */
  closing: AbortSignal;
}
