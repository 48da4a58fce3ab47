/**
 * The server process of scenario `http`: one stint server (auth off) on 127.0.0.1 with an
 * ephemeral port, over the store the parent names.
 *   node --import tsx bench/http-server.ts <sqlite path | postgres:// URL>
 * Sends `{ type: 'ready', url }` once listening; closes the server and exits when the parent goes
 * away, and whatever happens after 120 s. Only the loopback address is ever bound.
 */
import { createServer } from '../src/server/index.js';

const [store] = process.argv.slice(2);
if (!store) throw new Error('usage: http-server.ts <store>');
setTimeout(() => process.exit(3), 120_000).unref();

const server = createServer({ store, host: '127.0.0.1', port: 0, auth: { mode: 'off' }, logger: false });

process.on('disconnect', () => {
  server.close().then(
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
