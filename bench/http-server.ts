/**
 * The server process of scenario `http`: one stint server (auth off) on 127.0.0.1 with an
 * ephemeral port, over the store the parent names.
 *   node --import tsx bench/http-server.ts <sqlite path | postgres:// URL>
 * Sends `{ type: 'ready', url }` once listening, and `{ type: 'cpu', us }` (its CPU time so far)
 * when asked with `{ type: 'cpu' }`; closes the server and the store and exits when the parent
 * goes away, and whatever happens after 120 s. Only the loopback address is ever bound.
 */
import { createServer } from '../src/server/index.js';
import { createPostgresStore } from '../src/store/postgres/store.js';
import { createSqliteStore } from '../src/store/sqlite/store.js';
import type { Store } from '../src/store/types.js';

const [where] = process.argv.slice(2);
if (!where) throw new Error('usage: http-server.ts <store>');
setTimeout(() => process.exit(3), 120_000).unref();

// BENCH_BATCH_SUBMITS=0 commits each single submit on its own (the store's batchSubmits: false),
// to compare with the batching of one event-loop turn's submits.
const batchSubmits = process.env.BENCH_BATCH_SUBMITS !== '0';
const store: Store = where.startsWith('postgres://')
  ? openPostgres(where)
  : createSqliteStore({ path: where, batchSubmits });

function openPostgres(url: string): Store {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? 'stint';
  parsed.searchParams.delete('schema');
  return createPostgresStore({ connectionString: parsed.toString(), schema, batchSubmits });
}

const server = createServer({ store, host: '127.0.0.1', port: 0, auth: { mode: 'off' }, logger: false });

// The parent asks for this process's CPU time around a phase: CPU per request is steadier than a
// rate on a shared machine.
process.on('message', (m: unknown) => {
  if ((m as { type?: string }).type !== 'cpu') return;
  const { user, system } = process.cpuUsage();
  process.send?.({ type: 'cpu', us: user + system });
});

process.on('disconnect', () => {
  server
    .close()
    .then(() => store.close())
    .then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('http-server: close failed', err);
        process.exit(1);
      },
    );
});

server.listen().then(
  (url) => process.send?.({ type: 'ready', url }),
  (err: unknown) => {
    console.error('http-server: listen failed', err);
    process.exit(1);
  },
);
